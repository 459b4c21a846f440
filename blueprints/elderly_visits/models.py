"""Elderly visits' tables, named elderly_visits_<plural>.

Every table is tenant-owned: `(tenant_id, id)` is its key and every reference carries `tenant_id`, so the
database refuses a resident registered in another district's grid, a visit by another district's worker or a
contact of another district's resident. A linked grid case is kept by its number (another module's table is
never referenced by a foreign key: grid cases may be switched off, and its data stays its own).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from saas.db import Base, TenantScoped, utcnow

CATEGORIES = ("empty_nest", "alone", "very_old", "disabled", "post_surgery", "low_income", "watch")
SEXES = ("m", "f")
VISIT_KINDS = ("home", "phone", "chat", "errand")
CONDITIONS = ("good", "fair", "poor")
NEEDS = ("shopping", "repair", "medical", "company", "policy")
RISKS = ("fall", "fire", "gas", "health", "alone_long", "fraud")
EMERGENCY_KINDS = ("fall", "illness", "no_answer", "missing", "other")
EMERGENCY_STATES = ("raised", "acknowledged", "closed")
EMERGENCY_SOURCES = ("worker", "neighbour", "family")
ACTION_KINDS = ("called_120", "family_told", "accompanied", "arrived", "other")
NEED_STATES = ("open", "resolved")


def _units_fk(col: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id", col], ["org_units.tenant_id", "org_units.id"])


def _users_fk(col: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id", col], ["users.tenant_id", "users.id"])


def _people_fk(col: str = "person_id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id", col], ["elderly_visits_people.tenant_id", "elderly_visits_people.id"])


def _in(col: str, values: tuple[str, ...]) -> str:
    return f"{col} IN ('" + "','".join(values) + "')"


class ElderlyPerson(TenantScoped, Base):
    """An elderly resident on the registry: who, where, why they are visited, by whom and when next."""

    __tablename__ = "elderly_visits_people"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "id_number"),
        _units_fk("grid_id"), _units_fk("community_id"), _units_fk("place_id"),
        _users_fk("worker_id"), _users_fk("backup_worker_id"),
        sa.CheckConstraint(_in("sex", SEXES), name="sex"),
        sa.CheckConstraint("frequency_days IS NULL OR frequency_days BETWEEN 1 AND 366", name="frequency_days"),
        # the worker's phone list (due today, overdue, this week) and the grid's
        sa.Index("ix_elderly_visits_people_worker_due", "tenant_id", "worker_id", "next_visit_on"),
        sa.Index("ix_elderly_visits_people_grid_due", "tenant_id", "grid_id", "next_visit_on"),
    )

    name: so.Mapped[str] = so.mapped_column(sa.String(40))
    sex: so.Mapped[str] = so.mapped_column(sa.String(1))
    birth_date: so.Mapped[dt.date]
    id_number: so.Mapped[str] = so.mapped_column(sa.String(18))
    phone: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    grid_id: so.Mapped[int]
    community_id: so.Mapped[int | None]  # the grid's community, copied so the cadre's lists need no tree walk
    place_id: so.Mapped[int | None]  # the compound, building or unit inside the grid, when known
    room: so.Mapped[str] = so.mapped_column(sa.String(20), default="")
    address: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    categories: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)
    living: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    # sensitive: shown only to the assigned workers, the community cadre and admins, and every view is logged
    conditions: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    care_notes: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    worker_id: so.Mapped[int]
    backup_worker_id: so.Mapped[int | None]
    frequency_days: so.Mapped[int | None]  # set per person; None follows the district's rules by category
    consent_at: so.Mapped[dt.datetime | None]  # when the resident agreed to be registered and visited
    consent_note: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    registered_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    last_visit_at: so.Mapped[dt.datetime | None]
    next_visit_on: so.Mapped[dt.date]
    # the due date whose overdue visit was escalated to the community (once per due date)
    escalated_for: so.Mapped[dt.date | None]
    active: so.Mapped[bool] = so.mapped_column(default=True)
    version: so.Mapped[int] = so.mapped_column(sa.Integer, default=1)

    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012


class EmergencyContact(TenantScoped, Base):
    """Someone to call for the resident (a child, a neighbour): sensitive, like the health notes."""

    __tablename__ = "elderly_visits_contacts"
    __table_args__ = (_people_fk(), sa.Index("ix_elderly_visits_contacts_person", "tenant_id", "person_id"))

    person_id: so.Mapped[int]
    name: so.Mapped[str] = so.mapped_column(sa.String(40))
    relation: so.Mapped[str] = so.mapped_column(sa.String(20), default="")
    phone: so.Mapped[str] = so.mapped_column(sa.String(20))
    position: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)


class Visit(TenantScoped, Base):
    """One visit, logged by the visitor; `client_key` is made on the phone so a resent visit is kept once."""

    __tablename__ = "elderly_visits_visits"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "client_key"),
        _people_fk(), _users_fk("visitor_id"),
        sa.CheckConstraint(_in("kind", VISIT_KINDS), name="kind"),
        sa.CheckConstraint(_in("health", CONDITIONS), name="health"),
        sa.CheckConstraint(_in("mood", CONDITIONS), name="mood"),
        sa.Index("ix_elderly_visits_visits_person", "tenant_id", "person_id", "visited_at"),
        sa.Index("ix_elderly_visits_visits_visitor", "tenant_id", "visitor_id", "visited_at"),
    )

    person_id: so.Mapped[int]
    visitor_id: so.Mapped[int]
    planned_on: so.Mapped[dt.date | None]  # the due date the visit answered
    visited_at: so.Mapped[dt.datetime]
    kind: so.Mapped[str] = so.mapped_column(sa.String(10))
    health: so.Mapped[str] = so.mapped_column(sa.String(10))
    mood: so.Mapped[str] = so.mapped_column(sa.String(10))
    needs: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)
    risks: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)
    notes: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    duration_min: so.Mapped[int | None]
    client_key: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)


class Need(TenantScoped, Base):
    """A need found on a visit: a follow-up task here, or a grid case when the grid must act."""

    __tablename__ = "elderly_visits_needs"
    __table_args__ = (
        _people_fk(),
        sa.ForeignKeyConstraint(["tenant_id", "visit_id"], ["elderly_visits_visits.tenant_id",
                                                            "elderly_visits_visits.id"]),
        _users_fk("resolved_by_id"),
        sa.CheckConstraint(_in("kind", NEEDS), name="kind"),
        sa.CheckConstraint(_in("state", NEED_STATES), name="state"),
        sa.Index("ix_elderly_visits_needs_person", "tenant_id", "person_id", "state"),
    )

    person_id: so.Mapped[int]
    visit_id: so.Mapped[int]
    kind: so.Mapped[str] = so.mapped_column(sa.String(12))
    note: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    state: so.Mapped[str] = so.mapped_column(sa.String(10), default="open")
    case_number: so.Mapped[str | None] = so.mapped_column(sa.String(40))  # the grid case it became
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    resolved_at: so.Mapped[dt.datetime | None]
    resolved_by_id: so.Mapped[int | None]
    result: so.Mapped[str] = so.mapped_column(sa.String(500), default="")


class Emergency(TenantScoped, Base):
    """An emergency (a fall, an illness, no answer at the door): raised, acknowledged, closed with an outcome.

    A neighbour's report that names nobody on the registry, or several, is an emergency all the same, without a
    resident (`person_id` None) until the community's cadre links it: what the neighbour wrote stays in
    `reported_name` and `reported_place`, the residents it could be in `candidate_ids`. The reporter's phone
    (a neighbour's, a family member's) is sensitive, like the residents' contacts.
    """

    __tablename__ = "elderly_visits_emergencies"
    __table_args__ = (
        _people_fk(), _units_fk("grid_id"), _units_fk("community_id"),
        _users_fk("raised_by_id"), _users_fk("acknowledged_by_id"), _users_fk("closed_by_id"),
        _users_fk("linked_by_id"),
        sa.CheckConstraint(_in("kind", EMERGENCY_KINDS), name="kind"),
        sa.CheckConstraint(_in("state", EMERGENCY_STATES), name="state"),
        sa.CheckConstraint(_in("source", EMERGENCY_SOURCES), name="source"),
        # the escalation job: raised and not acknowledged, oldest first
        sa.Index("ix_elderly_visits_emergencies_state", "tenant_id", "state", "raised_at"),
    )

    person_id: so.Mapped[int | None]  # None: a report nobody on the registry matched, until a cadre links it
    grid_id: so.Mapped[int]
    community_id: so.Mapped[int | None]
    kind: so.Mapped[str] = so.mapped_column(sa.String(12))
    description: so.Mapped[str] = so.mapped_column(sa.String(1000), default="")
    state: so.Mapped[str] = so.mapped_column(sa.String(14), default="raised")
    source: so.Mapped[str] = so.mapped_column(sa.String(10), default="worker", server_default="worker")
    reported_name: so.Mapped[str] = so.mapped_column(sa.String(40), default="", server_default="")
    reported_place: so.Mapped[str] = so.mapped_column(sa.String(100), default="", server_default="")
    candidate_ids: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)
    reporter_phone: so.Mapped[str | None] = so.mapped_column(sa.String(20))  # sensitive
    linked_at: so.Mapped[dt.datetime | None]
    linked_by_id: so.Mapped[int | None]
    raised_by_id: so.Mapped[int | None]
    raised_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    acknowledged_at: so.Mapped[dt.datetime | None]
    acknowledged_by_id: so.Mapped[int | None]
    escalated_at: so.Mapped[dt.datetime | None]  # nobody acknowledged in time: the street was told
    outcome: so.Mapped[str] = so.mapped_column(sa.String(1000), default="")
    closed_at: so.Mapped[dt.datetime | None]
    closed_by_id: so.Mapped[int | None]
    version: so.Mapped[int] = so.mapped_column(sa.Integer, default=1)

    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012


class EmergencyAction(TenantScoped, Base):
    """What was done about an emergency, by whom and when (120 called, family told, accompanied to hospital)."""

    __tablename__ = "elderly_visits_emergency_actions"
    __table_args__ = (
        sa.ForeignKeyConstraint(["tenant_id", "emergency_id"], ["elderly_visits_emergencies.tenant_id",
                                                                "elderly_visits_emergencies.id"]),
        _users_fk("by_id"),
        sa.CheckConstraint(_in("kind", ACTION_KINDS), name="kind"),
        sa.Index("ix_elderly_visits_emergency_actions_emergency", "tenant_id", "emergency_id", "at"),
    )

    emergency_id: so.Mapped[int]
    kind: so.Mapped[str] = so.mapped_column(sa.String(12))
    note: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    by_id: so.Mapped[int | None]


class JobMark(TenantScoped, Base):
    """A periodic notice already sent (a worker's list for a day, a community's week): a job that runs twice, or
    on two workers at once, tells people once."""

    __tablename__ = "elderly_visits_job_marks"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "key"),)

    key: so.Mapped[str] = so.mapped_column(sa.String(80))
    at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)


class VisitPhoto(TenantScoped, Base):
    """A visit's photo (optional, one per visit), read by the kernel's `saas.pictures`: re-encoded, without its
    metadata; seen by those who see the visit."""

    __tablename__ = "elderly_visits_visit_photos"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "visit_id"),
        sa.ForeignKeyConstraint(["tenant_id", "visit_id"], ["elderly_visits_visits.tenant_id",
                                                            "elderly_visits_visits.id"]),
        _users_fk("uploaded_by_id"),
    )

    visit_id: so.Mapped[int]
    content_type: so.Mapped[str] = so.mapped_column(sa.String(32), default="image/jpeg")
    width: so.Mapped[int] = so.mapped_column(sa.Integer)
    height: so.Mapped[int] = so.mapped_column(sa.Integer)
    size: so.Mapped[int] = so.mapped_column(sa.Integer)
    uploaded_by_id: so.Mapped[int | None]
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    # the bytes stay in the database, so every web process serves them (the app keeps no files of its own)
    data: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary, deferred=True)
    thumb: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary, deferred=True)
