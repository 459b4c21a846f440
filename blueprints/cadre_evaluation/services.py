"""Cadre evaluation's rules, shared by the pages, the JSON API and the jobs.

A campaign moves draft → open → closed → published. Its dimensions, scale, channel weights, minimum ballots
and targets change only in draft (every change audited); from the opening on they are frozen, so every ballot
is counted by the rules it was cast under.

One ballot per person per target per campaign: the participation ledger holds an HMAC of the verified phone
under the campaign's secret, with a unique key on (campaign, target, key), so two submissions at the same
instant cannot both pass. A submission writes its ledger rows and a pending submission in one transaction;
`move_ballots`, always in a transaction of its own, turns pending submissions into ballots and scores in a
shuffled order with random ids and no time, and records only the hashes of their receipt codes with the batch.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import random
import secrets as pysecrets
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
import sqlalchemy.exc
import sqlalchemy.orm as so
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from blueprints.cadre_evaluation import DEFAULT_AREAS as MANIFEST_AREAS
from blueprints.cadre_evaluation.models import (
    CHANNELS,
    Ballot,
    Campaign,
    LedgerEntry,
    Opinion,
    PendingSubmission,
    Receipt,
    Score,
    Target,
    random_id,
)
from saas import audit, secrets
from saas.actors import Actor, Refused, ServiceError
from saas.db import current_tenant_id, utcnow
from saas.ids import new_id
from saas.modules import module_settings
from tenants.models import ModuleSwitch, Tenant

MODULE = "cadre_evaluation"
MANAGE = "cadre_evaluation.manage"

DEFAULT_DIMENSIONS = (
    ("duty", "履职尽责", 20), ("law", "依法办事", 20), ("service", "服务质量", 20),
    ("style", "工作作风", 20), ("integrity", "廉洁自律", 20),
)
DEFAULT_SCALE = (
    ("satisfied", "满意", 100, True), ("fair", "基本满意", 80, True), ("dissatisfied", "不满意", 0, True),
    ("unknown", "不了解", 0, False),
)
CHANNEL_LABELS = {"onsite": _l("On-site rating (会议现场评)"), "online": _l("Online rating (网络在线评)"),
                  "department": _l("Departmental rating (相关部门综合评)")}
STATE_LABELS = {"draft": _l("Being prepared"), "announced": _l("Target list published"),
                "open": _l("Open for rating"), "closed": _l("Rating closed"), "published": _l("Results published"),
                "followup": _l("Follow-up under way")}
# step: (the states it starts from, the state it leads to); schedule.py takes them on time
TRANSITIONS = {"announce": (("draft",), "announced"), "open": (("draft", "announced"), "open"),
               "close": (("open",), "closed"), "publish": (("closed",), "published"),
               "followup": (("published",), "followup")}
PREPARING = ("draft", "announced")  # set-up and targets may change (audited); frozen from the opening on
PUBLISHED = ("published", "followup")
DEFAULT_AREAS = tuple(MANIFEST_AREAS.split("、"))  # the 15 business areas of the issue (the manifest's setting)
FROZEN = _l("The campaign is open: its dimensions, scale, weights and targets can no longer change.")

__all__ = ["Actor", "Refused", "ServiceError"]


def settings(session: so.Session) -> dict[str, Any]:
    """The district's settings of the module (the kernel's `module_settings`)."""
    from blueprints.cadre_evaluation import module

    return module_settings(session, module)


def provision(session: so.Session, tenant: Tenant) -> None:
    """The district's own defaults (channel weights, minimum ballots, batch size), written once when it first
    switches the module on; what the district saved stays."""
    from blueprints.cadre_evaluation import module

    row = session.scalars(sa.select(ModuleSwitch).where(ModuleSwitch.module_key == MODULE)).one()
    row.settings = {**module.defaults(), **(row.settings or {})}
    session.flush()


def default_config(session: so.Session) -> dict[str, Any]:
    """What a new campaign starts with: the five dimensions, the four-level scale, the district's weights."""
    s = settings(session)
    return {
        "dimensions": [{"key": k, "name": n, "weight": w} for k, n, w in DEFAULT_DIMENSIONS],
        "scale": [{"key": k, "name": n, "points": p, "counted": c} for k, n, p, c in DEFAULT_SCALE],
        "channel_weights": {"onsite": s["onsite_weight"], "online": s["online_weight"],
                            "department": s["department_weight"]},
        "min_ballots": s["min_ballots"],
        "areas": [a.strip() for a in s.get("areas", "、".join(DEFAULT_AREAS)).replace("\n", "、").split("、")
                  if a.strip()],
    }


