"""Grid cases' periodic jobs: reminders before a step's deadline and supervision (督办) of overdue steps.

Each job takes the tenant id, runs inside the kernel's `run_for_tenant` (which asks the module switch again
and commits), and is idempotent: a case is reminded once per deadline (`reminded_at`) and supervised once
per overdue step (`supervised_at`), both cleared whenever the case moves to a new step, so a job that runs
twice, or on two workers at once, does not notify twice. On PostgreSQL rows are claimed with
`FOR UPDATE SKIP LOCKED`. Each run handles at most `BATCH` cases, most urgent first; the rest wait for the
next run a few minutes later.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app

from blueprints.grid_cases.models import GridCase
from blueprints.grid_cases.services.base import MODULE, Actor, settings
from blueprints.grid_cases.services.cases import (
    _event,
    case_url,
    notice_context,
    step_people,
    supervisor_people,
)
from saas import db
from saas.db import utcnow
from saas.modules import enabled_keys
from saas.notify import Recipients, notify
from tenants.models import Tenant

BATCH = 500


def _due(q: sa.Select[GridCase]) -> list[GridCase]:
    session = db.session()
    q = q.order_by(GridCase.deadline_at).limit(BATCH)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    return list(session.scalars(q))


def remind_deadlines(tenant_id: int, now: dt.datetime | None = None) -> int:
    """Tell whoever holds a step that it is due within `reminder_hours`; returns the number of cases reminded."""
    session = db.session()
    tenant = session.scalars(sa.select(Tenant).where(Tenant.id == tenant_id)).one()
    now = now or utcnow()
    hours = settings(session)["reminder_hours"]
    cases = _due(sa.select(GridCase).where(GridCase.deadline_at.is_not(None), GridCase.deadline_at >= now,
                                           GridCase.deadline_at <= now + dt.timedelta(hours=hours),
                                           GridCase.reminded_at.is_(None)))
    book = current_app.extensions["saas.roles"]
    enabled = enabled_keys(session)
    for case in cases:
        people = step_people(session, book, enabled, case)
        if people:
            notify(session, Recipients(user_ids=tuple(people)), "grid_cases.deadline_soon",
                   notice_context(session, case), url=case_url(tenant, case), module=MODULE, tenant=tenant,
                   event_key=f"case:{case.id}:{case.deadline_at.isoformat() if case.deadline_at else ''}:remind")
    if cases:
        # a bulk UPDATE leaves the rows' version alone: a reminder must not make a person's open form stale
        session.execute(sa.update(GridCase).where(GridCase.id.in_([c.id for c in cases]))
                        .values(reminded_at=now).execution_options(synchronize_session=False))
    return len(cases)


def supervise_overdue(tenant_id: int, now: dt.datetime | None = None) -> int:
    """督办: mark each newly overdue step in the timeline and tell its holders, the level above and the
    district's group robots; returns the number of cases supervised."""
    session = db.session()
    tenant = session.scalars(sa.select(Tenant).where(Tenant.id == tenant_id)).one()
    now = now or utcnow()
    cases = _due(sa.select(GridCase).where(GridCase.deadline_at.is_not(None), GridCase.deadline_at < now,
                                           GridCase.supervised_at.is_(None)))
    book = current_app.extensions["saas.roles"]
    enabled = enabled_keys(session)
    system = Actor.system(book, enabled)
    for case in cases:
        people = set(step_people(session, book, enabled, case)) | set(supervisor_people(session, book, enabled, case))
        _event(session, case, system, "supervise", case.state, case.state, "", public=False, role="system",
               data={"deadline": case.deadline_at.isoformat() if case.deadline_at else None}, at=now)
        notify(session, Recipients(user_ids=tuple(sorted(people))), "grid_cases.overdue",
               notice_context(session, case), url=case_url(tenant, case), module=MODULE, tenant=tenant,
               event_key=f"case:{case.id}:{case.deadline_at.isoformat() if case.deadline_at else ''}:supervise")
    if cases:
        session.execute(sa.update(GridCase).where(GridCase.id.in_([c.id for c in cases]))
                        .values(supervised_at=now).execution_options(synchronize_session=False))
    return len(cases)
