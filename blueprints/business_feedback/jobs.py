"""Business feedback's periodic jobs: 督办 of overdue assignments and term-expiry reminders to the office.

Each job takes the tenant id, runs inside the kernel's `run_for_tenant` (which asks the module switch again
and commits), and is idempotent: a 督办 level is recorded once per assignment and round (a unique key), a
term's reminder once (`reminded_at`). The rules live in `services.supervision`; the jobs only call them.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app

from blueprints.business_feedback.services import supervision
from blueprints.business_feedback.services.base import Actor
from saas import db
from saas.modules import enabled_keys
from tenants.models import Tenant


def _context(tenant_id: int) -> tuple[Tenant, Actor]:
    session = db.session()
    tenant = session.scalars(sa.select(Tenant).where(Tenant.id == tenant_id)).one()
    return tenant, Actor.system(current_app.extensions["saas.roles"], enabled_keys(session))


def supervise_overdue(tenant_id: int, now: dt.datetime | None = None) -> int:
    """督办: raise the level of overdue assignments and tell their departments and the office."""
    tenant, actor = _context(tenant_id)
    return supervision.supervise_overdue(db.session(), tenant, actor, now)


def remind_term_expiry(tenant_id: int, now: dt.datetime | None = None) -> int:
    """Tell the office of supervisors whose term ends soon."""
    tenant, actor = _context(tenant_id)
    return supervision.remind_term_expiry(db.session(), tenant, actor, now)
