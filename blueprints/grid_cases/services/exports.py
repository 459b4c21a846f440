"""XLSX exports of grid cases: a work list with exactly its filters, and the statistics, one sheet per breakdown.

Written with openpyxl's write-only mode (rows stream to a temporary file instead of building a whole
workbook in memory). Headers and sheet names are in the request's language (the district's Chinese by
default); times are the district's local time, as Excel cells without a zone; phone numbers are masked as
in the lists (`case_rows`). A work list export holds at most `EXPORT_MAX_ROWS` cases: above that it is
refused with a message asking for narrower filters, so a file is always the whole list it names, never
its first part. No request globals.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy.orm as so
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

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
from saas.db import utcnow
from tenants.models import Tenant

EXPORT_MAX_ROWS = 10_000
DATE_FORMAT = "yyyy-mm-dd hh:mm"
PERCENT_FORMAT = "0.0%"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# (key of case_rows, header, column width)
CASE_COLUMNS = (
    ("number", _l("Case number"), 20), ("state_label", _l("State"), 16), ("category", _l("Category"), 14),
    ("urgency_label", _l("Urgency"), 8), ("source_label", _l("Source"), 14), ("street", _l("Street"), 14),
    ("community", _l("Community"), 14), ("grid", _l("Grid"), 14), ("compound", _l("Compound"), 14),
    ("address", _l("Address or landmark"), 24), ("description", _l("Problem"), 40),
    ("reporter_name", _l("Reporter"), 10), ("reporter_phone", _l("Reporter's mobile number"), 14),
    ("level", _l("Held at"), 14), ("department", _l("Department"), 14), ("created_at", _l("Reported at"), 17),
    ("deadline_at", _l("Current step due"), 17), ("overdue", _l("Overdue"), 8),
    ("resolved_at", _l("Resolved at"), 17), ("closed_at", _l("Closed at"), 17), ("rating_label", _l("Rating"), 12),
)
# what the About sheet calls each filter of the work list
FILTER_LABELS = {
    "view": _l("List"), "q": _l("Number or words"), "category": _l("Category"), "state": _l("State"),
    "grid": _l("Grid, community or street (code)"), "urgency": _l("Urgency"), "since": _l("From"),
    "until": _l("Until"), "overdue": _l("Overdue"),
}
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


class TooManyRows(ServiceError):
    """More cases match than one file holds."""

    def __init__(self, cap: int):
        count = f"{cap:,}"
        super().__init__(_("More than %(n)s cases match these filters: narrow them (a shorter period, one state "
                           "or one area) and export again.", n=count))
        self.cap = cap


def _local(value: dt.datetime | None, tz: ZoneInfo) -> dt.datetime | None:
    # Excel has no time zones: the district's wall-clock time, as every page shows it
    return value.astimezone(tz).replace(tzinfo=None) if value is not None else None


def _sheet_title(text: str, taken: set[str]) -> str:
    title = _SHEET_BAD.sub(" ", text).strip()[:31] or "Sheet"
    base, n = title, 2
    while title.lower() in taken:
        suffix = f" {n}"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(title.lower())
    return title


class _Book:
    """A write-only workbook whose sheets get a bold header row, frozen below it, and set widths."""

    def __init__(self) -> None:
        self.wb = Workbook(write_only=True)
        self.titles: set[str] = set()

    def sheet(self, title: str, header: Sequence[str], widths: Sequence[int]) -> Any:
        ws = self.wb.create_sheet(_sheet_title(title, self.titles))
        for i, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
        ws.freeze_panes = "A2"
        bold = Font(bold=True)
        cells = []
        for text in header:
            cell = WriteOnlyCell(ws, value=str(text))
            cell.font = bold
            cells.append(cell)
        ws.append(cells)
        return ws

    def save(self) -> bytes:
        out = io.BytesIO()
        self.wb.save(out)
        return out.getvalue()


def _cell(ws: Any, value: Any, number_format: str | None = None) -> Any:
    cell = WriteOnlyCell(ws, value=value)
    if number_format:
        cell.number_format = number_format
    return cell


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
                   now: dt.datetime) -> bytes:
    tz = ZoneInfo(tenant.timezone)
    book = _Book()
    ws = book.sheet(_("Cases"), [str(label) for _key, label, _w in CASE_COLUMNS], [w for _k, _l, w in CASE_COLUMNS])
    yes = _("Yes")
    count = 0
    for row in rows:
        count += 1
        cells = []
        for key, _label, _width in CASE_COLUMNS:
            value = row.get(key)
            if isinstance(value, dt.datetime):
                # a plain value (openpyxl gives it its date format) costs half a styled cell: 10,000 rows in 3 s
                cells.append(_local(value, tz))
            elif key == "overdue":
                cells.append(yes if value else "")
            else:
                cells.append(value if value not in (None, "") else None)
        ws.append(cells)
    about = book.sheet(_("About this file"), [_("Item"), _("Value")], [24, 50])
    about.append([_("District name"), tenant.name_zh])
    about.append([_("Exported at"), _cell(about, _local(now, tz), DATE_FORMAT)])
    about.append([_("Cases"), count])
    for name, label in FILTER_LABELS.items():
        value = filters.get(name)
        if value not in (None, "", False):
            about.append([str(label), value.isoformat() if isinstance(value, dt.date) else
                          (yes if value is True else str(value))])
    return book.save()


# every figure, each rate after the counts it divides
STATS_COLUMNS = (*FIGURES[:FIGURES.index("on_time") + 1], "on_time_rate", *FIGURES[FIGURES.index("on_time") + 1:],
                 "satisfaction_rate")


def _figure_cells(ws: Any, figures: Any) -> list[Any]:
    values = figures.as_dict()
    cells = []
    for name in STATS_COLUMNS:
        if name.endswith("_rate"):
            cells.append(_cell(ws, values[name], PERCENT_FORMAT))
        else:
            cells.append(values[name])
    return cells


def stats_workbook(tenant: Tenant, stats: Stats) -> bytes:
    """The statistics: a summary sheet, one sheet per breakdown, and the grid workers' activity."""
    tz = ZoneInfo(tenant.timezone)
    book = _Book()
    summary = book.sheet(_("Summary"), [_("Item"), _("Value")], [30, 30])
    summary.append([_("District name"), tenant.name_zh])
    summary.append([_("Area"), stats.area.name if stats.area is not None else _("All of my area")])
    summary.append([_("From"), stats.period.since.isoformat()])
    summary.append([_("Until"), stats.period.until.isoformat()])
    summary.append([_("Generated at"), _cell(summary, _local(stats.generated_at, tz), DATE_FORMAT)])
    totals = stats.totals.as_dict()
    for name in STATS_COLUMNS:
        fmt = PERCENT_FORMAT if name.endswith("_rate") else None
        summary.append([str(FIGURE_LABELS[name]), _cell(summary, totals[name], fmt)])
    header = [_("Code"), _("Name"), *[str(FIGURE_LABELS[n]) for n in STATS_COLUMNS]]
    widths = [14, 20, *[10] * len(STATS_COLUMNS)]
    for dim in BREAKDOWNS:
        ws = book.sheet(str(BREAKDOWN_LABELS[dim]), header, widths)
        for row in stats.breakdowns[dim]:
            ws.append([row.code, row.name, *_figure_cells(ws, row.figures)])
    kinds = list(NOTE_KIND_LABELS)
    ws = book.sheet(_("Grid workers' activity"),
                    [_("Grid worker"), _("Grids"), *[str(NOTE_KIND_LABELS[k]) for k in kinds], _("Quick notes"),
                     _("Cases found")], [14, 24, *[10] * len(kinds), 10, 10])
    for worker in stats.workers:
        ws.append([worker.name, "、".join(worker.grids), *[worker.notes.get(k, 0) for k in kinds],
                   worker.notes_total, worker.found])
    return book.save()


__all__ = ["EXPORT_MAX_ROWS", "XLSX_MIMETYPE", "TooManyRows", "cases_workbook", "export_cases", "stats_workbook"]
