"""Statistics of grid cases: headline figures, their breakdowns and the grid workers' activity.

The figures describe the cases *reported in the period* (local days in the district's time zone) and their
state now, so every rate stays between 0 and 1 and a month's row tells what became of that month's reports:

- reported: every case of the period; accepted: past an acceptance (every state but "reported" and
  "rejected": an escalated case was accepted at the level below before it went up, see TRANSITIONS);
  rejected; closed (closed or rated);
- overdue: an open case past its current step's deadline, or a case resolved after its handling deadline
  (`resolved_on_time` false); both parts are counted apart as well;
- on-time rate: resolved on time among resolved; satisfaction rate: satisfied or basically satisfied among
  rated (石峰区's 好差评 counts both as good).

Every figure stays inside `cases.scope` (what the actor may see), narrowed to an area the actor chooses.
The cost does not grow with the cases beyond one pass over them: one statement groups the period's cases by
area (street, community, grid), department, category, month and finder at once (GROUPING SETS on
PostgreSQL, a UNION ALL over one CTE on SQLite); names come in one query per kind; the people and their
quick notes in one query each. At a million cases of one district over three years that statement took
0.7 s here for the default 13 months (350,000 cases) and 2 s for 36 months, in one pass over the rows.
No request globals: the pages, the API and the exports call the same function.
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

from blueprints.grid_cases.models import NOTE_KINDS, OPEN_STATES, CaseCategory, GridCase, QuickNote
from blueprints.grid_cases.services.base import Actor, Refused, ServiceError, roles_with, unit_names
from blueprints.grid_cases.services.cases import scope
from saas.db import utcnow
from tenants.models import OrgUnit, RoleGrant, Tenant, User

# what a figure counts (see the module's docstring); the order is the tables' and the API's
FIGURES = ("reported", "accepted", "rejected", "closed", "overdue", "overdue_open", "resolved_late", "resolved",
           "on_time", "rated", "good")
# own msgids, not the state labels': a count reads differently from a state (上报数, not 已上报)
FIGURE_LABELS = {
    "reported": _l("Cases reported"),
    "accepted": _l("Cases accepted"),
    "rejected": _l("Cases not accepted"),
    "closed": _l("Cases closed"),
    "overdue": _l("Overdue cases"),
    "overdue_open": _l("Open and overdue"),
    "resolved_late": _l("Resolved late"),
    "resolved": _l("Cases resolved"),
    "on_time": _l("Resolved on time"),
    "rated": _l("Cases rated"),
    "good": _l("Satisfied or basically satisfied"),
    "on_time_rate": _l("On-time rate"),
    "satisfaction_rate": _l("Satisfaction rate"),
}
BREAKDOWNS = ("street", "community", "grid", "department", "category", "month")
BREAKDOWN_LABELS = {
    "street": _l("By street"), "community": _l("By community"), "grid": _l("By grid"),
    "department": _l("By department"), "category": _l("By category"), "month": _l("By month"),
}
# the row of cases that have no unit of that kind (located higher up, or never dispatched)
NONE_LABELS = {
    "street": _l("No street (district level)"), "community": _l("No community (street level)"),
    "grid": _l("No grid (community level or above)"), "department": _l("Not dispatched"),
    "category": _l("Unknown category"),
}
AREA_KINDS = ("district", "street", "community", "grid")
# what a grid worker finds: reported on patrol, or a quick note turned into a case
FOUND_SOURCES = ("patrol", "note")
DEFAULT_MONTHS = 13  # this month and the 12 before it
MAX_MONTHS = 36
FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2100, 12, 31)


@dataclasses.dataclass
class Figures:
    reported: int = 0
    accepted: int = 0
    rejected: int = 0
    closed: int = 0
    overdue: int = 0
    overdue_open: int = 0
    resolved_late: int = 0
    resolved: int = 0
    on_time: int = 0
    rated: int = 0
    good: int = 0

    def add(self, other: Figures) -> None:
        for name in FIGURES:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.resolved if self.resolved else None

    @property
    def satisfaction_rate(self) -> float | None:
        return self.good / self.rated if self.rated else None

    def as_dict(self) -> dict[str, Any]:
        return {**{name: getattr(self, name) for name in FIGURES}, "on_time_rate": self.on_time_rate,
                "satisfaction_rate": self.satisfaction_rate}


@dataclasses.dataclass
class Row:
    """One line of a breakdown: a unit, a category or a month, with its figures."""

    key: int | None
    code: str | None
    name: str
    figures: Figures


@dataclasses.dataclass
class WorkerRow:
    """A grid worker (or grid leader) of the area: their quick notes by kind and the cases they found."""

    user_id: int
    name: str
    grids: list[str]
    notes: dict[str, int]
    found: int = 0

    @property
    def notes_total(self) -> int:
        return sum(self.notes.values())


@dataclasses.dataclass(frozen=True)
class Period:
    """Local days `since` to `until` (both included) and their bounds in UTC, cut into calendar months."""

    since: dt.date
    until: dt.date
    tz: ZoneInfo
    months: tuple[dt.date, ...]  # the first day of each month the period touches

    @property
    def start(self) -> dt.datetime:
        return _local_midnight(self.since, self.tz)

    @property
    def end(self) -> dt.datetime:
        return _local_midnight(self.until + dt.timedelta(days=1), self.tz)

    def month_bounds(self) -> list[dt.datetime]:
        """Where each month after the first begins, in UTC: the CASE that puts a case into its month."""
        return [_local_midnight(m, self.tz) for m in self.months[1:]]

    @property
    def month_labels(self) -> list[str]:
        return [f"{m:%Y-%m}" for m in self.months]


@dataclasses.dataclass
class Stats:
    period: Period
    area: OrgUnit | None
    totals: Figures
    breakdowns: dict[str, list[Row]]
    workers: list[WorkerRow]
    generated_at: dt.datetime


def _local_midnight(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tz).astimezone(dt.UTC)


def _month_start(day: dt.date, back: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


def _months(since: dt.date, until: dt.date) -> tuple[dt.date, ...]:
    first, last = _month_start(since), _month_start(until)
    count = (last.year - first.year) * 12 + last.month - first.month + 1
    return tuple(_month_start(last, back) for back in reversed(range(count)))


def period_for(tz: ZoneInfo | str, since: dt.date | None = None, until: dt.date | None = None,
               now: dt.datetime | None = None, *, months: int = DEFAULT_MONTHS) -> Period:
    """The period asked for; by default this month and the 12 before it, up to today (local days).

    Refuses, by field, an end before the start, a period of more than 36 months and days outside 2000-2100."""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    today = (now or utcnow()).astimezone(zone).date()
    errors: dict[str, str] = {}
    for name, day in (("since", since), ("until", until)):
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            errors[name] = _("Choose a day between %(first)s and %(last)s.", first=FIRST_DAY.isoformat(),
                             last=LAST_DAY.isoformat())
    if errors:
        raise ServiceError(errors)
    until = until or (max(today, since) if since else today)
    since = since or _month_start(until, months - 1)
    if until < since:
        raise ServiceError({"until": _("The end of the period comes before its start.")})
    covered = _months(since, until)
    if len(covered) > MAX_MONTHS:
        raise ServiceError({"since": _("Choose a period of at most %(n)s months.", n=MAX_MONTHS)})
    return Period(since, until, zone, covered)


def area_units(session: so.Session, actor: Actor) -> list[OrgUnit]:
    """The streets, communities and grids the actor may look at statistics of (their own units first)."""
    mine = [u for u in actor.units("grid_cases.stats") if u.kind in AREA_KINDS]
    if not mine:
        return []
    return list(session.scalars(sa.select(OrgUnit).where(
        OrgUnit.kind.in_(AREA_KINDS), sa.or_(*[OrgUnit.path.startswith(u.path) for u in mine]))
        .order_by(OrgUnit.path).limit(2000)))


def _area(session: so.Session, actor: Actor, code: str | None) -> OrgUnit | None:
    """The street, community or grid named by `code`, inside the actor's own units; None for all of them."""
    if not code:
        return None
    unit = session.scalars(sa.select(OrgUnit).where(OrgUnit.code == code)).first()
    if unit is None or unit.kind not in AREA_KINDS:
        raise ServiceError({"area": _("No street, community or grid has this code.")})
    if not actor.may("grid_cases.stats", unit):
        raise ServiceError({"area": _("Choose a street, community or grid of your own area.")})
    return None if unit.kind == "district" else unit