def _need(actor: Actor) -> None:
    if not actor.may(MANAGE):
        raise Refused(_("You do not have permission to do this."), 403)


def get_campaign(session: so.Session, campaign_id: int) -> Campaign:
    """The campaign in the current district; one 404 for missing and another district's."""
    row = session.scalars(sa.select(Campaign).where(Campaign.id == campaign_id)).first()
    if row is None:
        raise Refused(_("No such campaign."), 404)
    return row


def list_campaigns(session: so.Session, *, public: bool = False) -> list[Campaign]:
    query = sa.select(Campaign).order_by(Campaign.period_end.desc(), Campaign.id.desc()).limit(100)
    if public:
        query = query.where(Campaign.state != "draft")
    return list(session.scalars(query))


def list_targets(session: so.Session, campaign: Campaign) -> list[Target]:
    return list(session.scalars(sa.select(Target).where(Target.campaign_id == campaign.id)
                                .order_by(Target.position, Target.id)))


# --- set-up (draft only) --------------------------------------------------------------------------------------


def check_config(data: dict[str, Any]) -> None:
    """Dimensions, scale and channel weights that a campaign can be counted by; ServiceError otherwise."""
    errors: dict[str, str] = {}
    dims = data.get("dimensions")
    if dims is not None:
        keys = [d.get("key") for d in dims]
        if not dims or len(set(keys)) != len(keys) or any(not d.get("name") for d in dims):
            errors["dimensions"] = _("Give at least one dimension, each with its own key and a name.")
        elif any(not isinstance(d.get("weight"), int) or d["weight"] <= 0 for d in dims):
            errors["dimensions"] = _("Each dimension's weight must be a whole number above 0.")
    scale = data.get("scale")
    if scale is not None:
        keys = [lv.get("key") for lv in scale]
        if len(scale) < 2 or len(set(keys)) != len(keys) or any(not lv.get("name") for lv in scale):
            errors["scale"] = _("Give at least two levels, each with its own key and a name.")
        elif not any(lv.get("counted") for lv in scale):
            errors["scale"] = _("At least one level must count towards the averages.")
        elif any(not isinstance(lv.get("points"), int) or not 0 <= lv["points"] <= 100 for lv in scale):
            errors["scale"] = _("Each level's points must be a whole number from 0 to 100.")
    weights = data.get("channel_weights")
    if weights is not None:
        if set(weights) != set(CHANNELS) or any(not isinstance(v, int) or v < 0 for v in weights.values()):
            errors["channel_weights"] = _("Give a weight of 0 or more for each of the three channels.")
        elif sum(weights.values()) != 100:
            errors["channel_weights"] = _("The channel weights must add up to 100 (now %(total)s).",
                                          total=sum(weights.values()))
    if data.get("period_start") and data.get("period_end") and data["period_end"] < data["period_start"]:
        errors["period_end"] = _("The period cannot end before it starts.")
    if data.get("opens_at") and data.get("closes_at") and data["closes_at"] <= data["opens_at"]:
        errors["closes_at"] = _("The rating must close after it opens.")
    from blueprints.cadre_evaluation.schedule import check_schedule

    errors.update(check_schedule(data))
    if errors:
        raise ServiceError(errors)


