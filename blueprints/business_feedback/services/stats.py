"""Statistics of business feedback over a period of the district's local days: per supervisor, per department
(`figures.department_figures`), per business area and month; the page, its XLSX file and the API share them.

- Per supervisor (every term on the roster): items submitted in the period, of them accepted by the office
  (routed to departments), suggestions adopted (意见建议 accepted), and the last activity (their latest own step
  in any item's timeline: a submission or a rating, whenever it was).
- Per department: the cohort of assignments received in the period (see `figures`).
- Per business area and month: items submitted, by the local month of their submission.
- Enterprise visits (万人助万企) of the period and their outcomes (`visits.visit_figures`).

A fixed number of statements whatever the number of items, supervisors, departments or areas.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from blueprints.business_feedback.models import (
    BusinessArea,
    FeedbackEvent,
    FeedbackItem,
    Supervisor,
    SupervisorKind,
)
from blueprints.business_feedback.services.base import Actor, Refused, ServiceError
from blueprints.business_feedback.services.figures import DepartmentFigures, department_figures
from blueprints.business_feedback.services.visits import VisitFigures, visit_figures

__all__ = ["Period", "Refused", "ServiceError", "Stats", "VisitFigures", "feedback_stats", "stats_out",
           "stats_workbook"]
from saas import exports, workdays
from saas.db import utcnow
from tenants.models import Tenant, User

DEFAULT_MONTHS = 12  # this month and the 11 before it
MAX_MONTHS = 36
FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2100, 12, 31)
ACCEPTED = ("assigned", "answered", "rated", "closed")


@dataclasses.dataclass(frozen=True)
class Period:
    since: dt.date
    until: dt.date
    zone: ZoneInfo
    months: tuple[str, ...]  # "2026-11", in order

    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.since, dt.time(), self.zone).astimezone(dt.UTC)

    def end(self) -> dt.datetime:
        return dt.datetime.combine(self.until + dt.timedelta(days=1), dt.time(), self.zone).astimezone(dt.UTC)


@dataclasses.dataclass(frozen=True)
class SupervisorFigures:
    supervisor_id: int
    name: str
    kind: str
    batch: str
    submitted: int
    accepted: int
    adopted_suggestions: int
    last_activity: dt.datetime | None


@dataclasses.dataclass(frozen=True)
class AreaFigures:
    area_id: int
    name: str
    by_month: tuple[int, ...]  # in the period's months' order

    @property
    def total(self) -> int:
        return sum(self.by_month)


@dataclasses.dataclass(frozen=True)
class Stats:
    period: Period
    supervisors: list[SupervisorFigures]
    departments: list[DepartmentFigures]
    areas: list[AreaFigures]
    visits: VisitFigures

    @property
    def submitted(self) -> int:
        return sum(a.total for a in self.areas)

    @property
    def by_month(self) -> list[int]:
        return [sum(a.by_month[i] for a in self.areas) for i in range(len(self.period.months))]


def _month(day: dt.date, back: int = 0) -> dt.date:
    n = day.year * 12 + day.month - 1 - back
    return dt.date(n // 12, n % 12 + 1, 1)


def period_for(tz: str, since: dt.date | None = None, until: dt.date | None = None,
               now: dt.datetime | None = None) -> Period:
    """The period asked for; by default this month and the 11 before, up to today (local days). Refuses, by
    field, days outside 2000-2100, an end before the start and more than 36 months."""
    zone = ZoneInfo(tz)
    for name, day in (("since", since), ("until", until)):
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise ServiceError({name: _("Choose a day between %(first)s and %(last)s.",
                                        first=FIRST_DAY.isoformat(), last=LAST_DAY.isoformat())})
    today = (now or utcnow()).astimezone(zone).date()
    until = until or (max(today, since) if since else today)
    since = since or _month(until, DEFAULT_MONTHS - 1)
    if until < since:
        raise ServiceError({"until": _("The end of the period comes before its start.")})
    first, last = _month(since), _month(until)
    count = (last.year - first.year) * 12 + last.month - first.month + 1
    if count > MAX_MONTHS:
        raise ServiceError({"since": _("Choose a period of at most %(n)s months.", n=MAX_MONTHS)})
    return Period(since, until, zone, tuple(f"{_month(last, b):%Y-%m}" for b in reversed(range(count))))


def local_month(session: so.Session, column: Any, zone: ZoneInfo) -> Any:
    """"2026-11": the local month of a moment, in SQL (SQLite shifts by the zone's offset of today)."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.to_char(sa.func.timezone(zone.key, column), "YYYY-MM")
    offset = dt.datetime.now(zone).utcoffset() or dt.timedelta()
    return sa.func.strftime("%Y-%m", column, f"{int(offset.total_seconds()) // 60:+d} minutes")


def may_see(actor: Actor) -> None:
    if not actor.may("business_feedback.stats"):
        raise Refused(_("Only the business-environment office and the discipline commission see the statistics."),
                      403)


def feedback_stats(session: so.Session, tenant: Tenant, actor: Actor, since: dt.date | None = None,
                   until: dt.date | None = None, now: dt.datetime | None = None) -> Stats:
    may_see(actor)
    period = period_for(tenant.timezone or workdays.DEFAULT_TIMEZONE, since, until, now)
    in_period = sa.and_(FeedbackItem.created_at >= period.start(), FeedbackItem.created_at < period.end())
    count = sa.func.count

    per_sup = {row.supervisor_id: row for row in session.execute(
        sa.select(FeedbackItem.supervisor_id, count().label("submitted"),
                  count().filter(FeedbackItem.state.in_(ACCEPTED)).label("accepted"),
                  count().filter(FeedbackItem.state.in_(ACCEPTED), FeedbackItem.kind == "suggestion")
                  .label("adopted"))
        .where(in_period).group_by(FeedbackItem.supervisor_id))}
    last = dict(session.execute(sa.select(FeedbackEvent.actor_id, sa.func.max(FeedbackEvent.at))
                                .where(FeedbackEvent.by_supervisor.is_(True)).group_by(FeedbackEvent.actor_id)).all())
    supervisors = []
    for sup, name, kind in session.execute(
            sa.select(Supervisor, User.name, SupervisorKind.name)
            .join(User, sa.and_(User.tenant_id == Supervisor.tenant_id, User.id == Supervisor.user_id))
            .join(SupervisorKind, sa.and_(SupervisorKind.tenant_id == Supervisor.tenant_id,
                                          SupervisorKind.id == Supervisor.kind_id))
            .order_by(Supervisor.term_start.desc(), Supervisor.id)):
        row = per_sup.get(sup.id)
        supervisors.append(SupervisorFigures(sup.id, name, kind, sup.batch, row.submitted if row else 0,
                                             row.accepted if row else 0, row.adopted if row else 0,
                                             last.get(sup.user_id)))
    supervisors.sort(key=lambda s: (-s.submitted, s.name))

    month = local_month(session, FeedbackItem.created_at, period.zone)
    cells: dict[int, dict[str, int]] = {}
    for area_id, m, n in session.execute(sa.select(FeedbackItem.area_id, month, count()).where(in_period)
                                         .group_by(FeedbackItem.area_id, month)):
        cells.setdefault(area_id, {})[m] = n
    areas = [AreaFigures(a.id, a.name, tuple(cells.get(a.id, {}).get(m, 0) for m in period.months))
             for a in session.scalars(sa.select(BusinessArea).order_by(BusinessArea.position, BusinessArea.id))
             if a.active or a.id in cells]
    departments = sorted(department_figures(session, None, period.since, period.until, tenant=tenant).values(),
                         key=lambda d: (-d.received, d.name))
    return Stats(period, supervisors, departments, areas, visit_figures(session, period.since, period.until))


def stats_out(stats: Stats) -> dict[str, Any]:
    """The statistics as the API sends them."""
    return {
        "since": stats.period.since, "until": stats.period.until, "months": list(stats.period.months),
        "submitted": stats.submitted, "by_month": stats.by_month,
        "supervisors": [{**dataclasses.asdict(s), "supervisor_id": str(s.supervisor_id)} for s in stats.supervisors],
        "departments": [{**d.as_dict(), "department_id": str(d.department_id)} for d in stats.departments],
        "areas": [{"area_id": str(a.area_id), "name": a.name, "by_month": list(a.by_month), "total": a.total}
                  for a in stats.areas],
        "visits": dataclasses.asdict(stats.visits),
    }


def stats_workbook(tenant: Tenant, stats: Stats) -> bytes:
    """The statistics as an XLSX file through the kernel's export writer: a sheet per table."""
    book = exports.ExportBook(tenant.timezone or workdays.DEFAULT_TIMEZONE)
    sheet = book.sheet(_("Supervisors"), [
        exports.Column("name", _l("Supervisor"), 16), exports.Column("kind", _l("Kind"), 14),
        exports.Column("batch", _l("Batch"), 10), exports.Column("submitted", _l("Submitted"), 10),
        exports.Column("accepted", _l("Accepted"), 10),
        exports.Column("adopted_suggestions", _l("Suggestions adopted"), 12),
        exports.Column("last_activity", _l("Last activity"), 18, number_format=exports.DATE_FORMAT)])
    sheet.extend(dataclasses.asdict(s) for s in stats.supervisors)
    sheet = book.sheet(_("Departments"), [
        exports.Column("name", _l("Department"), 18), exports.Column("received", _l("Received"), 10),
        exports.Column("answered", _l("Answered"), 10), exports.Column("answered_on_time", _l("On time"), 10),
        exports.Column("on_time_share", _l("Share on time"), 12, number_format=exports.PERCENT_FORMAT),
        exports.Column("average_answer_days", _l("Average working days to answer"), 14, number_format="0.0"),
        exports.Column("satisfied", _l("Satisfied"), 10),
        exports.Column("basically_satisfied", _l("Basically satisfied"), 12),
        exports.Column("unsatisfied", _l("Not satisfied"), 10),
        exports.Column("satisfied_share", _l("Share satisfied"), 12, number_format=exports.PERCENT_FORMAT),
        exports.Column("level1", _l("Reminder (提醒)"), 10), exports.Column("level2", _l("Supervision (督办)"), 10),
        exports.Column("level3", _l("Listed supervision (挂牌督办)"), 12)])
    sheet.extend({**d.as_dict(), "level1": d.supervisions[0], "level2": d.supervisions[1],
                  "level3": d.supervisions[2]} for d in stats.departments)
    sheet = book.sheet(_("Business areas by month"), [_("Business area"), *stats.period.months, _("Total")],
                       [18, *[9] * len(stats.period.months), 9])
    sheet.extend([a.name, *a.by_month, a.total] for a in stats.areas)
    sheet.append([_("Total"), *stats.by_month, stats.submitted])
    sheet = book.sheet(_("Enterprise visits"), [
        exports.Column("visits", _l("Visits"), 10), exports.Column("enterprises", _l("Enterprises visited"), 12),
        exports.Column("problems", _l("Problems raised"), 12), exports.Column("solved", _l("Of them closed"), 12),
        exports.Column("loans_yuan", _l("Loans arranged (yuan)"), 16),
        exports.Column("workers_recruited", _l("Workers recruited"), 12),
        exports.Column("approvals_unblocked", _l("Approvals unblocked"), 12)])
    sheet.append(dataclasses.asdict(stats.visits))
    return book.save()
