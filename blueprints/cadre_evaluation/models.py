"""Cadre evaluation's tables, named cadre_evaluation_<plural>.

Every table is tenant-owned: `(tenant_id, id)` is its key and every reference carries `tenant_id`.

Anonymity is built into the tables: the participation ledger (`cadre_evaluation_ledger`) knows that a keyed hash
of a phone rated a target, never what it gave; a submission waits in `cadre_evaluation_pending` (written in the
ledger's transaction) and is moved, in shuffled batches and in a transaction of its own, into
`cadre_evaluation_ballots` and `cadre_evaluation_scores`, which carry no identity, no time, and random ids (not the
kernel's time-ordered ones), so neither a column, nor id order, nor PostgreSQL's `xmin` links a ballot to a ledger
row. Receipts keep only a hash of the rater's receipt code and the batch it was counted in.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from saas.db import Base, TenantScoped

# announced: the target list is public (评议对象公示); followup: results out, follow-up under way (schedule.py)
STATES = ("draft", "announced", "open", "closed", "published", "followup")
CHANNELS = ("onsite", "online", "department")


def _tenant_first() -> sa.PrimaryKeyConstraint:
    """`(tenant_id, id)` as every tenant table's key, also where a model redeclares `id` (random ids)."""
    return sa.PrimaryKeyConstraint("tenant_id", "id")


def random_id() -> int:
    """A random 63-bit id: the order of ballot rows by id says nothing about when they were cast."""
    return secrets.randbits(63)


def _campaign_fk(col: str = "campaign_id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id", col], ["cadre_evaluation_campaigns.tenant_id",
                                                        "cadre_evaluation_campaigns.id"])


def _target_fk(col: str = "target_id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id", col], ["cadre_evaluation_targets.tenant_id",
                                                        "cadre_evaluation_targets.id"])


def _in(col: str, values: tuple[str, ...]) -> str:
    return f"{col} IN ('" + "','".join(values) + "')"


class Campaign(TenantScoped, Base):
    """A rating campaign: its period, schedule, dimensions, scale and channel weights (frozen once open).

    `dimensions` is a list of `{key, name, weight}`, `scale` a list of `{key, name, points, counted}` (a level not
    counted, 不了解, is left out of averages), `channel_weights` maps each channel to a percentage summing to 100.
    `secret` is the campaign's HMAC key for the ledger, encrypted with the kernel's Fernet key (`saas.secrets`).
    """

    __tablename__ = "cadre_evaluation_campaigns"
    __table_args__ = (
        sa.CheckConstraint(_in("state", STATES), name="state"),
        sa.CheckConstraint("min_ballots >= 1", name="min_ballots"),
    )

    name: so.Mapped[str] = so.mapped_column(sa.String(100))
    period_start: so.Mapped[dt.date]
    period_end: so.Mapped[dt.date]
    state: so.Mapped[str] = so.mapped_column(sa.String(12), default="draft")
    opens_at: so.Mapped[dt.datetime | None]
    closes_at: so.Mapped[dt.datetime | None]
    dimensions: so.Mapped[list[dict[str, Any]]] = so.mapped_column(sa.JSON)
    scale: so.Mapped[list[dict[str, Any]]] = so.mapped_column(sa.JSON)
    channel_weights: so.Mapped[dict[str, int]] = so.mapped_column(sa.JSON)
    min_ballots: so.Mapped[int] = so.mapped_column(sa.Integer, default=30)
    secret: so.Mapped[str] = so.mapped_column(sa.Text)
    # the schedule's other steps (schedule.py) and the business areas targets are ranked in (results.py)
    announce_at: so.Mapped[dt.datetime | None]
    results_at: so.Mapped[dt.datetime | None]
    followup_at: so.Mapped[dt.datetime | None]
    areas: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)
    version: so.Mapped[int] = so.mapped_column(sa.Integer, default=1)

    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012


class Target(TenantScoped, Base):
    """A section chief rated in the campaign (评议对象)."""

    __tablename__ = "cadre_evaluation_targets"
    __table_args__ = (_campaign_fk(), sa.Index("ix_cadre_evaluation_targets_campaign", "tenant_id", "campaign_id"))

    campaign_id: so.Mapped[int]
    name: so.Mapped[str] = so.mapped_column(sa.String(40))
    department: so.Mapped[str] = so.mapped_column(sa.String(60))
    section: so.Mapped[str] = so.mapped_column(sa.String(60))
    post: so.Mapped[str] = so.mapped_column(sa.String(60), default="")
    duties: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    position: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    area: so.Mapped[str] = so.mapped_column(sa.String(40), default="")
    photo: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary, deferred=True)
    photo_thumb: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary, deferred=True)


