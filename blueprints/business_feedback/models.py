"""营商环境监督 (business feedback): tables named business_feedback_<plural>.

Every table is tenant-owned: `(tenant_id, id)` is its key and every unique key and reference carries
`tenant_id`, so the database refuses an item that points at another district's enterprise, department or
supervisor. A feedback item is assigned to one or more departments (`Assignment`); each assignment has its
own deadline and its own 督办 level, so a department that answered in time is never supervised.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from saas.db import Base, TenantScoped, utcnow

# an item's states, in the order of its life (services.items.TRANSITIONS says who moves it where)
STATES = (
    "submitted",  # 已提交: waiting for the office's triage
    "assigned",  # 已交办: at one or more departments
    "answered",  # 已答复: every department answered; the supervisor rates
    "rated",  # 已评价: waiting for the office to close it
    "closed",  # 已办结
    "merged",  # 已合并: a duplicate of another item
    "recorded",  # 已录入: market information, not routed
    "declined",  # 不予受理
)
FINAL_STATES = ("closed", "merged", "recorded", "declined")
OPEN_STATES = tuple(s for s in STATES if s not in FINAL_STATES)
KINDS = ("problem", "suggestion", "market", "praise")
URGENCIES = ("normal", "urgent")
RATINGS = ("satisfied", "basically", "unsatisfied")
SOURCE_GROUPS = ("npc", "cppcc", "party", "entrepreneur", "expert", "media", "association", "worker", "farmer",
                 "student", "retired", "technician")
LEVELS = (1, 2, 3)  # 提醒, 督办, 挂牌督办


def _units_fk(col: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id", col], ["org_units.tenant_id", "org_units.id"])


def _users_fk(col: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id", col], ["users.tenant_id", "users.id"])


def _fk(col: str, table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id", col], [f"{table}.tenant_id", f"{table}.id"])


def _in(col: str, values: tuple[str, ...]) -> str:
    return f"{col} IN ('" + "','".join(values) + "')"


class SupervisorKind(TenantScoped, Base):
    """One kind of supervisor of the district's list (特约监督员, 市场体验员, …)."""

    __tablename__ = "business_feedback_supervisor_kinds"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "code"), sa.UniqueConstraint("tenant_id", "name"))

    code: so.Mapped[str] = so.mapped_column(sa.String(32))
    name: so.Mapped[str] = so.mapped_column(sa.String(40))
    active: so.Mapped[bool] = so.mapped_column(default=True)
    position: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)


class BusinessArea(TenantScoped, Base):
    """One business area of the district's list (开办企业, 办理建筑许可, …)."""

    __tablename__ = "business_feedback_areas"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "code"), sa.UniqueConstraint("tenant_id", "name"))

    code: so.Mapped[str] = so.mapped_column(sa.String(32))
    name: so.Mapped[str] = so.mapped_column(sa.String(40))
    active: so.Mapped[bool] = so.mapped_column(default=True)
    position: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)


class Supervisor(TenantScoped, Base):
    """One appointment of a person as a supervisor: a term, and how it ended. A person reappointed in a later
    batch has a row per term, so the history shows who was a supervisor when."""

    __tablename__ = "business_feedback_supervisors"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "certificate_no"),
        _users_fk("user_id"), _units_fk("area_unit_id"), _fk("kind_id", "business_feedback_supervisor_kinds"),
        sa.CheckConstraint(_in("source_group", SOURCE_GROUPS), name="source_group"),
        sa.CheckConstraint("term_end >= term_start", name="term"),
        sa.Index("ix_business_feedback_supervisors_user", "tenant_id", "user_id"),
        sa.Index("ix_business_feedback_supervisors_term_end", "tenant_id", "term_end"),
    )

    user_id: so.Mapped[int]
    kind_id: so.Mapped[int]
    source_group: so.Mapped[str] = so.mapped_column(sa.String(16))
    sector: so.Mapped[str] = so.mapped_column(sa.String(60), default="")
    area_unit_id: so.Mapped[int | None]
    batch: so.Mapped[str] = so.mapped_column(sa.String(40), default="")
    # local days of the district; the last day is inclusive
    term_start: so.Mapped[dt.date]
    term_end: so.Mapped[dt.date]
    dismissed_on: so.Mapped[dt.date | None]
    dismissal_reason: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    certificate_no: so.Mapped[str] = so.mapped_column(sa.String(40))
    reminded_at: so.Mapped[dt.datetime | None]  # the term-expiry reminder went out
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    version: so.Mapped[int] = so.mapped_column(sa.Integer, default=1)

    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012


