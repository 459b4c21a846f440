"""Cadre evaluation's tables for the three channels: rater groups, seat codes, invitations, paper sheets,
spent proof-of-work challenges and anonymous opinions (imported by `models`, so they join its metadata).

Seat codes and invitations are credentials: only a SHA-256 of each is stored, and the code itself is shown once,
on the sheet printed when it was made. An invitation carries the ledger key of the person it was issued to (an
HMAC of their phone under the campaign's secret), so its holder is the same person in the ledger as when they
verify that phone by code. Opinions are moved with the ballots: random ids, no time, no identity.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from blueprints.cadre_evaluation.models import CHANNELS, _campaign_fk, _in, _target_fk, _tenant_first, random_id
from saas.db import Base, TenantScoped

SHEET_STATES = ("valid", "void")


def _group_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id", "group_id"], ["cadre_evaluation_rater_groups.tenant_id",
                                                               "cadre_evaluation_rater_groups.id"])


class RaterGroup(TenantScoped, Base):
    """A designated group of raters in one channel (企业代表, 党风政风观测员, 特约监督员…); `cap` bounds how many
    seat codes or invitations it is given (None: no bound)."""

    __tablename__ = "cadre_evaluation_rater_groups"
    __table_args__ = (_campaign_fk(), sa.UniqueConstraint("tenant_id", "campaign_id", "name"),
                      sa.CheckConstraint(_in("channel", CHANNELS), name="channel"),
                      sa.CheckConstraint("cap IS NULL OR cap >= 1", name="cap"))

    campaign_id: so.Mapped[int]
    channel: so.Mapped[str] = so.mapped_column(sa.String(12))
    name: so.Mapped[str] = so.mapped_column(sa.String(40))
    cap: so.Mapped[int | None] = so.mapped_column(sa.Integer)


class SeatCode(TenantScoped, Base):
    """A single-use code for one seat at the rating meeting; spent by the ballot it was used for."""

    __tablename__ = "cadre_evaluation_seat_codes"
    __table_args__ = (_campaign_fk(), _group_fk(), sa.UniqueConstraint("tenant_id", "code_hash"),
                      sa.Index("ix_cadre_evaluation_seat_codes_campaign", "tenant_id", "campaign_id"))

    campaign_id: so.Mapped[int]
    group_id: so.Mapped[int | None]
    batch: so.Mapped[int] = so.mapped_column(sa.Integer)
    seat: so.Mapped[int] = so.mapped_column(sa.Integer)
    code_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
    expires_at: so.Mapped[dt.datetime]
    spent: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)


class Invitation(TenantScoped, Base):
    """A single-use invitation to rate online for a designated group, issued to one person's phone: it keeps
    the hash of its token and that person's ledger key, never the phone."""

    __tablename__ = "cadre_evaluation_invitations"
    __table_args__ = (_campaign_fk(), _group_fk(), sa.UniqueConstraint("tenant_id", "token_hash"),
                      sa.UniqueConstraint("tenant_id", "campaign_id", "rater_key"),
                      sa.Index("ix_cadre_evaluation_invitations_campaign", "tenant_id", "campaign_id"))

    campaign_id: so.Mapped[int]
    group_id: so.Mapped[int]
    batch: so.Mapped[int] = so.mapped_column(sa.Integer)
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
    rater_key: so.Mapped[str] = so.mapped_column(sa.String(64))
    spent: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)


class PaperSheet(TenantScoped, Base):
    """A paper ballot from the meeting as the organiser entered it: its number on paper, its ratings and
    opinions, never who filled it in. A correction voids the sheet and enters a replacement (both audited); the
    valid sheets are counted in the on-site channel when the campaign closes."""

    __tablename__ = "cadre_evaluation_paper_sheets"
    __table_args__ = (_campaign_fk(), sa.CheckConstraint(_in("state", SHEET_STATES), name="state"),
                      sa.ForeignKeyConstraint(["tenant_id", "replaces_id"], ["cadre_evaluation_paper_sheets.tenant_id",
                                                                             "cadre_evaluation_paper_sheets.id"]),
                      sa.Index("ix_cadre_evaluation_paper_sheets_campaign", "tenant_id", "campaign_id"))

    campaign_id: so.Mapped[int]
    number: so.Mapped[str] = so.mapped_column(sa.String(20))
    ratings: so.Mapped[dict[str, dict[str, str]]] = so.mapped_column(sa.JSON)
    opinions: so.Mapped[dict[str, str]] = so.mapped_column(sa.JSON, default=dict)
    state: so.Mapped[str] = so.mapped_column(sa.String(8), default="valid")
    replaces_id: so.Mapped[int | None]
    counted: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)


class SpentChallenge(TenantScoped, Base):
    """A proof-of-work challenge already used for a submission (its nonce's hash): each challenge buys one."""

    __tablename__ = "cadre_evaluation_spent_challenges"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "nonce_hash"),)

    nonce_hash: so.Mapped[str] = so.mapped_column(sa.String(64))


class Opinion(TenantScoped, Base):
    """A rater's opinion on a target: written with the ballots it came with, in their shuffled batch, with a
    random id and no identity or time."""

    __tablename__ = "cadre_evaluation_opinions"
    __table_args__ = (_tenant_first(), _campaign_fk(), _target_fk(),
                      sa.CheckConstraint(_in("channel", CHANNELS), name="channel"),
                      sa.Index("ix_cadre_evaluation_opinions_campaign", "tenant_id", "campaign_id", "target_id"))

    id: so.Mapped[int] = so.mapped_column(sa.BigInteger, primary_key=True, default=random_id)
    campaign_id: so.Mapped[int]
    target_id: so.Mapped[int]
    channel: so.Mapped[str] = so.mapped_column(sa.String(12))
    text: so.Mapped[str] = so.mapped_column(sa.Text)
    batch_id: so.Mapped[int] = so.mapped_column(sa.BigInteger)


__all__: list[Any] = ["Invitation", "Opinion", "PaperSheet", "RaterGroup", "SeatCode", "SpentChallenge"]
