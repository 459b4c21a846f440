"""The elderly visits dashboard: coverage by grid and community, the overdue list, visits per worker, needs found
and resolved, emergencies and how fast they were taken on; one service for the page, the XLSX and the API.

Coverage is the share of the residents one may see whose schedule is kept: nobody whose visit is overdue today
(a resident visited on time this month, or not yet due). Every figure is one grouped statement over the month
asked for, so a request costs the same number of statements whatever the number of visits.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from blueprints.elderly_visits.models import ElderlyPerson, Emergency, Need, Visit
from blueprints.elderly_visits.services import (
    add_months,
    emergency_labels,
    emergency_scope,
    need_labels,
    scope,
    today_in,
    unit_map,
    user_names,
)
from saas.actors import Actor, ServiceError
from saas.exports import PERCENT_FORMAT, Column, ExportBook
from saas.workdays import zone
from tenants.models import Tenant

OVERDUE_LIMIT = 100


@dataclasses.dataclass
class Coverage:
    unit_id: int | None
    name: str
    people: int
    on_time: int
    visited: int  # residents visited at least once in the month

    @property
    def rate(self) -> float | None:
        return self.on_time / self.people if self.people else None


@dataclasses.dataclass
class Dashboard:
    month: str
    grids: list[Coverage]
    communities: list[Coverage]
    total: Coverage
    overdue: list[dict[str, Any]]
    workers: list[tuple[str, int]]
    needs: list[dict[str, Any]]
    emergencies: list[dict[str, Any]]
    response_median_min: float | None
    response_max_min: float | None


def parse_month(tenant: Tenant, value: str | None) -> dt.date:
    """The first day of the month asked for ("2026-03"), or of this month."""
    if not value:
        return today_in(tenant).replace(day=1)
    try:
        day = dt.datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        raise ServiceError({"month": _("Give the month as 2026-03.")}) from None
    if day > today_in(tenant) or day.year < 2000:
        raise ServiceError({"month": _("Choose a month that has begun.")})
    return day


def _bounds(tenant: Tenant, first: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = zone(tenant.timezone)
    start = dt.datetime.combine(first, dt.time(), tzinfo=tz).astimezone(dt.UTC)
    end = dt.datetime.combine(add_months(first, 1), dt.time(), tzinfo=tz).astimezone(dt.UTC)
    return start, end


def dashboard(session: so.Session, tenant: Tenant, actor: Actor, month: str | None = None) -> Dashboard:
    first = parse_month(tenant, month)
    start, end = _bounds(tenant, first)
    today = today_in(tenant)
    seen = scope(actor)
    people = sa.select(ElderlyPerson.id).where(seen, ElderlyPerson.active.is_(True))
    visited = (sa.select(Visit.person_id).where(Visit.visited_at >= start, Visit.visited_at < end)
               .distinct().subquery())
    # coverage by grid (communities are sums of their grids)
    rows = session.execute(
        sa.select(ElderlyPerson.grid_id, ElderlyPerson.community_id, sa.func.count(),
                  sa.func.count().filter(ElderlyPerson.next_visit_on >= today),
                  sa.func.count(visited.c.person_id))
        .outerjoin(visited, visited.c.person_id == ElderlyPerson.id)
        .where(seen, ElderlyPerson.active.is_(True))
        .group_by(ElderlyPerson.grid_id, ElderlyPerson.community_id)).all()
    overdue_people = list(session.scalars(
        sa.select(ElderlyPerson).where(seen, ElderlyPerson.active.is_(True), ElderlyPerson.next_visit_on < today)
        .order_by(ElderlyPerson.next_visit_on, ElderlyPerson.id).limit(OVERDUE_LIMIT)))
    per_worker = session.execute(
        sa.select(Visit.visitor_id, sa.func.count())
        .where(Visit.person_id.in_(people), Visit.visited_at >= start, Visit.visited_at < end)
        .group_by(Visit.visitor_id)).all()
    need_rows = session.execute(
        sa.select(Need.kind, sa.func.count(), sa.func.count().filter(Need.state == "resolved"),
                  sa.func.count().filter(Need.case_number.is_not(None)))
        .where(Need.person_id.in_(people), Need.created_at >= start, Need.created_at < end)
        .group_by(Need.kind)).all()
    emergency_rows = session.execute(
        sa.select(Emergency.kind, Emergency.raised_at, Emergency.acknowledged_at, Emergency.escalated_at)
        # every emergency one sees, a neighbour's report not linked to a resident yet included
        .where(emergency_scope(actor), Emergency.raised_at >= start, Emergency.raised_at < end)).all()
    units = unit_map(session, [r[0] for r in rows] + [r[1] for r in rows] + [p.grid_id for p in overdue_people])
    names = user_names(session, [r[0] for r in per_worker] + [p.worker_id for p in overdue_people])

    grids = [Coverage(g, units[g].name if g in units else "", n, ok, v) for g, _c, n, ok, v in rows]
    by_community: dict[int | None, Coverage] = {}
    for _g, c, n, ok, v in rows:
        row = by_community.setdefault(c, Coverage(c, units[c].name if c in units else str(_("Without a community")),
                                                  0, 0, 0))
        row.people, row.on_time, row.visited = row.people + n, row.on_time + ok, row.visited + v
    total = Coverage(None, str(_("All")), sum(r.people for r in grids), sum(r.on_time for r in grids),
                     sum(r.visited for r in grids))
    overdue = [{"id": str(p.id), "name": p.name, "grid": units[p.grid_id].name if p.grid_id in units else "",
                "worker": names.get(p.worker_id, ""), "due": p.next_visit_on, "days": (today - p.next_visit_on).days}
               for p in overdue_people]
    need_names = dict(need_labels())
    needs = [{"kind": k, "label": str(need_names.get(k, k)), "found": n, "resolved": r, "cases": c}
             for k, n, r, c in sorted(need_rows, key=lambda r: -r[1])]
    waits = [(a - r).total_seconds() / 60 for _k, r, a, _e in emergency_rows if a is not None]
    kinds = dict(emergency_labels())
    emergencies = []
    for kind, label in kinds.items():
        mine = [e for e in emergency_rows if e[0] == kind]
        if mine:
            kind_waits = [(a - r).total_seconds() / 60 for _k, r, a, _e in mine if a is not None]
            emergencies.append({"kind": kind, "label": str(label), "raised": len(mine),
                                "acknowledged": len(kind_waits), "escalated": sum(e[3] is not None for e in mine),
                                "median_min": round(statistics.median(kind_waits), 1) if kind_waits else None})
    return Dashboard(
        month=f"{first:%Y-%m}",
        grids=sorted(grids, key=lambda r: (r.rate if r.rate is not None else 2, r.name)),
        communities=sorted(by_community.values(), key=lambda r: (r.rate if r.rate is not None else 2, r.name)),
        total=total, overdue=overdue,
        workers=sorted(((names.get(w, ""), n) for w, n in per_worker), key=lambda r: (-r[1], r[0])),
        needs=needs, emergencies=emergencies,
        response_median_min=round(statistics.median(waits), 1) if waits else None,
        response_max_min=round(max(waits), 1) if waits else None)


def coverage_out(row: Coverage) -> dict[str, Any]:
    return {"name": row.name, "people": row.people, "on_time": row.on_time, "visited": row.visited,
            "rate": round(row.rate, 4) if row.rate is not None else None}


def dashboard_out(board: Dashboard) -> dict[str, Any]:
    """The dashboard as the API answers it."""
    return {"month": board.month, "total": coverage_out(board.total),
            "communities": [coverage_out(r) for r in board.communities],
            "grids": [coverage_out(r) for r in board.grids], "overdue": board.overdue,
            "visits_per_worker": [{"worker": w, "visits": n} for w, n in board.workers],
            "needs": board.needs, "emergencies": board.emergencies,
            "response_median_min": board.response_median_min, "response_max_min": board.response_max_min}


COVERAGE_COLUMNS = (Column("name", _l("Area"), 24), Column("people", _l("Residents"), 10),
                    Column("on_time", _l("Visited on time"), 12), Column("visited", _l("Visited this month"), 12),
                    Column("rate", _l("Coverage"), 10, number_format=PERCENT_FORMAT))


def dashboard_xlsx(tenant: Tenant, board: Dashboard) -> bytes:
    """The dashboard as a workbook, through the kernel's export writer (names only: no numbers to mask)."""
    book = ExportBook(tenant.timezone)
    for title, rows in ((_("Communities"), board.communities), (_("Grids"), board.grids)):
        sheet = book.sheet(title, COVERAGE_COLUMNS)
        sheet.extend(coverage_out(r) for r in [*rows, board.total])
    book.sheet(_("Overdue"), (Column("name", _l("Name"), 12), Column("grid", _l("Grid"), 20),
                              Column("worker", _l("Grid worker"), 12),
                              Column("due", _l("Due"), 12, number_format="yyyy-mm-dd"),
                              Column("days", _l("Days overdue"), 10))).extend(board.overdue)
    book.sheet(_("Visits per worker"), (_("Grid worker"), _("Visits")), widths=(16, 10)).extend(board.workers)
    book.sheet(_("Needs"), (Column("label", _l("Need"), 16), Column("found", _l("Needs found"), 10),
                            Column("resolved", _l("Resolved"), 10), Column("cases", _l("Grid cases"), 10))
               ).extend(board.needs)
    book.sheet(_("Emergencies"), (Column("label", _l("Emergency"), 24), Column("raised", _l("Raised"), 10),
                                  Column("acknowledged", _l("Taken on"), 10), Column("escalated", _l("Escalated"), 10),
                                  Column("median_min", _l("Median minutes to take on"), 14))
               ).extend(board.emergencies)
    return book.save()
