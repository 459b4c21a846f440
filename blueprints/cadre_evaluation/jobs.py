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
