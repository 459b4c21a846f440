"""XLSX exports of grid cases: a work list with exactly its filters, and the statistics, one sheet per breakdown.

Written by the kernel's export writer (`saas.exports`): headers and sheet names in the request's language (the
district's Chinese by default), times in the district's local time, every text cell neutralised against
formula injection, and personal data masked: the reporter's mobile number always (as in the lists) and phones,
ID numbers and e-mail addresses inside the free text (address, problem), since a file leaves the product.
A work list export holds at most `EXPORT_MAX_ROWS` cases (the kernel's cap): above that it is refused with a
message asking for narrower filters, so a file is always the whole list it names, never its first part.
No request globals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import sqlalchemy.orm as so
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from blueprints.grid_cases.services.base import Actor, ServiceError
from blueprints.grid_cases.services.cases import case_query, case_rows
from blueprints.grid_cases.services.notes import NOTE_KIND_LABELS
from blueprints.grid_cases.services.stats import (
    BREAKDOWN_LABELS,
    BREAKDOWNS,
    FIGURE_LABELS,
    FIGURES,
    FIRST_DAY,
    LAST_DAY,
    Stats,
)
from saas import exports as kernel_exports
from saas.db import utcnow
from saas.exports import DATE_FORMAT, PERCENT_FORMAT, XLSX_MIMETYPE, Column, ExportBook, Styled
from tenants.models import Tenant

EXPORT_MAX_ROWS = kernel_exports.EXPORT_MAX_ROWS

# the work list's columns (keys of case_rows)
CASE_COLUMNS = (
    Column("number", _l("Case number"), 20), Column("state_label", _l("State"), 16),
    Column("category", _l("Category"), 14), Column("urgency_label", _l("Urgency"), 8),
    Column("source_label", _l("Source"), 14), Column("street", _l("Street"), 14),
    Column("community", _l("Community"), 14), Column("grid", _l("Grid"), 14), Column("compound", _l("Compound"), 14),
    Column("address", _l("Address or landmark"), 24, personal="text"),
    Column("description", _l("Problem"), 40, personal="text"),
    Column("reporter_name", _l("Reporter"), 10), Column("reporter_phone", _l("Reporter's mobile number"), 14,
                                                        personal="phone"),
    Column("level", _l("Held at"), 14), Column("department", _l("Department"), 14),
    Column("created_at", _l("Reported at"), 17), Column("deadline_at", _l("Current step due"), 17),
    Column("overdue", _l("Overdue"), 8), Column("resolved_at", _l("Resolved at"), 17),
    Column("closed_at", _l("Closed at"), 17), Column("rating_label", _l("Rating"), 12),
)
# what the About sheet calls each filter of the work list
FILTER_LABELS = {
    "view": _l("List"), "q": _l("Number or words"), "category": _l("Category"), "state": _l("State"),
    "grid": _l("Grid, community or street (code)"), "urgency": _l("Urgency"), "since": _l("From"),
    "until": _l("Until"), "overdue": _l("Overdue"),
}


class TooManyRows(ServiceError):
    """More cases match than one file holds."""

    def __init__(self, cap: int):
        count = f"{cap:,}"
        # the kernel's rule, in the words of cases
        super().__init__(_("More than %(n)s cases match these filters: narrow them (a shorter period, one state "
                           "or one area) and export again.", n=count))
        self.cap = cap


def _check_days(filters: dict[str, Any]) -> None:
    # the work list's query turns a day into its local midnight; 9999-12-31 has no next day to end on
    errors = {name: _("Choose a day between %(first)s and %(last)s.", first=FIRST_DAY.isoformat(),
                      last=LAST_DAY.isoformat())
              for name in ("since", "until")
              if isinstance(filters.get(name), dt.date) and not FIRST_DAY <= filters[name] <= LAST_DAY}
    if errors:
        raise ServiceError(errors)


def export_cases(session: so.Session, tenant: Tenant, actor: Actor, filters: dict[str, Any],
                 now: dt.datetime | None = None, *, cap: int = EXPORT_MAX_ROWS) -> tuple[bytes, int]:
    """The work list of `filters` (the list's own, through `case_query`) as an XLSX file, and its row count.

    Raises ServiceError by field for a bad filter, and TooManyRows above `cap` cases."""
    now = now or utcnow()
    _check_days(filters)
    q, errors = case_query(session, tenant, actor, {k: v for k, v in filters.items() if k != "before"}, now)
    if errors:
        raise ServiceError(errors)
    cases = list(session.scalars(q.limit(cap + 1)))
    if len(cases) > cap:
        raise TooManyRows(cap)
    return cases_workbook(tenant, case_rows(session, cases, now), filters, now), len(cases)


def cases_workbook(tenant: Tenant, rows: Iterable[dict[str, Any]], filters: dict[str, Any],
                   now: dt.datetime, *, reveal_personal: bool = False) -> bytes:
    book = ExportBook(tenant.timezone, reveal_personal=reveal_personal)
    ws = book.sheet(_("Cases"), CASE_COLUMNS)
    yes = _("Yes")
    for row in rows:
        ws.append({**row, "overdue": yes if row.get("overdue") else None})
    about = book.sheet(_("About this file"), [_("Item"), _("Value")], [24, 50])
    about.append([_("District name"), tenant.name_zh])
    about.append([_("Exported at"), Styled(now, DATE_FORMAT)])
    about.append([_("Cases"), ws.rows])
    for name, label in FILTER_LABELS.items():
        value = filters.get(name)
        if value not in (None, "", False):
            about.append([str(label), value.isoformat() if isinstance(value, dt.date) else
                          (yes if value is True else str(value))])
    return book.save()


# every figure, each rate after the counts it divides
STATS_COLUMNS = (*FIGURES[:FIGURES.index("on_time") + 1], "on_time_rate", *FIGURES[FIGURES.index("on_time") + 1:],
                 "satisfaction_rate")


def _figure_cells(figures: Any) -> list[Any]:
    values = figures.as_dict()
    return [Styled(values[name], PERCENT_FORMAT) if name.endswith("_rate") else values[name]
            for name in STATS_COLUMNS]


def stats_workbook(tenant: Tenant, stats: Stats) -> bytes:
    """The statistics: a summary sheet, one sheet per breakdown, and the grid workers' activity."""
    book = ExportBook(tenant.timezone)
    summary = book.sheet(_("Summary"), [_("Item"), _("Value")], [30, 30])
    summary.append([_("District name"), tenant.name_zh])
    summary.append([_("Area"), stats.area.name if stats.area is not None else _("All of my area")])
    summary.append([_("From"), stats.period.since.isoformat()])
    summary.append([_("Until"), stats.period.until.isoformat()])
    summary.append([_("Generated at"), Styled(stats.generated_at, DATE_FORMAT)])
    totals = stats.totals.as_dict()
    for name in STATS_COLUMNS:
        value = Styled(totals[name], PERCENT_FORMAT) if name.endswith("_rate") else totals[name]
        summary.append([str(FIGURE_LABELS[name]), value])
    header = [_("Code"), _("Name"), *[str(FIGURE_LABELS[n]) for n in STATS_COLUMNS]]
    widths = [14, 20, *[10] * len(STATS_COLUMNS)]
    for dim in BREAKDOWNS:
        ws = book.sheet(str(BREAKDOWN_LABELS[dim]), header, widths)
        for row in stats.breakdowns[dim]:
            ws.append([row.code, row.name, *_figure_cells(row.figures)])
    kinds = list(NOTE_KIND_LABELS)
    ws = book.sheet(_("Grid workers' activity"),
                    [_("Grid worker"), _("Grids"), *[str(NOTE_KIND_LABELS[k]) for k in kinds], _("Quick notes"),
                     _("Cases found")], [14, 24, *[10] * len(kinds), 10, 10])
    for worker in stats.workers:
        ws.append([worker.name, "、".join(worker.grids), *[worker.notes.get(k, 0) for k in kinds],
                   worker.notes_total, worker.found])
    return book.save()


__all__ = ["EXPORT_MAX_ROWS", "XLSX_MIMETYPE", "TooManyRows", "cases_workbook", "export_cases", "stats_workbook"]