def _snapshot(c: Campaign) -> dict[str, Any]:
    return {"name": c.name, "period_start": c.period_start.isoformat(), "period_end": c.period_end.isoformat(),
            "opens_at": c.opens_at.isoformat() if c.opens_at else None,
            "closes_at": c.closes_at.isoformat() if c.closes_at else None,
            "dimensions": c.dimensions, "scale": c.scale, "channel_weights": c.channel_weights,
            "min_ballots": c.min_ballots, "state": c.state, "areas": c.areas,
            **{k: getattr(c, k).isoformat() if getattr(c, k) else None
               for k in ("announce_at", "results_at", "followup_at")}}


def create_campaign(session: so.Session, tenant: Tenant, actor: Actor, data: dict[str, Any]) -> Campaign:
    """A new campaign in draft with the district's defaults for whatever `data` leaves out."""
    _need(actor)
    config = {**default_config(session), **{k: v for k, v in data.items() if v is not None}}
    check_config(config)
    campaign = Campaign(name=config["name"], period_start=config["period_start"], period_end=config["period_end"],
                        opens_at=config.get("opens_at"), closes_at=config.get("closes_at"),
                        dimensions=config["dimensions"], scale=config["scale"],
                        channel_weights=config["channel_weights"], min_ballots=config["min_ballots"],
                        areas=config["areas"], announce_at=config.get("announce_at"),
                        results_at=config.get("results_at"), followup_at=config.get("followup_at"),
                        secret=secrets.encrypt(pysecrets.token_urlsafe(32)), state="draft")
    session.add(campaign)
    session.flush()
    audit.record(session, actor, "cadre_evaluation.create_campaign", "cadre_campaign", campaign.id,
                 after=_snapshot(campaign), module=MODULE)
    return campaign


EDITABLE = ("name", "period_start", "period_end", "opens_at", "closes_at", "dimensions", "scale",
            "channel_weights", "min_ballots", "areas", "announce_at", "results_at", "followup_at")
TIMES = ("opens_at", "closes_at", "announce_at", "results_at", "followup_at")


def update_campaign(session: so.Session, tenant: Tenant, actor: Actor, campaign_id: int,
                    data: dict[str, Any]) -> Campaign:
    """Change a draft campaign's set-up; refused once it is open. Audited with before and after."""
    _need(actor)
    campaign = get_campaign(session, campaign_id)
    if campaign.state not in PREPARING:
        raise Refused(str(FROZEN), 409)
    # a schedule time given as None is taken away; any other None means "left as it is"
    changes = {k: v for k, v in data.items() if k in EDITABLE and (v is not None or k in TIMES)}
    merged = {**_snapshot(campaign), **changes}
    merged.update({k: getattr(campaign, k) for k in ("period_start", "period_end", *TIMES) if k not in changes})
    check_config(merged)
    before = _snapshot(campaign)
    for key, value in changes.items():
        setattr(campaign, key, value)
    session.flush()
    audit.record(session, actor, "cadre_evaluation.update_campaign", "cadre_campaign", campaign.id,
                 before=before, after=_snapshot(campaign), module=MODULE)
    return campaign


TARGET_FIELDS = ("name", "department", "section", "post", "duties", "area")


def add_target(session: so.Session, tenant: Tenant, actor: Actor, campaign_id: int, data: dict[str, Any]) -> Target:
    """A section chief added to a draft campaign's targets (audited)."""
    _need(actor)
    campaign = get_campaign(session, campaign_id)
    if campaign.state not in PREPARING:
        raise Refused(str(FROZEN), 409)
    if data.get("area") and data["area"] not in campaign.areas:
        raise ServiceError({"area": _("Not one of the campaign's business areas.")})
    count = session.scalar(sa.select(sa.func.count()).select_from(Target).where(Target.campaign_id == campaign.id))
    target = Target(campaign_id=campaign.id, position=count or 0, **{k: data.get(k) or "" for k in TARGET_FIELDS})
    session.add(target)
    session.flush()
    audit.record(session, actor, "cadre_evaluation.add_target", "cadre_target", target.id,
                 after={k: getattr(target, k) for k in TARGET_FIELDS}, module=MODULE)
    return target


