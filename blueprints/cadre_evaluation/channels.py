"""Cadre evaluation's three channels and what stands before a ballot, shared by the pages and the JSON API.

Who a rater is in the participation ledger, whatever the channel (one ballot per person, target and campaign
across channels):
- online by phone code: the HMAC of the verified phone (`services.rater_key`);
- online by invitation: the invitation was issued to a phone and keeps that phone's HMAC, so its holder is the
  same person as when they verify the phone by code;
- on site by seat code: the seat code proves a seat at the meeting, not a person; the rater also verifies their
  phone by code and the ledger names the phone. A seat rater cannot rate the same target again online, and two
  seats do not make two ballots for one phone;
- departmental: the signed-in department user, by the HMAC of their account's phone (so one person is one key
  whichever door they use), or of their account when it has no phone;
- paper sheets at the meeting carry no identity at all: the organiser enters them, and a correction voids the
  sheet and enters its replacement, each audited.

Seat codes and invitation tokens are random, shown once on the sheet printed when they are made, and stored as
SHA-256 hashes only. Spending one locks its row (`FOR UPDATE`) in the ballot's transaction: of two scans at once
the second waits for the first and then finds the code spent; a refused ballot rolls back and leaves it unspent.
Online ballots also carry a solved proof-of-work challenge (`saas.pow`), each challenge spent once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets as pysecrets
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
import sqlalchemy.exc
import sqlalchemy.orm as so
from flask_babel import gettext as _

from blueprints.cadre_evaluation import anomaly, services
from blueprints.cadre_evaluation.models import (
    CHANNELS,
    Campaign,
    Invitation,
    Opinion,
    PaperSheet,
    PendingSubmission,
    RaterGroup,
    SeatCode,
    SpentChallenge,
    Target,
)
from saas import audit, pow
from saas.actors import Actor, Refused, ServiceError
from saas.db import utcnow
from saas.schemas import MAX_ID, mask_phone
from tenants.models import Tenant

MANAGE = services.MANAGE
RATE_DEPARTMENT = "cadre_evaluation.rate_department"
SEE_OPINIONS = "cadre_evaluation.opinions"
MAX_BATCH = 200  # seat codes or invitations made at once (one printed sheet)


def _need(actor: Actor, permission: str = MANAGE) -> None:
    if not actor.may(permission):
        raise Refused(_("You do not have permission to do this."), 403)


def code_hash(code: str) -> str:
    """How a seat code or an invitation token is stored and looked up (case and spaces as typed do not count)."""
    return hashlib.sha256(code.strip().replace(" ", "").lower().encode()).hexdigest()


def new_code() -> str:
    """A random code of 20 characters from an unambiguous alphabet (about 100 bits)."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "".join(pysecrets.choice(alphabet) for _ in range(20))


def _not_closed(campaign: Campaign) -> None:
    if campaign.state not in (*services.PREPARING, "open"):
        raise Refused(_("The rating has closed; no more ballots are taken."), 409)


# --- rater groups -----------------------------------------------------------------------------------------------


def list_groups(session: so.Session, campaign: Campaign) -> list[dict[str, Any]]:
    """The campaign's rater groups with how many codes or invitations each was given."""
    groups = list(session.scalars(sa.select(RaterGroup).where(RaterGroup.campaign_id == campaign.id)
                                  .order_by(RaterGroup.channel, RaterGroup.id)))
    issued: dict[int, int] = defaultdict(int)
    for model in (SeatCode, Invitation):
        for group_id, n in session.execute(sa.select(model.group_id, sa.func.count()).where(
                model.campaign_id == campaign.id, model.group_id.is_not(None)).group_by(model.group_id)):
            issued[group_id] += n
    return [{"group": g, "issued": issued[g.id]} for g in groups]