class Enterprise(TenantScoped, Base):
    """An enterprise the district's items are about; one per credit code in a district."""

    __tablename__ = "business_feedback_enterprises"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "credit_code"), _units_fk("area_unit_id"),
                      sa.Index("ix_business_feedback_enterprises_name", "tenant_id", "name"))

    name: so.Mapped[str] = so.mapped_column(sa.String(100))
    credit_code: so.Mapped[str] = so.mapped_column(sa.String(18))
    sector: so.Mapped[str] = so.mapped_column(sa.String(60), default="")
    area_unit_id: so.Mapped[int | None]
    contact_name: so.Mapped[str] = so.mapped_column(sa.String(60), default="")
    contact_phone: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)


class FeedbackItem(TenantScoped, Base):
    """A supervisor's feedback: what, about whom, and where it stands."""

    __tablename__ = "business_feedback_items"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "number"),
        _fk("area_id", "business_feedback_areas"), _fk("enterprise_id", "business_feedback_enterprises"),
        _fk("supervisor_id", "business_feedback_supervisors"), _fk("merged_into_id", "business_feedback_items"),
        _users_fk("submitted_by_id"), _fk("visit_id", "business_feedback_visits"),
        sa.CheckConstraint(_in("state", STATES), name="state"),
        sa.CheckConstraint(_in("kind", KINDS), name="kind"),
        sa.CheckConstraint(_in("urgency", URGENCIES), name="urgency"),
        sa.CheckConstraint("rating IS NULL OR " + _in("rating", RATINGS), name="rating"),
        sa.Index("ix_business_feedback_items_state", "tenant_id", "state", "id"),
        sa.Index("ix_business_feedback_items_supervisor", "tenant_id", "supervisor_id", "id"),
        sa.Index("ix_business_feedback_items_enterprise", "tenant_id", "enterprise_id", "id"),
        sa.Index("ix_business_feedback_items_visit", "tenant_id", "visit_id"),
        sa.CheckConstraint("supervisor_id IS NOT NULL OR visit_id IS NOT NULL", name="source"),
    )

    number: so.Mapped[str] = so.mapped_column(sa.String(32))
    kind: so.Mapped[str] = so.mapped_column(sa.String(16))
    area_id: so.Mapped[int]
    enterprise_id: so.Mapped[int | None]
    supervisor_id: so.Mapped[int | None]  # None for a problem a cadre found on an enterprise visit
    visit_id: so.Mapped[int | None]
    submitted_by_id: so.Mapped[int]
    description: so.Mapped[str] = so.mapped_column(sa.Text)
    urgency: so.Mapped[str] = so.mapped_column(sa.String(8), default="normal")
    # may the departments see who sent it? when not, no page, answer, notice or timeline of theirs names them
    show_name: so.Mapped[bool] = so.mapped_column(default=False)
    state: so.Mapped[str] = so.mapped_column(sa.String(16), default="submitted")
    deadline_days: so.Mapped[int | None] = so.mapped_column(sa.Integer)
    merged_into_id: so.Mapped[int | None]
    returned: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)  # sent back after 不满意 (once)
    rating: so.Mapped[str | None] = so.mapped_column(sa.String(16))
    rating_comment: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    updated_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow, onupdate=utcnow)
    closed_at: so.Mapped[dt.datetime | None]
    version: so.Mapped[int] = so.mapped_column(sa.Integer, default=1)

    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012


class Assignment(TenantScoped, Base):
    """An item at one department: its deadline, its answer and its 督办 level."""

    __tablename__ = "business_feedback_assignments"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "item_id", "department_id"),
        _fk("item_id", "business_feedback_items"), _units_fk("department_id"), _users_fk("answered_by_id"),
        sa.CheckConstraint("overdue_level BETWEEN 0 AND 3", name="overdue_level"),
        sa.Index("ix_business_feedback_assignments_department", "tenant_id", "department_id", "item_id"),
        sa.Index("ix_business_feedback_assignments_deadline", "tenant_id", "deadline_at"),
    )

    item_id: so.Mapped[int]
    department_id: so.Mapped[int]
    deadline_at: so.Mapped[dt.datetime]
    answer: so.Mapped[str | None] = so.mapped_column(sa.Text)
    answered_at: so.Mapped[dt.datetime | None]
    answered_by_id: so.Mapped[int | None]
    answered_on_time: so.Mapped[bool | None]
    overdue_level: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)