def remove_target(session: so.Session, tenant: Tenant, actor: Actor, campaign_id: int, target_id: int) -> None:
    """A target taken off a draft campaign (audited)."""
    _need(actor)
    campaign = get_campaign(session, campaign_id)
    if campaign.state not in PREPARING:
        raise Refused(str(FROZEN), 409)
    target = session.scalars(sa.select(Target).where(Target.campaign_id == campaign.id,
                                                     Target.id == target_id)).first()
    if target is None:
        raise Refused(_("No such target."), 404)
    audit.record(session, actor, "cadre_evaluation.remove_target", "cadre_target", target.id,
                 before={k: getattr(target, k) for k in TARGET_FIELDS}, module=MODULE)
    session.delete(target)
    session.flush()


def transition(session: so.Session, tenant: Tenant, actor: Actor, campaign_id: int, action: str) -> Campaign:
    """Open, close or publish. Closing first moves every waiting ballot into the box (this transaction writes no
    ledger row, so the moved ballots share no transaction id with any participation record)."""
    _need(actor)
    return apply_step(session, actor, get_campaign(session, campaign_id), action)


def apply_step(session: so.Session, actor: Actor, campaign: Campaign, action: str) -> Campaign:
    """Take one step of the campaign's schedule (the organiser's `transition`, or the schedule's job with the
    system as actor): audited; refused when the campaign is not where the step starts."""
    if action not in TRANSITIONS:
        raise Refused(_("Unknown step."), 404)
    sources, dest = TRANSITIONS[action]
    source = campaign.state
    if source not in sources:
        raise Refused(_("The campaign is %(state)s: this step is not possible now.",
                        state=STATE_LABELS[campaign.state]), 409)
    if action == "open" and not list_targets(session, campaign):
        raise Refused(_("Add the targets before opening the campaign."), 409)
    if action == "close":
        from blueprints.cadre_evaluation.channels import count_paper_sheets

        count_paper_sheets(session, campaign)
        move_ballots(session, campaign, everything=True)
    campaign.state = dest
    session.flush()
    audit.record(session, actor, f"cadre_evaluation.{action}", "cadre_campaign", campaign.id,
                 before={"state": source}, after={"state": dest}, module=MODULE)
    return campaign


# --- rating ---------------------------------------------------------------------------------------------------


def rater_key(campaign: Campaign, phone: str) -> str:
    """The ledger's name for a person: an HMAC of the verified phone under the campaign's secret."""
    key = secrets.decrypt(campaign.secret)
    if key is None:
        raise RuntimeError("the campaign's secret cannot be read with this SECRETS_KEY")
    return hmac.new(key.encode(), f"phone:{phone}".encode(), hashlib.sha256).hexdigest()


def receipt_hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def check_open(campaign: Campaign, now: dt.datetime | None = None) -> None:
    """Refused unless the campaign takes ballots now."""
    now = now or utcnow()
    if campaign.state in PREPARING or (campaign.state == "open" and campaign.opens_at and now < campaign.opens_at):
        raise Refused(_("The rating has not opened yet."), 409)
    if campaign.state != "open" or (campaign.closes_at and now >= campaign.closes_at):
        raise Refused(_("The rating has closed; no more ballots are taken."), 409)


def check_ratings(campaign: Campaign, targets: list[Target], ratings: dict[Any, dict[str, str]]) -> dict[str, Any]:
    """The ratings as `{target_id: {dimension: level}}`, every dimension of every rated target on the scale."""
    known = {t.id: t for t in targets}
    dims = [d["key"] for d in campaign.dimensions]
    levels = {lv["key"] for lv in campaign.scale}
    clean: dict[str, dict[str, str]] = {}
    errors: dict[str, str] = {}
    for raw_id, scores in (ratings or {}).items():
        try:
            target_id = int(raw_id)
        except (TypeError, ValueError):
            target_id = -1
        if target_id not in known or not isinstance(scores, dict):
            errors["ratings"] = _("A rated person is not a target of this campaign.")
            break
        if any(level not in levels for level in scores.values()) or set(scores) - set(dims):
            errors[f"t{target_id}"] = _("Choose one of the given levels for each dimension.")
        elif set(scores) != set(dims):
            errors[f"t{target_id}"] = _("Rate %(name)s on every dimension, or choose 不了解.",
                                        name=known[target_id].name)
        else:
            clean[str(target_id)] = {d: scores[d] for d in dims}
    if not clean and not errors:
        errors["ratings"] = _("Rate at least one person.")
    if errors:
        raise ServiceError(errors)
    return clean


