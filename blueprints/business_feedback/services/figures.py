"""Per-department figures of business feedback: what a department received, answered (on time), how fast in
working days, how the supervisors rated it and how often it was under 督办. The statistics page shows them and
the cadre evaluation module reads them for its departmental channel (`department_figures`).

The figures are of a cohort: the assignments a department received (the item's acceptance, local day of the
district) between `since` and `until`, both inclusive; what happened to them later counts, whenever it happened.

- `answered`, `answered_on_time`: the department's current answer (an item sent back after 不满意 is answered
  again, and that answer counts, against its new deadline).
- `average_answer_days`: working days on the district's calendar from the day it reached the department (its
  acceptance, or its return after 不满意) to the day of the answer; the day of receipt does not count.
- ratings: every rating given to an item of the department, the 不满意 that sent an item back included, so an
  item rated 不满意 and then 满意 counts once in each; `satisfied_share` is (满意 + 基本满意) / ratings.
- `supervisions`: 督办 levels reached by the department's assignments (提醒, 督办, 挂牌督办).

Six statements whatever the number of items and departments (fewer when the session read the district or
its calendar before): the district (its time zone), its calendar's overrides, the departments' names, one
aggregate per department, the pairs of (day received, day answered) per department, and the 督办 levels.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from blueprints.business_feedback.models import Assignment, FeedbackEvent, FeedbackItem, Supervision
from saas import workdays
from tenants.models import OrgUnit, Tenant


@dataclasses.dataclass(frozen=True)
class DepartmentFigures:
    department_id: int
    name: str
    received: int = 0
    answered: int = 0
    answered_on_time: int = 0
    average_answer_days: float | None = None  # working days; None when nothing was answered
    satisfied: int = 0  # 满意
    basically_satisfied: int = 0  # 基本满意
    unsatisfied: int = 0  # 不满意
    supervisions: tuple[int, int, int] = (0, 0, 0)  # 督办 by level: 提醒, 督办, 挂牌督办

    @property
    def on_time_share(self) -> float | None:
        return self.answered_on_time / self.answered if self.answered else None

    @property
    def ratings(self) -> int:
        return self.satisfied + self.basically_satisfied + self.unsatisfied

    @property
    def satisfied_share(self) -> float | None:
        return (self.satisfied + self.basically_satisfied) / self.ratings if self.ratings else None

    @property
    def supervised(self) -> int:
        return sum(self.supervisions)

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "supervisions": list(self.supervisions),
                "on_time_share": self.on_time_share, "ratings": self.ratings,
                "satisfied_share": self.satisfied_share, "supervised": self.supervised}


def _local_day(session: so.Session, column: Any, zone: ZoneInfo) -> Any:
    """The local day of a moment, in SQL. SQLite (the tests' second backend) knows no time zones: it shifts by the
    zone's offset of today, which is exact for the districts' zones (China has no daylight saving)."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.date(sa.func.timezone(zone.key, column))
    offset = dt.datetime.now(zone).utcoffset() or dt.timedelta()
    return sa.func.date(column, f"{int(offset.total_seconds()) // 60:+d} minutes")


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _local_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)