def add_group(session: so.Session, tenant: Tenant, actor: Actor, campaign_id: int, data: dict[str, Any]) -> RaterGroup:
    """A rater group (企业代表…) in one channel, with an optional cap on the codes or invitations it gets."""
    _need(actor)
    campaign = services.get_campaign(session, campaign_id)
    _not_closed(campaign)
    if data["channel"] not in ("onsite", "online"):
        raise ServiceError({"channel": _("Rater groups are for the on-site and online channels.")})
    if session.scalar(sa.select(RaterGroup.id).where(RaterGroup.campaign_id == campaign.id,
                                                     RaterGroup.name == data["name"])) is not None:
        raise ServiceError({"name": _("This campaign already has a group of that name.")})
    group = RaterGroup(campaign_id=campaign.id, channel=data["channel"], name=data["name"], cap=data.get("cap"))
    session.add(group)
    session.flush()
    audit.record(session, actor, "cadre_evaluation.add_group", "cadre_group", group.id,
                 after={"name": group.name, "channel": group.channel, "cap": group.cap}, module=services.MODULE)
    return group


def _group(session: so.Session, campaign: Campaign, group_id: int | None, channel: str) -> RaterGroup | None:
    if group_id is None:
        return None
    group = session.scalars(sa.select(RaterGroup).where(RaterGroup.campaign_id == campaign.id,
                                                        RaterGroup.id == group_id)).first()
    if group is None or group.channel != channel:
        raise ServiceError({"group_id": _("Choose one of this campaign's groups for this channel.")})
    return group


def _check_cap(session: so.Session, campaign: Campaign, group: RaterGroup | None, wanted: int) -> None:
    if group is None or group.cap is None:
        return
    model = SeatCode if group.channel == "onsite" else Invitation
    # the group's row is locked so that two batches made at once cannot both pass the cap
    session.scalars(sa.select(RaterGroup).where(RaterGroup.id == group.id).with_for_update()).one()
    issued = session.scalar(sa.select(sa.func.count()).select_from(model).where(model.group_id == group.id)) or 0
    if issued + wanted > group.cap:
        raise ServiceError({"count": _("The group %(name)s may have %(cap)d at most; %(issued)d are issued.",
                                       name=group.name, cap=group.cap, issued=issued)})


# --- on site: seat codes ------------------------------------------------------------------------------------------


def issue_seat_codes(session: so.Session, tenant: Tenant, actor: Actor, campaign_id: int, count: int,
                     group_id: int | None = None, hours: int = 12) -> list[dict[str, Any]]:
    """A batch of single-use seat codes, valid for `hours`; returns `[{seat, code}]`, the only time the codes
    exist in clear (the organiser prints them at once). Audited by count, never the codes."""
    _need(actor)
    campaign = services.get_campaign(session, campaign_id)
    _not_closed(campaign)
    if not 1 <= count <= MAX_BATCH:
        raise ServiceError({"count": _("Make from 1 to %(num)d codes at a time.", num=MAX_BATCH)})
    group = _group(session, campaign, group_id, "onsite")
    _check_cap(session, campaign, group, count)
    batch, last_seat = session.execute(sa.select(sa.func.coalesce(sa.func.max(SeatCode.batch), 0),
                                                 sa.func.coalesce(sa.func.max(SeatCode.seat), 0))
                                       .where(SeatCode.campaign_id == campaign.id)).one()
    expires = utcnow() + dt.timedelta(hours=hours)
    made = [{"seat": last_seat + i + 1, "code": new_code()} for i in range(count)]
    session.add_all(SeatCode(campaign_id=campaign.id, group_id=group.id if group else None, batch=batch + 1,
                             seat=m["seat"], code_hash=code_hash(m["code"]), expires_at=expires, spent=False)
                    for m in made)
    session.flush()
    audit.record(session, actor, "cadre_evaluation.issue_seat_codes", "cadre_campaign", campaign.id,
                 after={"batch": batch + 1, "count": count, "group": group.name if group else None,
                        "expires_at": expires.isoformat()}, module=services.MODULE)
    return made


def seat_batches(session: so.Session, campaign: Campaign) -> list[dict[str, Any]]:
    """Per batch of seat codes: its seats, how many are spent, its expiry."""
    rows = session.execute(sa.select(SeatCode.batch, sa.func.min(SeatCode.seat), sa.func.max(SeatCode.seat),
                                     sa.func.count(), sa.func.count().filter(SeatCode.spent.is_(True)),
                                     sa.func.max(SeatCode.expires_at))
                           .where(SeatCode.campaign_id == campaign.id).group_by(SeatCode.batch)
                           .order_by(SeatCode.batch)).all()
    return [{"batch": b, "first": lo, "last": hi, "count": n, "spent": s, "expires_at": e}
            for b, lo, hi, n, s, e in rows]


