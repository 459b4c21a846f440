"""Cadre evaluation's periodic jobs: move waiting ballots into the box in shuffled batches.

Run by the kernel's `run_for_tenant` in a transaction of its own (which writes no ledger row); idempotent, since
a moved submission is deleted from the waiting table and movers claim rows with SKIP LOCKED.
"""

from __future__ import annotations

from blueprints.cadre_evaluation import services
from saas import db


def move_ballots(tenant_id: int) -> None:
    """Move each campaign's waiting submissions once a full batch is there."""
    services.move_ballots(db.session())


def advance_schedule(tenant_id: int) -> None:
    """Take each campaign's steps whose time has come (schedule.py)."""
    from flask import current_app

    from blueprints.cadre_evaluation import schedule
    from saas.actors import Actor
    from saas.modules import enabled_keys

    session = db.session()
    schedule.advance(session, Actor.system(current_app.extensions["saas.roles"], enabled_keys(session)))


def remind_overdue(tenant_id: int) -> None:
    """Remind the owners of rectification items past their deadline (followup.py)."""
    from blueprints.cadre_evaluation import followup

    followup.remind_overdue(db.session(), tenant_id)
