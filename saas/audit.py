"""The append-only audit log: who did what, when, with the state before and after."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy import event

from saas.db import Base, TenantScoped, utcnow


class AuditEntry(TenantScoped, Base):
    __tablename__ = "audit_entries"
    __table_args__ = (sa.Index("ix_audit_entries_at", "tenant_id", "at"),)

    at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    actor_id: so.Mapped[int | None]
    actor_name: so.Mapped[str] = so.mapped_column(sa.String(80), default="")
    action: so.Mapped[str] = so.mapped_column(sa.String(64))
    module: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    object_type: so.Mapped[str] = so.mapped_column(sa.String(40))
    object_id: so.Mapped[str] = so.mapped_column(sa.String(64), default="")
    before: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)
    after: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)
    ip: so.Mapped[str | None] = so.mapped_column(sa.String(64))


class AuditTampering(RuntimeError):
    """Something tried to change or delete an audit entry."""


@event.listens_for(so.Session, "before_flush")
def _append_only(s: so.Session, _ctx: Any, _instances: Any) -> None:
    for obj in list(s.dirty) + list(s.deleted):
        if isinstance(obj, AuditEntry) and (obj in s.deleted or s.is_modified(obj)):
            raise AuditTampering("audit entries are append-only")


def record(
    session: so.Session,
    actor: Any,
    action: str,
    object_type: str,
    object_id: Any = "",
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    module: str | None = None,
    ip: str | None = None,
) -> AuditEntry:
    """Add an audit entry to the session; it commits or rolls back with the change it describes."""
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        actor_name=getattr(actor, "name", "") or "",
        action=action,
        module=module,
        object_type=object_type,
        object_id=str(object_id),
        before=before,
        after=after,
        ip=ip,
    )
    session.add(entry)
    return entry