def find_seat(session: so.Session, campaign: Campaign, code: str, *, lock: bool = False) -> SeatCode:
    """The seat code as typed or scanned; Refused (in the person's language) when unknown, spent or expired."""
    query = sa.select(SeatCode).where(SeatCode.campaign_id == campaign.id, SeatCode.code_hash == code_hash(code))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    seat = session.scalars(query).first() if code and len(code) <= 64 else None
    if seat is None:
        raise Refused(_("This seat code is not valid for this campaign. Check the code on your seat card."), 404)
    if seat.spent:
        raise Refused(_("This seat code has already been used: each seat rates once."), 409)
    if seat.expires_at <= utcnow():
        raise Refused(_("This seat code has expired."), 409)
    return seat


def submit_seat_ballot(session: so.Session, tenant: Tenant, campaign_id: int, code: str, phone: str,
                       ratings: dict[Any, dict[str, str]], opinions: dict[Any, str] | None = None) -> str:
    """An on-site ballot by seat code and verified phone (the caller checked the phone's code): spends the seat
    and returns the receipt code. Refused with nothing stored, the seat unspent, when anything fails."""
    campaign = services.get_campaign(session, campaign_id)
    if campaign.state == "draft":
        raise Refused(_("No such campaign."), 404)
    services.check_open(campaign)
    seat = find_seat(session, campaign, code, lock=True)
    seat.spent = True
    return services.submit_ballot(session, tenant, campaign.id, phone, ratings, "onsite", opinions=opinions)


# --- online: invitations and proof of work --------------------------------------------------------------------


def issue_invitations(session: so.Session, tenant: Tenant, actor: Actor, campaign_id: int, group_id: int,
                      phones: list[str]) -> list[dict[str, Any]]:
    """One invitation per phone for an online rater group; returns `[{phone (masked), token}]`, the only time the
    tokens exist in clear. The invitation keeps the phone's ledger key, never the phone."""
    from saas.schemas import normalize_phone

    _need(actor)
    campaign = services.get_campaign(session, campaign_id)
    _not_closed(campaign)
    group = _group(session, campaign, group_id, "online")
    assert group is not None
    cleaned: list[str] = []
    for raw in phones:
        phone = normalize_phone(raw)
        if phone is None:
            raise ServiceError({"phones": _("%(value)s is not a mainland mobile number.", value=raw[:20])})
        if phone not in cleaned:
            cleaned.append(phone)
    if not 1 <= len(cleaned) <= MAX_BATCH:
        raise ServiceError({"phones": _("Give from 1 to %(num)d mobile numbers, one a line.", num=MAX_BATCH)})
    _check_cap(session, campaign, group, len(cleaned))
    keys = {services.rater_key(campaign, p): p for p in cleaned}
    taken = set(session.scalars(sa.select(Invitation.rater_key).where(Invitation.campaign_id == campaign.id,
                                                                      Invitation.rater_key.in_(list(keys)))))
    if taken:
        raise ServiceError({"phones": _("%(phones)s already have an invitation to this campaign.",
                                        phones="、".join(mask_phone(keys[k]) for k in taken))})
    batch = (session.scalar(sa.select(sa.func.max(Invitation.batch)).where(Invitation.campaign_id == campaign.id))
             or 0) + 1
    made = [{"phone": mask_phone(p), "token": new_code(), "key": k} for k, p in keys.items()]
    session.add_all(Invitation(campaign_id=campaign.id, group_id=group.id, batch=batch,
                               token_hash=code_hash(m["token"]), rater_key=m.pop("key"), spent=False) for m in made)
    try:
        session.flush()
    except sqlalchemy.exc.IntegrityError as err:
        raise ServiceError({"phones": _("Some of these numbers already have an invitation to this campaign.")}) \
            from err
    audit.record(session, actor, "cadre_evaluation.issue_invitations", "cadre_campaign", campaign.id,
                 after={"batch": batch, "count": len(made), "group": group.name}, module=services.MODULE)
    return made


