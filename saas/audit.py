"""The append-only audit log: who did what, when, with the state before and after."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l
from sqlalchemy import event

from saas.db import Base, TenantScoped, utcnow
from saas.ids import new_id


@dataclasses.dataclass(frozen=True)
class AuditWords:
    """How the audit page words an action, a kind of object and a field of its before/after, in the reader's
    language. The kernel has its own; a module declares its own in its manifest (`ModuleSpec.audit_words`).
    Anything without words shows its code, so a new action is never hidden."""

    actions: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    objects: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    fields: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    # field -> code -> words, for fields whose values are codes (a case's state)
    values: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    # object type -> a function (session, ids) -> {id: what a reader calls it} (a case's number): one statement
    # for all the page's objects of that type
    names: Mapping[str, Callable[[so.Session, list[int]], Mapping[int, str]]] = dataclasses.field(
        default_factory=dict)


KERNEL_WORDS = AuditWords(
    actions={
        "auth.login": _l("Signed in"),
        "auth.login_failed": _l("Sign-in refused: wrong name or password, or a deactivated account"),
        "auth.code_failed": _l("Phone code refused: wrong or expired"),
        "export.personal": _l("Downloaded a file with personal data"),
        "token.create": _l("Created an API token"),
        "token.revoke": _l("Revoked an API token"),
        "tenant.create": _l("District created"),
        "tenant.suspend": _l("District suspended"),
        "tenant.reactivate": _l("District reactivated"),
        "tenant.export": _l("District's data exported to a file"),
        "tenant.delete": _l("District and all its data deleted"),
        "tenant.import": _l("District's data imported from a file"),
        "district.update": _l("District details changed"),
        "module.enable": _l("Module switched on"),
        "module.disable": _l("Module switched off"),
        "module.settings": _l("Module settings changed"),
        "org.create": _l("Unit added"),
        "calendar.add": _l("Working calendar day set"),
        "calendar.remove": _l("Working calendar day removed"),
        "notices.channel": _l("Notice channel changed"),
        "notices.template": _l("Notice wording changed"),
        "notices.quiet_hours": _l("Quiet hours changed"),
        "notices.retry": _l("Failed notice sent again"),
        "notices.discard": _l("Failed notice discarded"),
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
    },
    objects={
        "user": _l("Person"),
        "org_unit": _l("Unit"),
        "module": _l("Module"),
        "tenant": _l("District"),
        "api_token": _l("API token"),
        "calendar_day": _l("Calendar day"),
        "channel": _l("Notice channel"),
        "delivery": _l("Notice delivery"),
        "notice_template": _l("Notice wording"),
        "export": _l("Exported file"),
    },
    fields={
        "name": _l("Name"),
        "name_zh": _l("Chinese name"),
        "slug": _l("Slug"),
        "phone": _l("Mobile number"),
        "username": _l("Username"),
        "active": _l("Active"),
        "enabled": _l("On"),
        "role": _l("Role"),
        "org_unit": _l("Unit"),
        "org_unit_id": _l("Unit"),
        "kind": _l("Kind"),
        "code": _l("Code"),
        "title": _l("Title"),
        "body": _l("Text"),
        "status": _l("Status"),
        "attempts": _l("Attempts"),
        "error": _l("Error"),
        "quiet_start": _l("Quiet from"),
        "quiet_end": _l("Quiet until"),
        "file": _l("File"),
        "rows": _l("Rows"),
        "expires_at": _l("Expires"),
        "state": _l("State"),
        "note": _l("Note"),
        "reason": _l("Reason"),
    },
)


def action_label(action: str) -> str:
    """The kernel's wording of an action, or its code (the audit page asks the modules too)."""
    label = KERNEL_WORDS.actions.get(action)
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


class PlatformAuditEntry(Base):
    """What the platform did to a whole district (export, delete, import). It belongs to no district, so it
    outlives a deleted one: the district's id is kept as a plain number, not a foreign key."""

    __tablename__ = "platform_audit_entries"
    __table_args__ = (sa.Index("ix_platform_audit_entries_at", "at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True, autoincrement=False, default=new_id)
    at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    actor_id: so.Mapped[int | None]
    actor_name: so.Mapped[str] = so.mapped_column(sa.String(80), default="")
    action: so.Mapped[str] = so.mapped_column(sa.String(64))
    # not `tenant_id`: the kernel takes every table with that column for a district's own (scoping, RLS, export)
    district_id: so.Mapped[int | None]
    district_slug: so.Mapped[str] = so.mapped_column(sa.String(40), default="")
    details: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)
    ip: so.Mapped[str | None] = so.mapped_column(sa.String(64))


def record_platform(conn: sa.Connection, actor: Any, action: str, *, district_id: int | None, district_slug: str,
                    details: dict[str, Any] | None = None, ip: str | None = None) -> None:
    """Append a platform audit entry on `conn`: it commits or rolls back with the change it describes."""
    conn.execute(sa.insert(PlatformAuditEntry.__table__).values(
        id=new_id(), at=utcnow(), actor_id=getattr(actor, "id", None), actor_name=getattr(actor, "name", "") or "",
        action=action, district_id=district_id, district_slug=district_slug, details=details, ip=ip))


class AuditTampering(RuntimeError):
    """Something tried to change or delete an audit entry."""


@event.listens_for(so.Session, "before_flush")
def _append_only(s: so.Session, _ctx: Any, _instances: Any) -> None:
    for obj in list(s.dirty) + list(s.deleted):
        if isinstance(obj, AuditEntry | PlatformAuditEntry) and (obj in s.deleted or s.is_modified(obj)):
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