class LedgerEntry(TenantScoped, Base):
    """That a person (an HMAC of their verified phone under the campaign's secret) rated a target: never what.

    The unique key is the one-ballot rule; two submissions at the same instant cannot both pass it."""

    __tablename__ = "cadre_evaluation_ledger"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "campaign_id", "target_id", "rater_key"),
        _campaign_fk(), _target_fk(),
        sa.CheckConstraint(_in("channel", CHANNELS), name="channel"),
    )

    campaign_id: so.Mapped[int]
    target_id: so.Mapped[int]
    rater_key: so.Mapped[str] = so.mapped_column(sa.String(64))
    channel: so.Mapped[str] = so.mapped_column(sa.String(12))


class PendingSubmission(TenantScoped, Base):
    """A submission waiting to be moved into the ballots: its ratings `{target_id: {dimension: level}}` and the
    hash of its receipt code. Deleted when moved."""

    __tablename__ = "cadre_evaluation_pending"
    __table_args__ = (_tenant_first(), _campaign_fk(), sa.CheckConstraint(_in("channel", CHANNELS), name="channel"),
                      sa.Index("ix_cadre_evaluation_pending_campaign", "tenant_id", "campaign_id"))

    id: so.Mapped[int] = so.mapped_column(sa.BigInteger, primary_key=True, default=random_id)
    campaign_id: so.Mapped[int]
    channel: so.Mapped[str] = so.mapped_column(sa.String(12))
    receipt_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
    ratings: so.Mapped[dict[str, dict[str, str]]] = so.mapped_column(sa.JSON)
    opinions: so.Mapped[dict[str, str] | None] = so.mapped_column(sa.JSON)


class Ballot(TenantScoped, Base):
    """One rater's ballot on one target: no identity, no time, a random id, written with its batch."""

    __tablename__ = "cadre_evaluation_ballots"
    __table_args__ = (_tenant_first(), _campaign_fk(), _target_fk(),
                      sa.CheckConstraint(_in("channel", CHANNELS), name="channel"),
                      sa.Index("ix_cadre_evaluation_ballots_campaign", "tenant_id", "campaign_id", "target_id"))

    id: so.Mapped[int] = so.mapped_column(sa.BigInteger, primary_key=True, default=random_id)
    campaign_id: so.Mapped[int]
    target_id: so.Mapped[int]
    channel: so.Mapped[str] = so.mapped_column(sa.String(12))
    batch_id: so.Mapped[int] = so.mapped_column(sa.BigInteger)


class Score(TenantScoped, Base):
    """A ballot's level on one dimension; target and channel are copied so the tally is one grouped query."""

    __tablename__ = "cadre_evaluation_scores"
    __table_args__ = (
        _tenant_first(), _campaign_fk(), _target_fk(),
        sa.ForeignKeyConstraint(["tenant_id", "ballot_id"], ["cadre_evaluation_ballots.tenant_id",
                                                             "cadre_evaluation_ballots.id"]),
        sa.Index("ix_cadre_evaluation_scores_campaign", "tenant_id", "campaign_id"),
    )

    id: so.Mapped[int] = so.mapped_column(sa.BigInteger, primary_key=True, default=random_id)
    campaign_id: so.Mapped[int]
    ballot_id: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    target_id: so.Mapped[int]
    channel: so.Mapped[str] = so.mapped_column(sa.String(12))
    dimension: so.Mapped[str] = so.mapped_column(sa.String(20))
    level: so.Mapped[str] = so.mapped_column(sa.String(20))


class Receipt(TenantScoped, Base):
    """A counted submission's receipt: the hash of its code and the batch it was moved in, nothing else."""

    __tablename__ = "cadre_evaluation_receipts"
    __table_args__ = (_tenant_first(), sa.UniqueConstraint("tenant_id", "campaign_id", "receipt_hash"), _campaign_fk())

    id: so.Mapped[int] = so.mapped_column(sa.BigInteger, primary_key=True, default=random_id)
    campaign_id: so.Mapped[int]
    receipt_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
    batch_id: so.Mapped[int] = so.mapped_column(sa.BigInteger)


from blueprints.cadre_evaluation.channel_models import (  # noqa: E402  (the channels' tables join this metadata)
    Invitation,
    Opinion,
    PaperSheet,
    RaterGroup,
    SeatCode,
    SpentChallenge,
)
from blueprints.cadre_evaluation.models_results import (  # noqa: E402  the results' and follow-up's tables
    FollowUpAction,
    FollowUpDocument,
    NetworkCount,
    RectificationItem,
)

__all__ = ["Ballot", "Campaign", "FollowUpAction", "FollowUpDocument", "Invitation", "LedgerEntry", "NetworkCount",
           "Opinion", "PaperSheet", "PendingSubmission", "RaterGroup", "Receipt", "RectificationItem", "Score",
           "SeatCode", "SpentChallenge", "Target"]
