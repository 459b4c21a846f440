"""Cadre evaluation's follow-up and anomaly tables (imported by models.py, so they join the module's metadata).

Follow-up belongs to a target: actions taken (表扬, 通报, 诫勉谈话, 调整岗位) with their date and documents
(stored in the database, size-limited), and rectification items with an owner, a deadline and a source.
`NetworkCount` counts submissions per target, network (a keyed hash of the /24 or /48, never the address) and
ten-minute window, for the organiser's anomaly flags: it is written in the submission's transaction, as the
ledger is, and never touches the ballots, so it says at most that someone from a network rated a target.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import sqlalchemy.orm as so

from blueprints.cadre_evaluation.models import _campaign_fk, _in, _target_fk
from saas.db import Base, TenantScoped

ACTION_KINDS = ("praise", "notice", "admonish", "reassign")
ITEM_SOURCES = ("opinion", "department_tasks", "enterprise_needs", "petitions", "slow_rectification")
ITEM_STATES = ("open", "done")


class FollowUpAction(TenantScoped, Base):
    """An action taken on a target after the results (表扬, 通报, 诫勉谈话, 调整岗位)."""

    __tablename__ = "cadre_evaluation_actions"
    __table_args__ = (_campaign_fk(), _target_fk(), sa.CheckConstraint(_in("kind", ACTION_KINDS), name="kind"),
                      sa.Index("ix_cadre_evaluation_actions_target", "tenant_id", "target_id"))

    campaign_id: so.Mapped[int]
    target_id: so.Mapped[int]
    kind: so.Mapped[str] = so.mapped_column(sa.String(12))
    taken_on: so.Mapped[dt.date]
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")


class FollowUpDocument(TenantScoped, Base):
    """A document of an action (a notice, a talk's record): the file itself, size-limited."""

    __tablename__ = "cadre_evaluation_documents"
    __table_args__ = (
        sa.ForeignKeyConstraint(["tenant_id", "action_id"], ["cadre_evaluation_actions.tenant_id",
                                                             "cadre_evaluation_actions.id"]),
        sa.Index("ix_cadre_evaluation_documents_action", "tenant_id", "action_id"),
    )

    action_id: so.Mapped[int]
    filename: so.Mapped[str] = so.mapped_column(sa.String(120))
    content_type: so.Mapped[str] = so.mapped_column(sa.String(100))
    size: so.Mapped[int] = so.mapped_column(sa.Integer)
    data: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary, deferred=True)


class RectificationItem(TenantScoped, Base):
    """Something a target's section must put right: its owner (a unit or a person), deadline and source."""

    __tablename__ = "cadre_evaluation_items"
    __table_args__ = (_campaign_fk(), _target_fk(), sa.CheckConstraint(_in("source", ITEM_SOURCES), name="source"),
                      sa.CheckConstraint(_in("state", ITEM_STATES), name="state"),
                      sa.Index("ix_cadre_evaluation_items_target", "tenant_id", "target_id"),
                      sa.Index("ix_cadre_evaluation_items_due", "tenant_id", "state", "deadline"))

    campaign_id: so.Mapped[int]
    target_id: so.Mapped[int]
    source: so.Mapped[str] = so.mapped_column(sa.String(20))
    text: so.Mapped[str] = so.mapped_column(sa.Text)
    owner: so.Mapped[str] = so.mapped_column(sa.String(60), default="")
    owner_user_id: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    deadline: so.Mapped[dt.date | None]
    state: so.Mapped[str] = so.mapped_column(sa.String(8), default="open")
    done_on: so.Mapped[dt.date | None]
    reminded_on: so.Mapped[dt.date | None]


class NetworkCount(TenantScoped, Base):
    """Submissions on a target from one network in one ten-minute window: a count, never an address."""

    __tablename__ = "cadre_evaluation_network_counts"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "campaign_id", "target_id", "network_key", "window_start"),
        _campaign_fk(), _target_fk(),
    )

    campaign_id: so.Mapped[int]
    target_id: so.Mapped[int]
    network_key: so.Mapped[str] = so.mapped_column(sa.String(64))
    window_start: so.Mapped[dt.datetime]
    count: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
