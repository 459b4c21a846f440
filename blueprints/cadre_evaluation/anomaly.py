"""Anomaly flags for the organiser, which never reveal who rated.

- Bursts: each accepted submission adds one to a count per target, network and ten-minute window. The network is
  the address's /24 (IPv4) or /48 (IPv6), kept only as an HMAC under the campaign's secret (`network_key`), never
  in clear; the count is written in the submission's transaction, with the ledger, and never with a ballot (the
  ballots are moved apart, in shuffled batches), so it links no ballot to anyone. A window's count at or above
  the district's `burst_threshold` is flagged, with the network shown as a short label of its hash.
- Identical patterns: from the ballot box alone (no identity is there), ballots on one target and channel that
  give the same non-uniform answers on every dimension (not "满意" throughout, which many honest raters give), when
  at least `PATTERN_MIN` ballots and `PATTERN_SHARE` of the target's ballots in that channel share it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects import postgresql, sqlite

from blueprints.cadre_evaluation import services
from blueprints.cadre_evaluation.models import Ballot, Campaign, NetworkCount, Score
from saas import secrets
from saas.db import utcnow
from saas.ids import new_id

WINDOW = dt.timedelta(minutes=10)
PATTERN_MIN = 10
PATTERN_SHARE = 0.3


def network_of(address: str | None) -> str:
    """The address's network: its /24 or /48; '' for what is not an address."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return ""
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def network_key(campaign: Campaign, address: str | None) -> str:
    """An HMAC of the address's network under the campaign's secret: a network's submissions count together,
    and nobody without the secret learns the network from the table."""
    key = secrets.decrypt(campaign.secret) or ""
    return hmac.new(key.encode(), f"net:{network_of(address)}".encode(), hashlib.sha256).hexdigest()


def window_of(now: dt.datetime) -> dt.datetime:
    return now.replace(minute=now.minute - now.minute % 10, second=0, microsecond=0)


def record(session: so.Session, tenant_id: int, campaign: Campaign, target_ids: list[int], address: str | None,
           now: dt.datetime | None = None) -> None:
    """Count one submission on each of `target_ids` from the address's network (one UPSERT per target)."""
    key = network_key(campaign, address)
    window = window_of(now or utcnow())
    table = NetworkCount.__table__
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    for target_id in sorted(set(target_ids)):  # the same order in every transaction: no deadlock between two
        stmt = insert(table).values(tenant_id=tenant_id, id=new_id(), campaign_id=campaign.id, target_id=target_id,
                                    network_key=key, window_start=window, count=1)
        session.execute(stmt.on_conflict_do_update(
            index_elements=["tenant_id", "campaign_id", "target_id", "network_key", "window_start"],
            set_={"count": table.c.count + 1}))


def flags(session: so.Session, campaign: Campaign) -> dict[str, list[dict[str, Any]]]:
    """The campaign's bursts and identical patterns, each naming a target and counts, never a rater."""
    threshold = services.settings(session).get("burst_threshold", 20)
    names = {t.id: t for t in services.list_targets(session, campaign)}
    bursts = [{"target": names.get(target_id), "window_start": window, "count": count,
               "network": key[:8]}
              for target_id, key, window, count in session.execute(
                  sa.select(NetworkCount.target_id, NetworkCount.network_key, NetworkCount.window_start,
                            NetworkCount.count)
                  .where(NetworkCount.campaign_id == campaign.id, NetworkCount.count >= threshold)
                  .order_by(NetworkCount.count.desc(), NetworkCount.window_start).limit(200))]
    # a ballot's answers as one number (digit i in base len(scale) is dimension i's level): portable SQL, and
    # the box's rows are read grouped, never one by one
    dims = [d["key"] for d in campaign.dimensions]
    levels = [lv["key"] for lv in campaign.scale]
    base = len(levels)
    code = sa.func.sum(sa.case(*[((Score.dimension == d) & (Score.level == lv), j * base ** i)
                                 for i, d in enumerate(dims) for j, lv in enumerate(levels)], else_=0))
    per_ballot = (sa.select(Score.target_id, Score.channel, code.label("pattern"))
                  .where(Score.campaign_id == campaign.id).group_by(Score.ballot_id, Score.target_id, Score.channel)
                  .having(sa.func.count(sa.distinct(Score.level)) > 1).subquery())
    totals = {(t, c): n for t, c, n in session.execute(
        sa.select(Ballot.target_id, Ballot.channel, sa.func.count()).where(Ballot.campaign_id == campaign.id)
        .group_by(Ballot.target_id, Ballot.channel))}
    level_names = {lv["key"]: lv["name"] for lv in campaign.scale}
    dim_names = {d["key"]: d["name"] for d in campaign.dimensions}
    patterns = []
    for target_id, channel, text, count in session.execute(
            sa.select(per_ballot.c.target_id, per_ballot.c.channel, per_ballot.c.pattern, sa.func.count())
            .group_by(per_ballot.c.target_id, per_ballot.c.channel, per_ballot.c.pattern)
            .having(sa.func.count() >= PATTERN_MIN)):
        total = totals.get((target_id, channel), 0)
        if not total or count / total < PATTERN_SHARE:
            continue
        answers = [(d, levels[(int(text) // base ** i) % base]) for i, d in enumerate(dims)]
        patterns.append({"target": names.get(target_id), "channel": channel, "count": count, "ballots": total,
                         "answers": "，".join(f"{dim_names.get(d, d)}：{level_names.get(lv, lv)}"
                                             for d, lv in answers)})
    return {"bursts": bursts, "patterns": sorted(patterns, key=lambda p: -p["count"])}

