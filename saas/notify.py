"""In-app notices. The delivery layer (outbox, channels, RQ) builds on `notify`."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from saas.db import Base, TenantScoped, utcnow

log = logging.getLogger("saas.notify")


class Notification(TenantScoped, Base):
    __tablename__ = "notifications"
    __table_args__ = (
        sa.ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
        sa.Index("ix_notifications_inbox", "tenant_id", "user_id", "read_at"),
    )

    user_id: so.Mapped[int]
    kind: so.Mapped[str] = so.mapped_column(sa.String(64))
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    body: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    url: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    urgent: so.Mapped[bool] = so.mapped_column(default=False)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    read_at: so.Mapped[dt.datetime | None]


def notify(
    session: so.Session, user_id: int, kind: str, title: str, body: str = "", *, url: str | None = None,
    urgent: bool = False, module: str | None = None, **_context: Any,
) -> Notification | None:
    """Put a notice in a person's inbox in the caller's transaction: it is sent only if that commits.

    A notice on behalf of a module that is switched off for the tenant is not sent at all.
    """
    if module is not None:
        from saas.modules import enabled_keys

        if module not in enabled_keys(session):
            log.info("notice %s dropped: module %s is off", kind, module)
            return None
    item = Notification(user_id=user_id, kind=kind, title=title, body=body, url=url, urgent=urgent)
    session.add(item)
    log.info("notice %s for user %s: %s %s", kind, user_id, title, body)
    return item
