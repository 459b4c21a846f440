"""Elderly visits' periodic jobs: emergencies nobody took on, visits due today, visits overdue, a weekly digest.

Each job takes the tenant id, runs inside the kernel's `run_for_tenant` (which asks the module switch again and
commits) and is idempotent: an emergency is escalated once (`escalated_at`), an overdue visit once per due date
(`escalated_for`), and the daily and weekly notices once per day or week (a `JobMark` with a unique key), so a
job that runs twice, or on two workers at once, does not notify twice.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import sqlalchemy as sa

from blueprints.elderly_visits.models import ElderlyPerson, Emergency, JobMark, Need, Visit
from blueprints.elderly_visits.services import (
    MODULE,
    emergency_labels,
    emergency_name,
    emergency_url,
    notice_text,
    settings,
    today_in,
    unit_map,
)
from saas import db
from saas.db import utcnow
from saas.notify import Recipients, notify
from tenants.models import OrgUnit, RoleGrant, Tenant

BATCH = 500


def _tenant(tenant_id: int) -> Tenant:
    return db.session().scalars(sa.select(Tenant).where(Tenant.id == tenant_id)).one()


def _holders(roles: tuple[str, ...], unit_ids: set[int]) -> list[int]:
    if not unit_ids:
        return []
    return list(db.session().scalars(sa.select(RoleGrant.user_id).where(
        RoleGrant.org_unit_id.in_(unit_ids), RoleGrant.role.in_(roles)).distinct().order_by(RoleGrant.user_id)))


def _once(key: str) -> bool:
    """True the first time a key is marked in this district (a unique key, so two workers at once agree)."""
    session = db.session()
    if session.scalars(sa.select(JobMark.id).where(JobMark.key == key)).first() is not None:
        return False
    try:
        with session.begin_nested():
            session.add(JobMark(key=key))
            session.flush()
    except sa.exc.IntegrityError:
        return False
    return True


def escalate_emergencies(tenant_id: int, now: dt.datetime | None = None) -> int:
    """An emergency nobody took on within `ack_minutes` goes to the street's officers and the community's cadres,
    once; returns how many were escalated."""
    session = db.session()
    tenant = _tenant(tenant_id)
    now = now or utcnow()
    minutes = settings(session)["ack_minutes"]
    q = (sa.select(Emergency).where(Emergency.state == "raised", Emergency.escalated_at.is_(None),
                                    Emergency.raised_at <= now - dt.timedelta(minutes=minutes))
         .order_by(Emergency.raised_at).limit(BATCH))
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    emergencies = list(session.scalars(q))
    if not emergencies:
        return 0
    units = unit_map(session, [e.community_id for e in emergencies])
    people = {p.id: p for p in session.scalars(sa.select(ElderlyPerson).where(
        ElderlyPerson.id.in_({e.person_id for e in emergencies if e.person_id is not None})))}
    labels = dict(emergency_labels())
    for emergency in emergencies:
        community = units.get(emergency.community_id or 0)
        street_id = community.parent_id if community is not None else None
        to = _holders(("street_officer",), {street_id} if street_id else set()) + \
            _holders(("community_cadre",), {emergency.community_id} if emergency.community_id else set())
        if not to:
            to = _holders(("district_admin",), {u for u in session.scalars(
                sa.select(OrgUnit.id).where(OrgUnit.kind == "district"))})
        # an emergency nobody linked to a resident yet escalates all the same, under the name the reporter wrote
        name = emergency_name(emergency, people.get(emergency.person_id or 0))
        emergency.escalated_at = now
        if to:
            notify(session, Recipients(user_ids=tuple(dict.fromkeys(to))), "elderly_visits.emergency_unanswered",
                   {"name": name, "kind": str(labels[emergency.kind]), "minutes": minutes,
                    "description": notice_text(emergency)},
                   url=emergency_url(tenant, emergency), module=MODULE, tenant=tenant, urgent=True,
                   event_key=f"emergency:{emergency.id}:unanswered")
    session.flush()
    return len(emergencies)


def remind_due(tenant_id: int, now: dt.datetime | None = None) -> int:
    """Each worker hears once a day whom to visit today; returns the number of workers told."""
    session = db.session()
    tenant = _tenant(tenant_id)
    today = today_in(tenant, now)
    rows = session.execute(sa.select(ElderlyPerson.worker_id, ElderlyPerson.name).where(
        ElderlyPerson.active.is_(True), ElderlyPerson.next_visit_on == today)
        .order_by(ElderlyPerson.worker_id, ElderlyPerson.name)).all()
    by_worker: dict[int, list[str]] = defaultdict(list)
    for worker_id, name in rows:
        by_worker[worker_id].append(name)
    told = 0
    for worker_id, names in by_worker.items():
        if not _once(f"due:{worker_id}:{today.isoformat()}"):
            continue
        told += 1
        notify(session, worker_id, "elderly_visits.due_today", {"count": len(names), "names": "、".join(names)},
               url=f"/t/{tenant.slug}/elderly_visits/?due=today", module=MODULE, tenant=tenant,
               event_key=f"due:{worker_id}:{today.isoformat()}")
    return told


def escalate_overdue(tenant_id: int, now: dt.datetime | None = None) -> int:
    """Visits overdue past the grace period are told to the community's cadres, once per due date; returns the
    number of residents escalated."""
    session = db.session()
    tenant = _tenant(tenant_id)
    today = today_in(tenant, now)
    grace = settings(session)["grace_days"]
    people = list(session.scalars(sa.select(ElderlyPerson).where(
        ElderlyPerson.active.is_(True), ElderlyPerson.next_visit_on < today - dt.timedelta(days=grace),
        sa.or_(ElderlyPerson.escalated_for.is_(None), ElderlyPerson.escalated_for != ElderlyPerson.next_visit_on))
        .order_by(ElderlyPerson.community_id, ElderlyPerson.next_visit_on).limit(BATCH)))
    by_community: dict[int | None, list[ElderlyPerson]] = defaultdict(list)
    for person in people:
        by_community[person.community_id].append(person)
        person.escalated_for = person.next_visit_on
    units = unit_map(session, by_community)
    for community_id, group in by_community.items():
        to = _holders(("community_cadre",), {community_id} if community_id else set())
        if to:
            place = units[community_id].name if community_id in units else ""
            notify(session, Recipients(user_ids=tuple(to)), "elderly_visits.overdue",
                   {"count": len(group), "place": place, "names": "、".join(p.name for p in group)},
                   url=f"/t/{tenant.slug}/elderly_visits/?due=overdue", module=MODULE, tenant=tenant,
                   event_key=f"overdue:{community_id}:{today.isoformat()}")
    session.flush()
    return len(people)


def weekly_digest(tenant_id: int, now: dt.datetime | None = None) -> int:
    """Each community's cadres hear the week's visits, overdue residents and open needs; returns the number of
    communities told."""
    session = db.session()
    tenant = _tenant(tenant_id)
    now = now or utcnow()
    today = today_in(tenant, now)
    since = now - dt.timedelta(days=7)
    visited = dict(session.execute(
        sa.select(ElderlyPerson.community_id, sa.func.count(Visit.id))
        .join(Visit, sa.and_(Visit.tenant_id == ElderlyPerson.tenant_id, Visit.person_id == ElderlyPerson.id))
        .where(Visit.visited_at >= since).group_by(ElderlyPerson.community_id)).all())
    overdue = dict(session.execute(
        sa.select(ElderlyPerson.community_id, sa.func.count(ElderlyPerson.id))
        .where(ElderlyPerson.active.is_(True), ElderlyPerson.next_visit_on < today)
        .group_by(ElderlyPerson.community_id)).all())
    needs = dict(session.execute(
        sa.select(ElderlyPerson.community_id, sa.func.count(Need.id))
        .join(Need, sa.and_(Need.tenant_id == ElderlyPerson.tenant_id, Need.person_id == ElderlyPerson.id))
        .where(Need.state == "open").group_by(ElderlyPerson.community_id)).all())
    communities = {c for c in (*visited, *overdue, *needs) if c is not None}
    units = unit_map(session, communities)
    week = today.isocalendar()
    told = 0
    for community_id in sorted(communities):
        to = _holders(("community_cadre",), {community_id})
        if not to or not _once(f"weekly:{community_id}:{week.year}-{week.week}"):
            continue
        notify(session, Recipients(user_ids=tuple(to)), "elderly_visits.weekly",
               {"place": units[community_id].name if community_id in units else "",
                "visited": visited.get(community_id, 0), "overdue": overdue.get(community_id, 0),
                "needs": needs.get(community_id, 0)},
               url=f"/t/{tenant.slug}/elderly_visits/", module=MODULE, tenant=tenant,
               event_key=f"weekly:{community_id}:{week.year}-{week.week}")
        told += 1
    return told