def department_figures(session: so.Session, unit_ids: Iterable[int] | None = None, since: dt.date | None = None,
                       until: dt.date | None = None, *, tenant: Tenant | None = None) -> dict[int, DepartmentFigures]:
    """Figures of each department (`unit_ids`, or every department of the district), keyed by its id; a
    department without items has zeros. The session must be bound to the district (`tenant`, when the caller
    has it at hand, saves reading it)."""
    if tenant is None:
        tenant = session.scalars(sa.select(Tenant).where(Tenant.id == session.info["tenant_id"])).first()
    if tenant is None:  # pragma: no cover - the session's tenant exists while it is bound to it
        raise ValueError("the session is bound to no district")
    cal = workdays.calendar_for(session, tenant)
    zone = ZoneInfo(tenant.timezone or workdays.DEFAULT_TIMEZONE)

    units = sa.select(OrgUnit.id, OrgUnit.name)
    if unit_ids is None:
        units = units.where(OrgUnit.kind == "department")
    else:
        wanted = sorted(set(unit_ids))
        if not wanted:
            return {}
        units = units.where(OrgUnit.id.in_(wanted))
    names = dict(session.execute(units.order_by(OrgUnit.name, OrgUnit.id)).all())
    if not names:
        return {}

    # when each item reached its departments: its acceptance, and its return after 不满意 (at most once)
    starts = (sa.select(FeedbackEvent.item_id,
                        sa.func.min(FeedbackEvent.at).filter(FeedbackEvent.action == "accept").label("accepted_at"),
                        sa.func.max(FeedbackEvent.at).filter(FeedbackEvent.action == "return").label("returned_at"))
              .where(FeedbackEvent.action.in_(("accept", "return"))).group_by(FeedbackEvent.item_id)
              .subquery("starts"))
    cohort: list[sa.ColumnElement[bool]] = [Assignment.department_id.in_(list(names))]
    if since is not None:
        cohort.append(starts.c.accepted_at >= _local_midnight(since, zone))
    if until is not None:
        cohort.append(starts.c.accepted_at < _local_midnight(until + dt.timedelta(days=1), zone))

    def base(*columns: Any) -> sa.Select[Any]:
        return (sa.select(*columns).select_from(Assignment)
                .join(FeedbackItem, sa.and_(FeedbackItem.tenant_id == Assignment.tenant_id,
                                            FeedbackItem.id == Assignment.item_id))
                .join(starts, starts.c.item_id == Assignment.item_id).where(*cohort))

    answered = Assignment.answered_at.is_not(None)
    count = sa.func.count
    totals = {row.department_id: row for row in session.execute(base(
        Assignment.department_id, count().label("received"), count().filter(answered).label("answered"),
        count().filter(Assignment.answered_on_time.is_(True)).label("on_time"),
        count().filter(FeedbackItem.rating == "satisfied").label("satisfied"),
        count().filter(FeedbackItem.rating == "basically").label("basically"),
        count().filter(FeedbackItem.rating == "unsatisfied").label("unsatisfied"),
        sa.func.coalesce(sa.func.sum(FeedbackItem.returned), 0).label("returned"),
    ).group_by(Assignment.department_id))}

    # working days from the day received to the day answered, counted once per distinct pair of days
    start_at = sa.case((FeedbackItem.returned > 0, starts.c.returned_at), else_=starts.c.accepted_at)
    start_day = _local_day(session, start_at, zone).label("start")
    end_day = _local_day(session, Assignment.answered_at, zone).label("end")
    pairs = session.execute(base(Assignment.department_id, start_day, end_day, count().label("n"))
                            .where(answered).group_by(Assignment.department_id, start_day, end_day)).all()
    days: dict[int, int] = {}
    for department_id, start, end, n in pairs:
        days[department_id] = days.get(department_id, 0) + cal.working_days_between(_day(start), _day(end)) * n

    levels: dict[int, list[int]] = {}
    for department_id, level, n in session.execute(
            sa.select(Supervision.department_id, Supervision.level, count())
            .join(Assignment, sa.and_(Assignment.tenant_id == Supervision.tenant_id,
                                      Assignment.id == Supervision.assignment_id))
            .join(starts, starts.c.item_id == Supervision.item_id).where(*cohort)
            .group_by(Supervision.department_id, Supervision.level)):
        levels.setdefault(department_id, [0, 0, 0])[level - 1] = n

    out: dict[int, DepartmentFigures] = {}
    for department_id, name in names.items():
        row = totals.get(department_id)
        if row is None:
            out[department_id] = DepartmentFigures(department_id, name)
            continue
        out[department_id] = DepartmentFigures(
            department_id, name, received=row.received, answered=row.answered, answered_on_time=row.on_time,
            average_answer_days=days.get(department_id, 0) / row.answered if row.answered else None,
            satisfied=row.satisfied, basically_satisfied=row.basically,
            unsatisfied=row.unsatisfied + int(row.returned),
            supervisions=tuple(levels.get(department_id, (0, 0, 0))))  # type: ignore[arg-type]
    return out