def find_invitation(session: so.Session, campaign: Campaign, token: str, *, lock: bool = False) -> Invitation:
    """The invitation of this token; Refused (in the person's language) when unknown or spent."""
    query = sa.select(Invitation).where(Invitation.campaign_id == campaign.id,
                                        Invitation.token_hash == code_hash(token))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    invitation = session.scalars(query).first() if token and len(token) <= 64 else None
    if invitation is None:
        raise Refused(_("This invitation code is not valid for this campaign."), 404)
    if invitation.spent:
        raise Refused(_("This invitation code has already been used."), 409)
    return invitation


def challenge_purpose(campaign: Campaign) -> str:
    return f"cadre_evaluation:{campaign.tenant_id}:{campaign.id}"


def challenge_for(session: so.Session, campaign: Campaign) -> dict[str, Any]:
    """A proof-of-work challenge for the campaign's online ballot form, at the district's difficulty."""
    return pow.issue(challenge_purpose(campaign), services.settings(session)["pow_bits"])


def spend_challenge(session: so.Session, campaign: Campaign, challenge: str, answer: str) -> None:
    """Refused unless `answer` solves a challenge issued for this campaign and not used before."""
    try:
        nonce = pow.verify(challenge, answer, challenge_purpose(campaign))
    except pow.ChallengeFailed as err:
        raise Refused(str(err), 422) from err
    digest = pow.nonce_hash(nonce)
    if session.scalar(sa.select(SpentChallenge.id).where(SpentChallenge.nonce_hash == digest)) is not None:
        raise Refused(_("This form was already submitted. Reload the page to rate again."), 409)
    session.add(SpentChallenge(nonce_hash=digest))
    try:
        with session.begin_nested():
            session.flush()
    except sqlalchemy.exc.IntegrityError as err:
        raise Refused(_("This form was already submitted. Reload the page to rate again."), 409) from err


def submit_online_ballot(session: so.Session, tenant: Tenant, campaign_id: int, *, phone: str | None = None,
                         token: str | None = None, ratings: dict[Any, dict[str, str]],
                         opinions: dict[Any, str] | None = None, challenge: str = "", answer: str = "",
                         address: str | None = None) -> str:
    """An online ballot by a verified phone (the caller checked its code) or by an invitation token, with a
    solved challenge; returns the receipt code. Refused with nothing stored and nothing spent otherwise.

    The sender's `address` adds one to its network's count per rated target (`anomaly.record`, for the burst
    flags), in the ledger's transaction, never with a ballot. Only online ballots are counted so: a meeting's
    seats share the venue's network by design, and departments rate from the government's; identical patterns
    are flagged in every channel from the ballot box alone."""
    campaign = services.get_campaign(session, campaign_id)
    if campaign.state == "draft":
        raise Refused(_("No such campaign."), 404)
    services.check_open(campaign)
    rated = services.check_ratings(campaign, services.list_targets(session, campaign), ratings)
    spend_challenge(session, campaign, challenge, answer)
    if token:
        invitation = find_invitation(session, campaign, token, lock=True)
        invitation.spent = True
        receipt = services.submit_ballot(session, tenant, campaign.id, None, ratings, "online",
                                         key=invitation.rater_key, opinions=opinions)
    else:
        receipt = services.submit_ballot(session, tenant, campaign.id, phone, ratings, "online", opinions=opinions)
    anomaly.record(session, tenant.id, campaign, [int(t) for t in rated], address)
    return receipt


# --- departmental -----------------------------------------------------------------------------------------------


def department_key(campaign: Campaign, actor: Actor) -> str:
    """A department user's ledger key: their phone's, as if they had verified it by code, else their account's."""
    assert actor.user is not None
    if actor.user.phone:
        return services.rater_key(campaign, actor.user.phone)
    key = services.secrets.decrypt(campaign.secret) or ""
    return hmac.new(key.encode(), f"user:{actor.user.id}".encode(), hashlib.sha256).hexdigest()


def rated_by(session: so.Session, campaign: Campaign, key: str) -> set[int]:
    """The targets the person of this ledger key has rated (their own view of what is left)."""
    from blueprints.cadre_evaluation.models import LedgerEntry

    return set(session.scalars(sa.select(LedgerEntry.target_id).where(LedgerEntry.campaign_id == campaign.id,
                                                                      LedgerEntry.rater_key == key)))