def submit_ballot(session: so.Session, tenant: Tenant, campaign_id: int, phone: str | None,
                  ratings: dict[Any, dict[str, str]], channel: str = "online", *, key: str | None = None,
                  opinions: dict[Any, str] | None = None) -> str:
    """Record a verified person's ballot on the targets they rated and return its receipt code.

    The caller has verified `phone` (the kernel's phone code) and commits; it then calls `move_ballots` in a new
    transaction. Refused, with nothing stored, when the campaign is not open, a rating is off the scale, or the
    person has already rated one of these targets (the ledger's unique key decides, also at the same instant).
    `key` is the person's ledger key when the channel named them otherwise than by `phone` (`channels`);
    `opinions` (`{target_id: text}`, on rated targets only) travel with the ballots, as anonymous as they.
    """
    campaign = get_campaign(session, campaign_id)
    if campaign.state == "draft":
        raise Refused(_("No such campaign."), 404)
    check_open(campaign)
    clean = check_ratings(campaign, list_targets(session, campaign), ratings)
    notes = check_opinions(clean, opinions)
    if key is None:
        if not phone:
            raise RuntimeError("a ballot needs the rater's phone or ledger key")
        key = rater_key(campaign, phone)
    done = set(session.scalars(sa.select(LedgerEntry.target_id).where(
        LedgerEntry.campaign_id == campaign.id, LedgerEntry.rater_key == key,
        LedgerEntry.target_id.in_([int(t) for t in clean]))))
    if done:
        raise Refused(_("You have already rated this person in this campaign; each person rates each target once."),
                      409)
    code = pysecrets.token_hex(8).upper()
    tenant_id = current_tenant_id(session)
    try:
        # one INSERT of all the ledger rows (one statement, not a batch: a refusal must not abort a pipeline); the
        # unique key refuses a second ballot here, also at the same instant
        session.execute(sa.insert(LedgerEntry).values([
            {"tenant_id": tenant_id, "id": new_id(), "campaign_id": campaign.id, "target_id": int(t),
             "rater_key": key, "channel": channel} for t in clean]))
        session.add(PendingSubmission(campaign_id=campaign.id, channel=channel, receipt_hash=receipt_hash(code),
                                      ratings=clean, opinions=notes or None))
        session.flush()
    except sqlalchemy.exc.IntegrityError as err:
        # another submission of the same person passed the ledger's key first
        raise Refused(_("You have already rated this person in this campaign; each person rates each target "
                        "once."), 409) from err
    return code


OPINION_MAX = 500


def check_opinions(clean: dict[str, Any], opinions: dict[Any, str] | None) -> dict[str, str]:
    """The opinions as `{target_id: text}`: trimmed, empty ones dropped, each on a target rated in this ballot."""
    notes: dict[str, str] = {}
    for raw_id, text in (opinions or {}).items():
        text = (text or "").strip() if isinstance(text, str) else ""
        if not text:
            continue
        if str(raw_id) not in clean:
            raise ServiceError({"opinions": _("An opinion can only be left on a person you rate in this ballot.")})
        if len(text) > OPINION_MAX:
            raise ServiceError({f"o{raw_id}": _("An opinion is at most %(num)d characters.", num=OPINION_MAX)})
        notes[str(raw_id)] = text
    return notes