def _flag(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.case((condition, 1), else_=0)


def _cases(actor: Actor, session: so.Session, period: Period, area: OrgUnit | None,
           now: dt.datetime) -> sa.Select[Any]:
    """The period's cases inside the actor's scope and the area: their keys and a 0/1 column per figure.

    Used as a subquery, so the grouping above names plain columns (the month CASE carries bound parameters,
    which PostgreSQL would not match between the select list and GROUPING SETS)."""
    bounds = period.month_bounds()
    month = sa.case(*[(GridCase.created_at < b, i) for i, b in enumerate(bounds)], else_=len(bounds)) \
        if bounds else sa.literal(0)
    open_late = sa.and_(GridCase.state.in_(OPEN_STATES), GridCase.deadline_at < now)
    late = GridCase.resolved_on_time == sa.false()
    q = sa.select(
        GridCase.street_id.label("street_id"), GridCase.community_id.label("community_id"),
        GridCase.grid_id.label("grid_id"), GridCase.department_id.label("department_id"),
        GridCase.category_id.label("category_id"), month.label("month"),
        sa.case((GridCase.source.in_(FOUND_SOURCES), GridCase.reported_by_id), else_=sa.null()).label("finder"),
        _flag(GridCase.state.not_in(("reported", "rejected"))).label("accepted"),
        _flag(GridCase.state == "rejected").label("rejected"),
        _flag(GridCase.state.in_(("closed", "rated"))).label("closed"),
        _flag(sa.or_(open_late, late)).label("overdue"),
        _flag(open_late).label("overdue_open"),
        _flag(late).label("resolved_late"),
        _flag(GridCase.resolved_on_time.is_not(None)).label("resolved"),
        _flag(GridCase.resolved_on_time == sa.true()).label("on_time"),
        _flag(GridCase.rating.is_not(None)).label("rated"),
        _flag(GridCase.rating.in_(("satisfied", "basically"))).label("good"),
    ).where(scope(session, actor), GridCase.created_at >= period.start, GridCase.created_at < period.end)
    if area is not None:
        q = q.where(getattr(GridCase, f"{area.kind}_id") == area.id)
    return q


def _sums(c: Any) -> list[sa.ColumnElement[Any]]:
    return [sa.func.count().label("reported"), *[sa.func.coalesce(sa.func.sum(getattr(c, name)), 0).label(name)
                                                 for name in FIGURES if name != "reported"]]


# the groupings of the one statement: (dimension, its key columns); "area" has three, the others one
DIMENSIONS = (("area", ("street_id", "community_id", "grid_id")), ("department", ("department_id",)),
              ("category", ("category_id",)), ("month", ("month",)), ("finder", ("finder",)))
KEY_WIDTH = 3
GROUPING_WORK_MEM = "128MB"


def _grouped(session: so.Session, cases: sa.Select[Any]) -> list[tuple[str, tuple[Any, ...], Figures]]:
    """(dimension, key, figures) for every group of every dimension, in one statement."""
    out = []
    if session.get_bind().dialect.name == "postgresql":
        # for this transaction only. With less memory the planner sorts some groupings instead of hashing them
        # all in one pass (it guesses far more groups than the few thousand there are) and walks an index to
        # have them sorted: 2.2 s instead of 1.0 s at a million cases (docs/performance.md). JIT compiling
        # the statement costs 0.3 s and saves nothing on a plain scan and hash
        session.execute(sa.select(sa.func.set_config("work_mem", GROUPING_WORK_MEM, True),
                                  sa.func.set_config("jit", "off", True)))
        sub = cases.subquery("period_cases")
        keys = [sub.c[name] for _dim, names in DIMENSIONS for name in names]
        # GROUPING(x) is 0 where x is one of the row's grouping columns: it names the row's dimension
        marks = [sa.func.grouping(sub.c[names[0]]) for _dim, names in DIMENSIONS]
        sets = sa.func.grouping_sets(*[sa.tuple_(*[sub.c[n] for n in names]) for _dim, names in DIMENSIONS])
        starts, start = [], 0
        for _dim, names in DIMENSIONS:
            starts.append(start)
            start += len(names)
        for row in session.execute(sa.select(*keys, *marks, *_sums(sub.c)).group_by(sets)):
            values = tuple(row)
            marked = values[len(keys):len(keys) + len(DIMENSIONS)]
            i = marked.index(0)
            dim, names = DIMENSIONS[i]
            out.append((dim, values[starts[i]:starts[i] + len(names)],
                        _figures(values[len(keys) + len(DIMENSIONS):])))
        return out
    # SQLite has no GROUPING SETS: the same groupings as one UNION ALL over the cases as a CTE
    cte = cases.cte("period_cases")
    parts = []
    for dim, names in DIMENSIONS:
        keys = [cte.c[n] for n in names] + [sa.null()] * (KEY_WIDTH - len(names))
        parts.append(sa.select(sa.literal(dim).label("dim"), *[k.label(f"k{i}") for i, k in enumerate(keys)],
                               *_sums(cte.c)).group_by(*[cte.c[n] for n in names]))
    for row in session.execute(sa.union_all(*parts)):
        values = tuple(row)
        size = len(dict(DIMENSIONS)[values[0]])
        out.append((values[0], values[1:1 + size], _figures(values[1 + KEY_WIDTH:])))
    return out


def _figures(values: tuple[Any, ...]) -> Figures:
    return Figures(*(int(v or 0) for v in values))


def _rollup(groups: list[tuple[tuple[Any, ...], Figures]]) -> dict[Any, Figures]:
    out: dict[Any, Figures] = {}
    for key, figures in groups:
        out.setdefault(key, Figures()).add(figures)
    return out


def _ordered(rows: list[Row]) -> list[Row]:
    # the most reported first; the row of cases without such a unit last
    return sorted(rows, key=lambda r: (r.key is None, -r.figures.reported, r.name))


def _area_paths(actor: Actor, area: OrgUnit | None) -> list[str]:
    return [area.path] if area is not None else [u.path for u in actor.units("grid_cases.stats")]


def _in_area(actor: Actor, area: OrgUnit | None) -> sa.ColumnElement[bool]:
    return sa.or_(sa.false(), *[OrgUnit.path.startswith(p) for p in _area_paths(actor, area)])


def _people(actor: Actor, area: OrgUnit | None, *columns: Any) -> sa.Select[Any]:
    """`columns` of everyone who holds a role that reports cases on a grid of the area, one row per grid."""
    roles = roles_with(actor.book, "grid_cases.report", actor.enabled)
    return (sa.select(*columns)
            .join(RoleGrant, sa.and_(RoleGrant.tenant_id == User.tenant_id, RoleGrant.user_id == User.id))
            .join(OrgUnit, sa.and_(OrgUnit.tenant_id == RoleGrant.tenant_id, OrgUnit.id == RoleGrant.org_unit_id))
            .where(RoleGrant.role.in_(roles or [""]), OrgUnit.kind == "grid", User.active.is_(True),
                   _in_area(actor, area)))


def _workers(session: so.Session, actor: Actor, area: OrgUnit | None, period: Period,
             found: dict[Any, Figures]) -> list[WorkerRow]:
    """The area's grid workers with their notes of the period (notes of a grid outside the area do not count)."""
    rows: dict[int, WorkerRow] = {}
    people = _people(actor, area, User.id, User.name, OrgUnit.name).order_by(User.name, User.id, OrgUnit.code)
    for user_id, name, grid_name in session.execute(people):
        row = rows.setdefault(user_id, WorkerRow(user_id, name, [], dict.fromkeys(NOTE_KINDS, 0)))
        if grid_name not in row.grids:
            row.grids.append(grid_name)
    grids = sa.select(OrgUnit.id).where(OrgUnit.kind == "grid", _in_area(actor, area))
    notes = session.execute(
        sa.select(QuickNote.user_id, QuickNote.kind, sa.func.count())
        .where(QuickNote.user_id.in_(_people(actor, area, User.id)),
               QuickNote.created_at >= period.start, QuickNote.created_at < period.end,
               sa.or_(QuickNote.grid_id.is_(None), QuickNote.grid_id.in_(grids)))
        .group_by(QuickNote.user_id, QuickNote.kind))
    for user_id, kind, count in notes:
        if user_id in rows and kind in rows[user_id].notes:
            rows[user_id].notes[kind] = int(count)
    for (user_id,), figures in found.items():
        if user_id in rows:
            rows[user_id].found = figures.reported
    return sorted(rows.values(), key=lambda r: (-r.found, -r.notes_total, r.name, r.user_id))


def case_stats(session: so.Session, tenant: Tenant, actor: Actor, params: dict[str, Any],
               now: dt.datetime | None = None) -> Stats:
    """The statistics over `params` (since, until: local days; area: a unit's code), inside the actor's scope.

    Raises ServiceError by field for a bad period or area, Refused when the actor may not see statistics."""
    if actor.user is None or not actor.may("grid_cases.stats"):
        raise Refused(_("You may not see case statistics."), 403)
    now = now or utcnow()
    errors: dict[str, str] = {}
    try:
        period = period_for(tenant.timezone, params.get("since"), params.get("until"), now)
    except ServiceError as err:
        errors.update(err.errors)
    try:
        area = _area(session, actor, params.get("area"))
    except ServiceError as err:
        errors.update(err.errors)
    if errors:
        raise ServiceError(errors)
    groups: dict[str, list[tuple[tuple[Any, ...], Figures]]] = {dim: [] for dim, _names in DIMENSIONS}
    for dim, key, figures in _grouped(session, _cases(actor, session, period, area, now)):
        groups[dim].append((key, figures))
    by_key = {
        "street": _rollup([((k[0],), f) for k, f in groups["area"]]),
        "community": _rollup([((k[1],), f) for k, f in groups["area"]]),
        "grid": _rollup([((k[2],), f) for k, f in groups["area"]]),
        "department": _rollup(groups["department"]),
        "category": _rollup(groups["category"]),
    }
    months = _rollup(groups["month"])
    totals = Figures()
    for figures in months.values():
        totals.add(figures)
    units = unit_names(session, [k[0] for dim in ("street", "community", "grid", "department") for k in by_key[dim]])
    category_ids = [k[0] for k in by_key["category"] if k[0] is not None]
    categories = {c.id: c for c in session.scalars(sa.select(CaseCategory).where(
        CaseCategory.id.in_(category_ids or [0])))}
    breakdowns: dict[str, list[Row]] = {}
    for dim in ("street", "community", "grid", "department"):
        breakdowns[dim] = _ordered([
            Row(k[0], units[k[0]].code if k[0] in units else None,
                units[k[0]].name if k[0] in units else str(NONE_LABELS[dim]), f)
            for k, f in by_key[dim].items()])
    breakdowns["category"] = _ordered([
        Row(k[0], categories[k[0]].code if k[0] in categories else None,
            categories[k[0]].name if k[0] in categories else str(NONE_LABELS["category"]), f)
        for k, f in by_key["category"].items()])
    labels = period.month_labels
    breakdowns["month"] = [Row(i, labels[i], labels[i], months.get((i,), Figures())) for i in range(len(labels))]
    workers = _workers(session, actor, area, period, _rollup(groups["finder"]))
    return Stats(period, area, totals, breakdowns, workers, now)


def month_figures(session: so.Session, tenant: Tenant, actor: Actor, now: dt.datetime | None = None) -> Figures:
    """This month's headline figures (the dashboard widget): one statement."""
    if actor.user is None or not actor.may("grid_cases.stats"):
        raise Refused(_("You may not see case statistics."), 403)
    now = now or utcnow()
    period = period_for(tenant.timezone, now=now, months=1)
    cases = _cases(actor, session, period, None, now).subquery("period_cases")
    return _figures(tuple(session.execute(sa.select(*_sums(cases.c))).one()))


def stats_out(stats: Stats) -> dict[str, Any]:
    """The statistics as the API sends them (and the exports write them)."""
    def rows(dim: str) -> list[dict[str, Any]]:
        return [{"code": r.code, "name": r.name, **r.figures.as_dict()} for r in stats.breakdowns[dim]]

    area = stats.area
    return {
        "since": stats.period.since, "until": stats.period.until, "months": stats.period.month_labels,
        "area": {"code": area.code, "name": area.name, "kind": area.kind} if area is not None else None,
        "generated_at": stats.generated_at, "totals": stats.totals.as_dict(),
        **{f"by_{dim}": rows(dim) for dim in BREAKDOWNS},
        "workers": [{"id": str(w.user_id), "name": w.name, "grids": w.grids, "notes": w.notes,
                     "notes_total": w.notes_total, "cases_found": w.found} for w in stats.workers],
    }


__all__ = ["BREAKDOWNS", "BREAKDOWN_LABELS", "FIGURES", "FIGURE_LABELS", "Figures", "Period", "Row", "Stats",
           "WorkerRow", "area_units", "case_stats", "month_figures", "period_for", "stats_out"]