class Supervision(TenantScoped, Base):
    """督办: one level reached by one overdue assignment, with its document number (once per level and round:
    an item sent back after 不满意 starts its deadlines, and its levels, again)."""

    __tablename__ = "business_feedback_supervisions"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "assignment_id", "round", "level"),
        sa.UniqueConstraint("tenant_id", "document_no"),
        _fk("item_id", "business_feedback_items"), _fk("assignment_id", "business_feedback_assignments"),
        _units_fk("department_id"),
        sa.CheckConstraint("level BETWEEN 1 AND 3", name="level"),
        sa.Index("ix_business_feedback_supervisions_department", "tenant_id", "department_id"),
    )

    item_id: so.Mapped[int]
    assignment_id: so.Mapped[int]
    department_id: so.Mapped[int]
    round: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)  # the item's `returned` when it was raised
    level: so.Mapped[int] = so.mapped_column(sa.Integer)
    document_no: so.Mapped[str] = so.mapped_column(sa.String(40))
    at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)


class Coordination(TenantScoped, Base):
    """协商处理: a meeting of the departments of one item, with participants and outcome."""

    __tablename__ = "business_feedback_coordinations"
    __table_args__ = (_fk("item_id", "business_feedback_items"), _users_fk("recorded_by_id"),
                      sa.Index("ix_business_feedback_coordinations_item", "tenant_id", "item_id"))

    item_id: so.Mapped[int]
    held_on: so.Mapped[dt.date]
    participants: so.Mapped[str] = so.mapped_column(sa.String(500))
    outcome: so.Mapped[str] = so.mapped_column(sa.Text)
    recorded_by_id: so.Mapped[int | None]
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)


class FeedbackEvent(TenantScoped, Base):
    """One line of an item's timeline. `by_supervisor` marks the supervisor's own steps, whose name the
    timeline hides from the departments when the item does not show it."""

    __tablename__ = "business_feedback_events"
    __table_args__ = (_fk("item_id", "business_feedback_items"),
                      sa.Index("ix_business_feedback_events_item", "tenant_id", "item_id", "id"))

    item_id: so.Mapped[int]
    at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    actor_id: so.Mapped[int | None]
    actor_name: so.Mapped[str] = so.mapped_column(sa.String(80), default="")
    actor_role: so.Mapped[str] = so.mapped_column(sa.String(40), default="")
    by_supervisor: so.Mapped[bool] = so.mapped_column(default=False)
    action: so.Mapped[str] = so.mapped_column(sa.String(32))
    from_state: so.Mapped[str | None] = so.mapped_column(sa.String(16))
    to_state: so.Mapped[str | None] = so.mapped_column(sa.String(16))
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    data: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)


class Counter(TenantScoped, Base):
    """The last number given out of one of the district's series in one year (items, certificates, 督办)."""

    __tablename__ = "business_feedback_counters"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "series", "year"),)

    series: so.Mapped[str] = so.mapped_column(sa.String(16))
    year: so.Mapped[int] = so.mapped_column(sa.Integer)
    last: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)


class EnterpriseCadre(TenantScoped, Base):
    """万人助万企: the cadre who helps one enterprise (one cadre per enterprise; a cadre may help several)."""

    __tablename__ = "business_feedback_enterprise_cadres"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "enterprise_id"),
        _fk("enterprise_id", "business_feedback_enterprises"), _users_fk("user_id"), _users_fk("assigned_by_id"),
        sa.Index("ix_business_feedback_enterprise_cadres_user", "tenant_id", "user_id"),
    )

    enterprise_id: so.Mapped[int]
    user_id: so.Mapped[int]
    assigned_by_id: so.Mapped[int | None]
    assigned_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)


class Visit(TenantScoped, Base):
    """One visit to an enterprise: when, who went, what was found (each problem a feedback item with this
    visit) and what came of it, with figures."""

    __tablename__ = "business_feedback_visits"
    __table_args__ = (
        _fk("enterprise_id", "business_feedback_enterprises"), _users_fk("cadre_id"),
        sa.CheckConstraint("loans_yuan >= 0 AND workers_recruited >= 0 AND approvals_unblocked >= 0",
                           name="figures"),
        sa.Index("ix_business_feedback_visits_enterprise", "tenant_id", "enterprise_id", "visited_on"),
        sa.Index("ix_business_feedback_visits_day", "tenant_id", "visited_on"),
    )

    enterprise_id: so.Mapped[int]
    cadre_id: so.Mapped[int]  # who logged it
    visited_on: so.Mapped[dt.date]
    visitors: so.Mapped[str] = so.mapped_column(sa.String(200))
    findings: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    outcome: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    loans_yuan: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    workers_recruited: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    approvals_unblocked: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