def submit_department_ballot(session: so.Session, tenant: Tenant, actor: Actor, campaign_id: int,
                             ratings: dict[Any, dict[str, str]], opinions: dict[Any, str] | None = None) -> str:
    """A department rater's scores on targets; one ballot per person and target as in every channel."""
    _need(actor, RATE_DEPARTMENT)
    campaign = services.get_campaign(session, campaign_id)
    if campaign.state == "draft":
        raise Refused(_("No such campaign."), 404)
    services.check_open(campaign)
    return services.submit_ballot(session, tenant, campaign.id, None, ratings, "department",
                                  key=department_key(campaign, actor), opinions=opinions)


def department_figures(session: so.Session, actor: Actor, campaign: Campaign,
                       targets: list[Target]) -> dict[int, list[tuple[str, str]]]:
    """Each target's department figures from business feedback over the campaign's period, as labelled values
    (received, answered on time, average answer days, satisfied share), where that module is on in the
    district; a target whose department is not a department of the org tree has none."""
    if "business_feedback" not in actor.enabled:
        return {}
    from blueprints.business_feedback.services.figures import department_figures as figures

    by_name = {f.name: f for f in figures(session, since=campaign.period_start, until=campaign.period_end).values()}
    shown: dict[int, list[tuple[str, str]]] = {}
    for target in targets:
        f = by_name.get(target.department)
        if f is None:
            continue

        def share(value: float | None) -> str:
            return "—" if value is None else f"{value:.0%}"

        shown[target.id] = [
            (_("items received"), str(f.received)),
            (_("answered on time"), share(f.on_time_share)),
            (_("average answer time"), "—" if f.average_answer_days is None else
             _("%(days).1f working days", days=f.average_answer_days)),
            (_("satisfied"), share(f.satisfied_share)),
            (_("supervised (督办)"), str(f.supervised)),
        ]
    return shown


# --- on site: paper sheets ------------------------------------------------------------------------------------


def list_sheets(session: so.Session, campaign: Campaign) -> list[PaperSheet]:
    return list(session.scalars(sa.select(PaperSheet).where(PaperSheet.campaign_id == campaign.id)
                                .order_by(PaperSheet.id.desc()).limit(500)))


def _sheet_snapshot(sheet: PaperSheet) -> dict[str, Any]:
    return {"number": sheet.number, "ratings": sheet.ratings, "opinions": sheet.opinions, "state": sheet.state}


def enter_sheet(session: so.Session, tenant: Tenant, actor: Actor, campaign_id: int, number: str,
                ratings: dict[Any, dict[str, str]], opinions: dict[Any, str] | None = None, *,
                replaces: PaperSheet | None = None) -> PaperSheet:
    """A paper ballot from the meeting, entered by the organiser while the rating is open (audited). Its
    number is the one printed on the paper: a number already entered (and not voided) is refused."""
    _need(actor)
    campaign = services.get_campaign(session, campaign_id)
    if campaign.state != "open":
        raise Refused(_("Paper ballots are entered while the rating is open."), 409)
    clean = services.check_ratings(campaign, services.list_targets(session, campaign), ratings)
    notes = services.check_opinions(clean, opinions)
    number = number.strip()
    if session.scalar(sa.select(PaperSheet.id).where(PaperSheet.campaign_id == campaign.id,
                                                     PaperSheet.number == number,
                                                     PaperSheet.state == "valid")) is not None:
        raise ServiceError({"number": _("Sheet %(number)s is already entered; correct it instead.", number=number)})
    sheet = PaperSheet(campaign_id=campaign.id, number=number, ratings=clean, opinions=notes, state="valid",
                       replaces_id=replaces.id if replaces else None, counted=False)
    session.add(sheet)
    session.flush()
    audit.record(session, actor, "cadre_evaluation.enter_sheet", "cadre_sheet", sheet.id,
                 after=_sheet_snapshot(sheet) | {"replaces": replaces.id if replaces else None},
                 module=services.MODULE)
    return sheet


