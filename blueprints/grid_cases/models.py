"""Grid cases' tables, named grid_cases_<plural>.

Every table is tenant-owned: `(tenant_id, id)` is its key and every reference to another row carries
`tenant_id`, so the database refuses a case that points at another district's grid, department or person.
Relationships are few on purpose: lists load the names they show in one query per kind (see services).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from saas.db import Base, TenantScoped, utcnow

# a case's states, in the order of its life (services.TRANSITIONS says who moves it where)
STATES = (
    "reported",  # 上报, waiting for acceptance at its level
    "escalated",  # 上报上级, waiting for acceptance at the next level up
    "accepted",  # 已受理: its level decides to handle, escalate or dispatch
    "dispatched",  # 已派遣: waiting for the department to take it
    "in_progress",  # 处置中: at the department, or handled at its own level
    "extension_requested",  # 申请延期: the handler asked for more time
    "resolved",  # 已办结: waiting for verification on site
    "verified",  # 已核查: waiting to be closed
    "closed",  # 已结案: the reporter may rate it
    "rated",  # 已评价
    "rejected",  # 不予受理
)
FINAL_STATES = ("closed", "rated", "rejected")
OPEN_STATES = tuple(s for s in STATES if s not in FINAL_STATES)
SOURCES = ("patrol", "phone", "web", "qr", "note", "hotline", "module", "open311")
URGENCIES = ("normal", "urgent")
RATINGS = ("satisfied", "basically", "unsatisfied")
NOTE_KINDS = ("patrol", "visit", "publicity", "service")
PHOTO_STAGES = ("report", "result", "verify", "note")


def _units_fk(*cols: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id", *cols], ["org_units.tenant_id", "org_units.id"])


def _users_fk(col: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id", col], ["users.tenant_id", "users.id"])


def _in(col: str, values: tuple[str, ...]) -> str:
    return f"{col} IN ('" + "','".join(values) + "')"


class CaseCategory(TenantScoped, Base):
    """One entry of the tenant's taxonomy, with its default department and deadlines."""

    __tablename__ = "grid_cases_categories"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "code"),
        sa.UniqueConstraint("tenant_id", "name"),
        sa.ForeignKeyConstraint(["tenant_id", "department_id"], ["org_units.tenant_id", "org_units.id"]),
        sa.CheckConstraint("deadline_days BETWEEN 1 AND 90", name="deadline_days"),
        sa.CheckConstraint("urgent_hours BETWEEN 1 AND 240", name="urgent_hours"),
    )

    code: so.Mapped[str] = so.mapped_column(sa.String(32))
    name: so.Mapped[str] = so.mapped_column(sa.String(60))
    department_id: so.Mapped[int | None]
    # working days to resolve an ordinary case; working hours (office time) for an urgent one
    deadline_days: so.Mapped[int] = so.mapped_column(sa.Integer, default=5)
    urgent_hours: so.Mapped[int] = so.mapped_column(sa.Integer, default=8, server_default="8")
    # a category whose cases are listed to anyone through Open311 (a neighbours' dispute is not)
    public: so.Mapped[bool] = so.mapped_column(default=True, server_default=sa.true())
    description: so.Mapped[str] = so.mapped_column(sa.String(200), default="", server_default="")
    active: so.Mapped[bool] = so.mapped_column(default=True)
    position: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)


class CommonProblem(TenantScoped, Base):
    """共性问题: several open cases of one category in one compound or building, handled as one."""

    __tablename__ = "grid_cases_common_problems"
    __table_args__ = (
        sa.ForeignKeyConstraint(["tenant_id", "category_id"], ["grid_cases_categories.tenant_id",
                                                                "grid_cases_categories.id"]),
        _units_fk("place_id"),
        _users_fk("created_by_id"),
        sa.CheckConstraint("state IN ('open','resolved')", name="state"),
        sa.Index("ix_grid_cases_common_problems_place", "tenant_id", "place_id", "state"),
    )

    title: so.Mapped[str] = so.mapped_column(sa.String(120))
    category_id: so.Mapped[int]
    place_id: so.Mapped[int]  # the compound or building the cases share
    state: so.Mapped[str] = so.mapped_column(sa.String(16), default="open")
    created_by_id: so.Mapped[int | None]
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    result: so.Mapped[str | None] = so.mapped_column(sa.Text)
    resolved_at: so.Mapped[dt.datetime | None]


