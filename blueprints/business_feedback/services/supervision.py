"""督办: overdue assignments raised level by level (提醒 → 督办 → 挂牌督办), each level recorded once with a
document number of the district's series; the overdue list by department; term-expiry reminders.

A level is reached by the working days an assignment is past its deadline on the district's calendar: past
it at all (1, 提醒), `supervise_after_days` (2, 督办), `list_after_days` (3, 挂牌督办). A run that finds an
assignment two levels behind records the level it has reached. The unique key (assignment, round, level)
makes a run that repeats, or runs on two workers at once, record and notify a level once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import force_locale

from blueprints.business_feedback.models import Assignment, FeedbackItem, Supervision, Supervisor
from blueprints.business_feedback.services.base import (
    MODULE,
    Actor,
    calendar,
    department_units,
    next_in_series,
    people_with,
    settings,
    unit_names,
)
from blueprints.business_feedback.services.items import LEVEL_LABELS, _event, item_url, notice_context
from blueprints.business_feedback.services.roster import status_of
from saas.db import utcnow
from saas.ids import new_id
from saas.notify import Recipients, notify
from tenants.models import Tenant, User

BATCH = 500


def level_for(days_over: int, conf: dict[str, Any]) -> int:
    if days_over >= conf["list_after_days"]:
        return 3
    if days_over >= conf["supervise_after_days"]:
        return 2
    return 1


def supervise_overdue(session: so.Session, tenant: Tenant, actor: Actor, now: dt.datetime | None = None) -> int:
    """Raise the 督办 level of every overdue, unanswered assignment that reached a new one; returns how many."""
    now = now or utcnow()
    conf = settings(session)
    cal = calendar(session, tenant)
    q = (sa.select(Assignment, FeedbackItem).join(FeedbackItem, sa.and_(
        FeedbackItem.tenant_id == Assignment.tenant_id, FeedbackItem.id == Assignment.item_id))
        .where(FeedbackItem.state == "assigned", Assignment.answered_at.is_(None), Assignment.deadline_at < now)
        .order_by(Assignment.deadline_at).limit(BATCH))
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(of=Assignment, skip_locked=True)
    raised = 0
    office = people_with(session, actor.book, actor.enabled, "business_feedback.triage")
    for assignment, item in session.execute(q).all():
        level = level_for(cal.working_days_between(assignment.deadline_at, now), conf)
        if level <= assignment.overdue_level:
            continue
        year = cal.local_date(now).year
        document_no = f"{conf['supervision_prefix']}〔{year}〕{next_in_series(session, tenant, 'supervision', year)}号"
        session.add(Supervision(id=new_id(), item_id=item.id, assignment_id=assignment.id, round=item.returned,
                                department_id=assignment.department_id, level=level, document_no=document_no,
                                at=now))
        department = unit_names(session, [assignment.department_id]).get(assignment.department_id, "")
        with force_locale("zh_CN"):
            level_label = str(LEVEL_LABELS[level])
        _event(session, item, actor, "supervise", item.state, item.state, "", role="system", at=now,
               data={"level": level, "document_no": document_no, "department": department})
        # a bulk UPDATE leaves the item's version alone: 督办 must not make a person's open form stale
        session.execute(sa.update(Assignment).where(Assignment.id == assignment.id).values(overdue_level=level)
                        .execution_options(synchronize_session=False))
        people = people_with(session, actor.book, actor.enabled, "business_feedback.answer",
                             department_units(session, [assignment.department_id]))
        notify(session, Recipients(user_ids=tuple(sorted(set(people) | set(office)))), "business_feedback.overdue",
               notice_context(session, item, reveal=item.show_name, level=level_label, document_no=document_no,
                              department=department, deadline=assignment.deadline_at),
               url=item_url(tenant, item), module=MODULE, tenant=tenant,
               event_key=f"bf:assignment:{assignment.id}:{item.returned}:level:{level}")
        raised += 1
    return raised


def overdue_by_department(session: so.Session, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Every open, unanswered assignment past its deadline, grouped by department (most overdue first)."""
    now = now or utcnow()
    rows = session.execute(
        sa.select(Assignment, FeedbackItem.number).join(FeedbackItem, sa.and_(
            FeedbackItem.tenant_id == Assignment.tenant_id, FeedbackItem.id == Assignment.item_id))
        .where(FeedbackItem.state == "assigned", Assignment.answered_at.is_(None), Assignment.deadline_at < now)
        .order_by(Assignment.deadline_at)).all()
    names = unit_names(session, [a.department_id for a, _n in rows])
    groups: dict[int, dict[str, Any]] = {}
    for a, number in rows:
        group = groups.setdefault(a.department_id, {"department_id": a.department_id,
                                                    "department": names.get(a.department_id, ""), "items": []})
        group["items"].append({"item_id": a.item_id, "number": number, "deadline_at": a.deadline_at,
                               "level": a.overdue_level})
    return sorted(groups.values(), key=lambda g: (-len(g["items"]), g["department"]))


def supervisions_of(session: so.Session, item: FeedbackItem) -> list[Supervision]:
    return list(session.scalars(sa.select(Supervision).where(Supervision.item_id == item.id)
                                .order_by(Supervision.at, Supervision.level)))


def remind_term_expiry(session: so.Session, tenant: Tenant, actor: Actor, now: dt.datetime | None = None) -> int:
    """Tell the office, once per term, of supervisors whose term ends within `expiry_reminder_days`."""
    now = now or utcnow()
    day = calendar(session, tenant).local_date(now)
    days = settings(session)["expiry_reminder_days"]
    sups = [s for s in session.scalars(sa.select(Supervisor).where(
        Supervisor.reminded_at.is_(None), Supervisor.dismissed_on.is_(None), Supervisor.term_end >= day,
        Supervisor.term_end < day + dt.timedelta(days=days)).order_by(Supervisor.term_end))
        if status_of(s, day, days) == "expiring"]
    if not sups:
        return 0
    names = dict(session.execute(sa.select(User.id, User.name).where(User.id.in_({s.user_id for s in sups})))
                 .all())
    office = people_with(session, actor.book, actor.enabled, "business_feedback.triage")
    if office:
        listed = "、".join(f"{names.get(s.user_id, '')}（{s.term_end.isoformat()}）" for s in sups)
        notify(session, Recipients(user_ids=tuple(office)), "business_feedback.term_expiring",
               {"count": len(sups), "days": days, "names": listed},
               url=f"/t/{tenant.slug}/business_feedback/supervisors",
               module=MODULE, tenant=tenant, event_key=f"bf:expiry:{day.isoformat()}:{min(s.id for s in sups)}")
    session.execute(sa.update(Supervisor).where(Supervisor.id.in_([s.id for s in sups])).values(reminded_at=now)
                    .execution_options(synchronize_session=False))
    return len(sups)