def move_ballots(session: so.Session, campaign: Campaign | None = None, *, everything: bool = False,
                 batch_size: int | None = None) -> int:
    """Move waiting submissions into the ballots in shuffled batches; returns how many submissions moved.

    Call it in a transaction that wrote no ledger row. Fewer than `batch_size` waiting submissions wait for more
    (a lone ballot moved at once would be as good as timestamped), unless `everything` (the close). Rows are
    claimed with SKIP LOCKED so two movers never move one submission twice.
    """
    size = batch_size or settings(session)["batch_size"]
    query = sa.select(PendingSubmission).with_for_update(skip_locked=True)
    if campaign is not None:
        query = query.where(PendingSubmission.campaign_id == campaign.id)
    waiting = list(session.scalars(query))
    by_campaign: dict[int, list[PendingSubmission]] = defaultdict(list)
    for row in waiting:
        by_campaign[row.campaign_id].append(row)
    moved = 0
    rng = random.SystemRandom()
    for campaign_id, rows in by_campaign.items():
        if not everything and len(rows) < size:
            continue
        rng.shuffle(rows)
        batch_id = random_id()
        tenant_id = current_tenant_id(session)
        common = {"tenant_id": tenant_id, "campaign_id": campaign_id}
        ballots: list[dict[str, Any]] = []
        scores: list[dict[str, Any]] = []
        opinions: list[dict[str, Any]] = []
        for row in rows:
            for target_id, levels in row.ratings.items():
                ballot = {**common, "id": random_id(), "target_id": int(target_id), "channel": row.channel,
                          "batch_id": batch_id}
                ballots.append(ballot)
                scores.extend({**common, "id": random_id(), "ballot_id": ballot["id"], "target_id": int(target_id),
                               "channel": row.channel, "dimension": d, "level": lv} for d, lv in levels.items())
            opinions.extend({**common, "id": random_id(), "target_id": int(t), "channel": row.channel, "text": text,
                             "batch_id": batch_id} for t, text in (row.opinions or {}).items())
        receipts = [{**common, "id": random_id(), "receipt_hash": row.receipt_hash, "batch_id": batch_id}
                    for row in rows]
        for bunch in (ballots, scores, opinions, receipts):
            rng.shuffle(bunch)
        session.execute(sa.delete(PendingSubmission).where(PendingSubmission.id.in_([row.id for row in rows])),
                        execution_options={"synchronize_session": False})
        for row in rows:
            session.expunge(row)
        # bulk INSERTs (a few statements, not an object per row): the box's rows carry nothing of the submission
        # but its batch, in shuffled order
        for model, bunch in ((Ballot, ballots), (Score, scores), (Receipt, receipts), (Opinion, opinions)):
            if bunch:
                session.execute(sa.insert(model), bunch)
        moved += len(rows)
    return moved


def check_receipt(session: so.Session, campaign_id: int, code: str) -> str | None:
    """'counted' when the receipt's ballot is in the box, 'waiting' when it is yet to be moved, else None."""
    campaign = get_campaign(session, campaign_id)
    digest = receipt_hash(code)
    if session.scalar(sa.select(Receipt.id).where(Receipt.campaign_id == campaign.id,
                                                  Receipt.receipt_hash == digest)) is not None:
        return "counted"
    if session.scalar(sa.select(PendingSubmission.id).where(PendingSubmission.campaign_id == campaign.id,
                                                            PendingSubmission.receipt_hash == digest)) is not None:
        return "waiting"
    return None


# --- participation and results ----------------------------------------------------------------------------------


def participation(session: so.Session, campaign: Campaign) -> dict[str, int]:
    """Ballots cast per channel so far (from the ledger: counts only, never scores), and 'raters' overall."""
    rows = session.execute(sa.select(LedgerEntry.channel, sa.func.count()).where(
        LedgerEntry.campaign_id == campaign.id).group_by(LedgerEntry.channel)).all()
    counts = {c: 0 for c in CHANNELS} | {channel: n for channel, n in rows}
    from blueprints.cadre_evaluation.channels import paper_ballots

    counts["onsite"] += paper_ballots(session, campaign)  # paper sheets have no ledger rows
    counts["raters"] = session.scalar(sa.select(sa.func.count(sa.distinct(LedgerEntry.rater_key))).where(
        LedgerEntry.campaign_id == campaign.id)) or 0
    return counts