def correct_sheet(session: so.Session, tenant: Tenant, actor: Actor, campaign_id: int, sheet_id: int,
                  ratings: dict[Any, dict[str, str]], opinions: dict[Any, str] | None = None) -> PaperSheet:
    """A correction: the sheet is voided and its replacement entered with the same number, both in the audit
    log; a sheet is never edited in place."""
    _need(actor)
    campaign = services.get_campaign(session, campaign_id)
    sheet = session.scalars(sa.select(PaperSheet).where(PaperSheet.campaign_id == campaign.id,
                                                        PaperSheet.id == sheet_id).with_for_update()).first()
    if sheet is None:
        raise Refused(_("No such paper ballot."), 404)
    if sheet.state != "valid":
        raise Refused(_("This paper ballot was already replaced."), 409)
    if campaign.state != "open":
        raise Refused(_("Paper ballots are entered while the rating is open."), 409)
    before = _sheet_snapshot(sheet)
    sheet.state = "void"
    session.flush()
    audit.record(session, actor, "cadre_evaluation.void_sheet", "cadre_sheet", sheet.id, before=before,
                 after=_sheet_snapshot(sheet), module=services.MODULE)
    return enter_sheet(session, tenant, actor, campaign.id, sheet.number, ratings, opinions, replaces=sheet)


def paper_ballots(session: so.Session, campaign: Campaign) -> int:
    """Ballots on valid paper sheets (one per target rated on a sheet), for the live participation counts."""
    return sum(len(r) for r in session.scalars(sa.select(PaperSheet.ratings).where(
        PaperSheet.campaign_id == campaign.id, PaperSheet.state == "valid")))


def count_paper_sheets(session: so.Session, campaign: Campaign) -> int:
    """At the close: each valid sheet not yet counted waits to be moved with the other ballots (on site,
    shuffled in the same batch); its receipt is a random hash nobody holds. Returns the sheets counted."""
    sheets = list(session.scalars(sa.select(PaperSheet).where(PaperSheet.campaign_id == campaign.id,
                                                              PaperSheet.state == "valid",
                                                              PaperSheet.counted.is_(False))))
    for sheet in sheets:
        session.add(PendingSubmission(campaign_id=campaign.id, channel="onsite",
                                      receipt_hash=services.receipt_hash(pysecrets.token_hex(16)),
                                      ratings=sheet.ratings, opinions=sheet.opinions or None))
        sheet.counted = True
    session.flush()
    return len(sheets)


# --- opinions -----------------------------------------------------------------------------------------------------


def may_see_opinions(actor: Actor) -> bool:
    return actor.may(MANAGE) or actor.may(SEE_OPINIONS)


def opinions_for(session: so.Session, actor: Actor, campaign_id: int) -> list[dict[str, Any]]:
    """The opinions counted so far, per target: every target's for the organiser, the targets of the asker's
    departments (by the department's name) for a department. Waiting opinions are shown once moved."""
    if not may_see_opinions(actor):
        raise Refused(_("You do not have permission to do this."), 403)
    campaign = services.get_campaign(session, campaign_id)
    targets = services.list_targets(session, campaign)
    if not actor.may(MANAGE):
        departments = {u.name for u in actor.units(SEE_OPINIONS)}
        targets = [t for t in targets if t.department in departments]
    by_target: dict[int, list[Opinion]] = defaultdict(list)
    if targets:
        for row in session.scalars(sa.select(Opinion).where(Opinion.campaign_id == campaign.id,
                                                            Opinion.target_id.in_([t.id for t in targets]))
                                   .order_by(Opinion.id)):
            by_target[row.target_id].append(row)
    return [{"target": t, "opinions": by_target[t.id]} for t in targets]


__all__ = ["CHANNELS", "Refused", "ServiceError"]


def item_from_opinion(session: so.Session, tenant: Tenant, actor: Actor, opinion_id: int) -> Any:
    """The organiser turns a rater's opinion into a rectification item of its target (follow-up), once."""
    from blueprints.cadre_evaluation import followup
    from blueprints.cadre_evaluation.models_results import RectificationItem

    _need(actor)
    opinion = session.scalars(sa.select(Opinion).where(Opinion.id == opinion_id)).first() if (
        0 < opinion_id <= MAX_ID) else None
    if opinion is None:
        raise Refused(_("No such opinion."), 404)
    if session.scalars(sa.select(RectificationItem.id).where(
            RectificationItem.target_id == opinion.target_id, RectificationItem.source == "opinion",
            RectificationItem.text == opinion.text.strip())).first() is not None:
        raise Refused(_("This opinion is already a rectification item."), 409)
    return followup.item_from_text(session, tenant, actor, opinion.target_id, opinion.text, "opinion")