class GridCase(TenantScoped, Base):
    """A case: where it is, what it is, who holds it now and by when the current step is due."""

    __tablename__ = "grid_cases_cases"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "number"),
        sa.UniqueConstraint("tenant_id", "token"),
        sa.ForeignKeyConstraint(["tenant_id", "category_id"], ["grid_cases_categories.tenant_id",
                                                                "grid_cases_categories.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "common_problem_id"], ["grid_cases_common_problems.tenant_id",
                                                                      "grid_cases_common_problems.id"]),
        _units_fk("street_id"), _units_fk("community_id"), _units_fk("grid_id"), _units_fk("compound_id"),
        _units_fk("building_id"), _units_fk("unit_id"), _units_fk("level_unit_id"), _units_fk("department_id"),
        _users_fk("reporter_user_id"), _users_fk("reported_by_id"),
        sa.CheckConstraint(_in("state", STATES), name="state"),
        sa.CheckConstraint(_in("source", SOURCES), name="source"),
        sa.CheckConstraint(_in("urgency", URGENCIES), name="urgency"),
        sa.CheckConstraint("rating IS NULL OR " + _in("rating", RATINGS), name="rating"),
        # the work lists: a person's area is a grid, a community, a street or the district, newest first
        sa.Index("ix_grid_cases_cases_grid", "tenant_id", "grid_id", "id"),
        sa.Index("ix_grid_cases_cases_community", "tenant_id", "community_id", "id"),
        sa.Index("ix_grid_cases_cases_street", "tenant_id", "street_id", "id"),
        sa.Index("ix_grid_cases_cases_compound", "tenant_id", "compound_id", "category_id", "id"),
        sa.Index("ix_grid_cases_cases_level", "tenant_id", "level_unit_id", "state", "id"),
        sa.Index("ix_grid_cases_cases_department", "tenant_id", "department_id", "state", "id"),
        sa.Index("ix_grid_cases_cases_state", "tenant_id", "state", "id"),
        sa.Index("ix_grid_cases_cases_deadline", "tenant_id", "deadline_at"),
        sa.Index("ix_grid_cases_cases_reporter", "tenant_id", "reporter_phone", "id"),
        sa.Index("ix_grid_cases_cases_created", "tenant_id", "created_at"),
        sa.Index("ix_grid_cases_cases_common", "tenant_id", "common_problem_id"),
    )

    number: so.Mapped[str] = so.mapped_column(sa.String(32))
    source: so.Mapped[str] = so.mapped_column(sa.String(16))
    source_ref: so.Mapped[str | None] = so.mapped_column(sa.String(80))
    category_id: so.Mapped[int]
    urgency: so.Mapped[str] = so.mapped_column(sa.String(8), default="normal")
    # where: the grid's ancestors are copied onto the case, so an area's list is one indexed range
    street_id: so.Mapped[int | None]
    community_id: so.Mapped[int | None]
    grid_id: so.Mapped[int | None]
    compound_id: so.Mapped[int | None]
    building_id: so.Mapped[int | None]
    unit_id: so.Mapped[int | None]
    address: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    lat: so.Mapped[float | None] = so.mapped_column(sa.Float)
    lng: so.Mapped[float | None] = so.mapped_column(sa.Float)
    description: so.Mapped[str] = so.mapped_column(sa.Text)
    # who reported it: a resident (by phone) or staff; `reported_by_id` is the staff member who entered it
    reporter_user_id: so.Mapped[int | None]
    reporter_name: so.Mapped[str] = so.mapped_column(sa.String(80), default="")
    reporter_phone: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    reported_by_id: so.Mapped[int | None]
    # who holds it: the level (grid, community, street or district unit) and, once dispatched, the department
    state: so.Mapped[str] = so.mapped_column(sa.String(24), default="reported")
    level_unit_id: so.Mapped[int]
    department_id: so.Mapped[int | None]
    # the current step's deadline (None once closed); the handling deadline; reminders and 督办 of this step
    deadline_at: so.Mapped[dt.datetime | None]
    resolve_by: so.Mapped[dt.datetime | None]
    reminded_at: so.Mapped[dt.datetime | None]
    supervised_at: so.Mapped[dt.datetime | None]
    extension_days: so.Mapped[int | None] = so.mapped_column(sa.Integer)
    reopened: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    result: so.Mapped[str | None] = so.mapped_column(sa.Text)
    resolved_at: so.Mapped[dt.datetime | None]
    resolved_on_time: so.Mapped[bool | None]
    closed_at: so.Mapped[dt.datetime | None]
    rating: so.Mapped[str | None] = so.mapped_column(sa.String(16))
    rating_comment: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    rated_at: so.Mapped[dt.datetime | None]
    common_problem_id: so.Mapped[int | None]
    media_url: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    # what an Open311 client may exchange for the request's id (GET tokens/{token})
    token: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    updated_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow, onupdate=utcnow)
    # optimistic locking: an UPDATE that finds another version changes nothing and is refused
    version: so.Mapped[int] = so.mapped_column(sa.Integer, default=1)

    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def overdue(self, now: dt.datetime | None = None) -> bool:
        return self.deadline_at is not None and (now or utcnow()) > self.deadline_at