def tally(session: so.Session, campaign: Campaign) -> list[dict[str, Any]]:
    """Each target's results from the ballots in the box, ranked.

    Per target and channel: each dimension's average points over the levels that count (不了解 is left out of
    the average), and the channel's score, the dimensions' averages weighted by the dimension weights (over the
    dimensions that have a counted level). The total is the channel scores weighted by the channel weights,
    renormalised over the channels that have ballots for the target: a target rated online only is scored by its
    online score alone, not dragged down by empty channels. `unknown_share` is the share of dimension answers
    that were a level not counted. A target with fewer than `min_ballots` ballots is not scored (`total` None)
    and ranked after the scored ones.
    """
    points = {lv["key"]: lv["points"] for lv in campaign.scale}
    counted = {lv["key"] for lv in campaign.scale if lv["counted"]}
    dim_weights = {d["key"]: d["weight"] for d in campaign.dimensions}
    grouped = session.execute(
        sa.select(Score.target_id, Score.channel, Score.dimension, Score.level, sa.func.count())
        .where(Score.campaign_id == campaign.id)
        .group_by(Score.target_id, Score.channel, Score.dimension, Score.level)).all()
    ballots = dict(session.execute(sa.select(Ballot.target_id, sa.func.count()).where(
        Ballot.campaign_id == campaign.id).group_by(Ballot.target_id)).all())
    per_channel_ballots = {(t, c): n for t, c, n in session.execute(
        sa.select(Ballot.target_id, Ballot.channel, sa.func.count()).where(Ballot.campaign_id == campaign.id)
        .group_by(Ballot.target_id, Ballot.channel)).all()}
    sums: dict[tuple[int, str, str], list[int]] = defaultdict(lambda: [0, 0])  # points, counted answers
    answers: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # all answers, not counted ones
    for target_id, channel, dimension, level, n in grouped:
        answers[target_id][0] += n
        if level in counted:
            cell = sums[(target_id, channel, dimension)]
            cell[0] += points.get(level, 0) * n
            cell[1] += n
        else:
            answers[target_id][1] += n
    results = []
    for target in list_targets(session, campaign):
        channels: dict[str, dict[str, Any]] = {}
        for channel in CHANNELS:
            if not per_channel_ballots.get((target.id, channel)):
                continue
            averages = {d: (sums[(target.id, channel, d)][0] / sums[(target.id, channel, d)][1]
                            if sums[(target.id, channel, d)][1] else None) for d in dim_weights}
            rated = {d: a for d, a in averages.items() if a is not None}
            weight = sum(dim_weights[d] for d in rated)
            score = sum(a * dim_weights[d] for d, a in rated.items()) / weight if weight else None
            channels[channel] = {"ballots": per_channel_ballots[(target.id, channel)], "dimensions": averages,
                                 "score": score}
        count = ballots.get(target.id, 0)
        total = None
        if count >= campaign.min_ballots:
            weighted = {c: v["score"] for c, v in channels.items()
                        if v["score"] is not None and campaign.channel_weights.get(c, 0) > 0}
            weight = sum(campaign.channel_weights[c] for c in weighted)
            total = sum(s * campaign.channel_weights[c] for c, s in weighted.items()) / weight if weight else None
        all_answers, unknown = answers.get(target.id, [0, 0])
        results.append({"target": target, "ballots": count, "channels": channels, "total": total,
                        "scored": total is not None, "unknown_share": unknown / all_answers if all_answers else 0.0})
    ranked = sorted((r for r in results if r["scored"]), key=lambda r: -r["total"])
    for rank, row in enumerate(ranked, 1):
        row["rank"] = rank
    rest = [r for r in results if not r["scored"]]
    for row in rest:
        row["rank"] = None
    return ranked + rest


def results_for(session: so.Session, actor: Actor | None, campaign: Campaign) -> list[dict[str, Any]]:
    """The results the asker may see: the organiser's after the close, everyone's once published; never before."""
    if campaign.state in PUBLISHED or (campaign.state == "closed" and actor is not None and actor.may(MANAGE)):
        return tally(session, campaign)
    raise Refused(_("Results are shown after the rating closes and the organiser publishes them."), 403)
