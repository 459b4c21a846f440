"""The append-only audit log: who did what, when, with the state before and after."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l
from sqlalchemy import event

from saas.db import Base, TenantScoped, utcnow

# what the audit page says for an action (the code stays beside it, for filters); an action without a label
# shows its code
ACTION_LABELS = {
    "auth.login": _l("Signed in"),
    "auth.login_failed": _l("Sign-in refused: wrong name or password, or a deactivated account"),
    "auth.code_failed": _l("Phone code refused: wrong or expired"),
    "export.personal": _l("Downloaded a file with personal data"),
    "token.create": _l("Created an API token"),
    "token.revoke": _l("Revoked an API token"),
    "tenant.create": _l("District created"),
    "tenant.suspend": _l("District suspended"),
    "tenant.reactivate": _l("District reactivated"),
    "user.create": _l("Person added"),
    "user.update": _l("Person's name or phone corrected"),
    "user.deactivate": _l("Person deactivated"),
    "user.activate": _l("Person reactivated"),
    "role.grant": _l("Role granted"),
    "role.revoke": _l("Role removed"),
    "user.password_link": _l("Set-password link sent"),
    "user.password_set": _l("Password set from a link"),
    "user.password_temporary": _l("Temporary password set"),
    "user.password_change": _l("Password changed"),
    "user.password_reset": _l("Password reset by phone code"),
}


def action_label(action: str) -> str:
    """The audit page's wording of an action."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


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