class CaseEvent(TenantScoped, Base):
    """One line of a case's timeline: who moved it from which state to which, when, and why."""

    __tablename__ = "grid_cases_events"
    __table_args__ = (
        sa.ForeignKeyConstraint(["tenant_id", "case_id"], ["grid_cases_cases.tenant_id", "grid_cases_cases.id"]),
        sa.Index("ix_grid_cases_events_case", "tenant_id", "case_id", "id"),
    )

    case_id: so.Mapped[int]
    at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    actor_id: so.Mapped[int | None]  # None: the system (a periodic job)
    actor_name: so.Mapped[str] = so.mapped_column(sa.String(80), default="")
    # the role the actor acted in: what a resident sees instead of the name
    actor_role: so.Mapped[str] = so.mapped_column(sa.String(40), default="")
    action: so.Mapped[str] = so.mapped_column(sa.String(32))
    from_state: so.Mapped[str | None] = so.mapped_column(sa.String(24))
    to_state: so.Mapped[str | None] = so.mapped_column(sa.String(24))
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    # shown on the resident's page: the report, acceptance or refusal, the result, closing
    public: so.Mapped[bool] = so.mapped_column(default=False)
    data: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)


class QuickNote(TenantScoped, Base):
    """随手记: a grid worker's one-line log of patrol, visit, publicity or service work."""

    __tablename__ = "grid_cases_notes"
    __table_args__ = (
        _users_fk("user_id"), _units_fk("grid_id"),
        sa.ForeignKeyConstraint(["tenant_id", "case_id"], ["grid_cases_cases.tenant_id", "grid_cases_cases.id"]),
        sa.CheckConstraint(_in("kind", NOTE_KINDS), name="kind"),
        sa.Index("ix_grid_cases_notes_user", "tenant_id", "user_id", "id"),
        sa.Index("ix_grid_cases_notes_grid", "tenant_id", "grid_id", "id"),
    )

    user_id: so.Mapped[int]
    grid_id: so.Mapped[int | None]
    kind: so.Mapped[str] = so.mapped_column(sa.String(16), default="patrol")
    text: so.Mapped[str] = so.mapped_column(sa.String(200))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    case_id: so.Mapped[int | None]  # set once the note became a case


class CasePhoto(TenantScoped, Base):
    """A photo of a report, a result, a verification or a quick note: re-encoded, without its metadata."""

    __tablename__ = "grid_cases_photos"
    __table_args__ = (
        sa.ForeignKeyConstraint(["tenant_id", "case_id"], ["grid_cases_cases.tenant_id", "grid_cases_cases.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "note_id"], ["grid_cases_notes.tenant_id", "grid_cases_notes.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "event_id"], ["grid_cases_events.tenant_id", "grid_cases_events.id"]),
        _users_fk("uploaded_by_id"),
        sa.CheckConstraint(_in("stage", PHOTO_STAGES), name="stage"),
        sa.Index("ix_grid_cases_photos_case", "tenant_id", "case_id"),
        sa.Index("ix_grid_cases_photos_note", "tenant_id", "note_id"),
    )

    case_id: so.Mapped[int | None]
    note_id: so.Mapped[int | None]
    event_id: so.Mapped[int | None]
    stage: so.Mapped[str] = so.mapped_column(sa.String(8))
    content_type: so.Mapped[str] = so.mapped_column(sa.String(32), default="image/jpeg")
    width: so.Mapped[int] = so.mapped_column(sa.Integer)
    height: so.Mapped[int] = so.mapped_column(sa.Integer)
    size: so.Mapped[int] = so.mapped_column(sa.Integer)
    uploaded_by_id: so.Mapped[int | None]
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    # the bytes stay in the database, so every web process serves them (the app keeps no files of its own)
    data: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary, deferred=True)
    thumb: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary, deferred=True)


class CompoundClaim(TenantScoped, Base):
    """包片: a community cadre looks after one or two compounds; their cases reach the cadre wherever reported."""

    __tablename__ = "grid_cases_claims"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "compound_id"),
        _users_fk("user_id"), _units_fk("compound_id"),
        sa.Index("ix_grid_cases_claims_user", "tenant_id", "user_id"),
    )

    user_id: so.Mapped[int]
    compound_id: so.Mapped[int]
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)


class ContactCard(TenantScoped, Base):
    """便民服务连心卡 of one grid: the people it lists besides the grid's own staff."""

    __tablename__ = "grid_cases_cards"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "grid_id"), _units_fk("grid_id"))

    grid_id: so.Mapped[int]
    police_name: so.Mapped[str] = so.mapped_column(sa.String(80), default="")
    police_phone: so.Mapped[str] = so.mapped_column(sa.String(20), default="")
    doctor_name: so.Mapped[str] = so.mapped_column(sa.String(80), default="")
    doctor_phone: so.Mapped[str] = so.mapped_column(sa.String(20), default="")
    hotline: so.Mapped[str] = so.mapped_column(sa.String(20), default="")
    note: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    updated_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow, onupdate=utcnow)


class CaseCounter(TenantScoped, Base):
    """The last case number given out on one local day (XD-20261122-0007), counted in the database."""

    __tablename__ = "grid_cases_counters"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "day"),)

    day: so.Mapped[dt.date]
    last: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
