"""Statistics of cases: the page with its charts, the dashboard widget, and the XLSX downloads (the statistics,
and a work list with exactly the list's filters)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_smorest import abort

from blueprints.grid_cases.schemas import CaseFilter, StatsQuery
from blueprints.grid_cases.services import cases as case_services
from blueprints.grid_cases.services import exports
from blueprints.grid_cases.services import stats as stats_services
from blueprints.grid_cases.services.base import Refused, ServiceError
from blueprints.grid_cases.services.notes import NOTE_KIND_LABELS
from blueprints.grid_cases.views import bp
from blueprints.grid_cases.web import actor
from saas import charts, db
from saas.auth import require
from saas.db import utcnow
from saas.exports import download
from saas.rendering import render
from saas.schemas import load_form

# the chart of the level below the area looked at
NEXT_LEVEL = {"district": "street", "street": "community", "community": "grid"}
LEVEL_ORDER = ("district", "street", "community", "grid")
# what an error message calls each parameter of the statistics and of the work list
FIELD_LABELS = {**exports.FILTER_LABELS, "since": _l("From"), "until": _l("Until"), "area": _l("Area")}


def pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _args() -> dict[str, str]:
    # an empty field of the GET form means "the default", not a bad value
    return {k: v for k, v in request.args.items() if v != "" and k != "csrf_token"}


def _stats() -> tuple[stats_services.Stats | None, dict[str, list[str]]]:
    params, errors = load_form(StatsQuery(), _args())
    if errors:
        return None, errors
    try:
        return stats_services.case_stats(db.session(), g.tenant, actor(), params or {}), {}
    except ServiceError as err:
        db.session.rollback()
        return None, {k: [v] for k, v in err.errors.items()}
    except Refused as err:
        db.session.rollback()
        abort(err.status, message=err.message)
        raise  # pragma: no cover - abort raises


def _message(errors: dict[str, Any]) -> str:
    parts = []
    for field, messages in errors.items():
        text = " ".join(map(str, messages)) if isinstance(messages, list) else str(messages)
        label = FIELD_LABELS.get(field)
        parts.append(f"{label}: {text}" if label is not None else text)
    return " ".join(parts)


def _charts(stats: stats_services.Stats) -> list[charts.Chart]:
    labels = stats.period.month_labels
    months = stats.breakdowns["month"]
    out = [charts.line_chart(
        "chart-months", _("Reported and closed by month"), labels,
        [(str(stats_services.FIGURE_LABELS["reported"]), [r.figures.reported for r in months]),
         (str(stats_services.FIGURE_LABELS["closed"]), [r.figures.closed for r in months])])]
    me = actor()
    kind = stats.area.kind if stats.area is not None else next(
        (k for k in LEVEL_ORDER if any(u.kind == k for u in me.units("grid_cases.stats"))), None)
    below = NEXT_LEVEL.get(kind or "")
    more = _("The table below lists all of them.")
    for dim, colour in ((below, charts.COLOURS[0]), ("category", charts.COLOURS[3])):
        if dim is None:
            continue
        rows = [(r.name, r.figures.reported) for r in stats.breakdowns[dim] if r.figures.reported]
        title = f"{stats_services.BREAKDOWN_LABELS[dim]} · {stats_services.FIGURE_LABELS['reported']}"
        out.append(charts.bar_chart(f"chart-{dim}", title, rows, colour=colour, more=more,
                                    value_label=str(stats_services.FIGURE_LABELS["reported"])))
    return out


def _page(stats: stats_services.Stats | None, errors: dict[str, list[str]]) -> Any:
    me = actor()
    session = db.session()
    filters = dict(request.args)
    if stats is not None:  # the form shows the period the figures are of, the default one too
        filters["since"], filters["until"] = stats.period.since.isoformat(), stats.period.until.isoformat()
    return render("grid_cases/stats.html", stats=stats, errors=errors, filters=filters,
                  areas=stats_services.area_units(session, me), charts=_charts(stats) if stats else [],
                  labels=stats_services.FIGURE_LABELS, breakdown_labels=stats_services.BREAKDOWN_LABELS,
                  breakdowns=stats_services.BREAKDOWNS, note_kinds=NOTE_KIND_LABELS, pct=pct,
                  download_args=_args(), status=422 if errors else 200)


@bp.get("/stats", endpoint="stats")
@require("grid_cases.stats")
def stats_page() -> Any:
    stats, errors = _stats()
    return _page(stats, errors)


def _xlsx(body: bytes, filename: str) -> Any:
    return download(body, filename, exports.XLSX_MIMETYPE)


@bp.get("/stats.xlsx")
@require("grid_cases.stats")
def stats_xlsx() -> Any:
    """The statistics of the page's period and area, one sheet per breakdown; bad parameters get the page
    with their errors."""
    stats, errors = _stats()
    if stats is None:
        return _page(None, errors)
    body = exports.stats_workbook(g.tenant, stats)
    return _xlsx(body, f"{g.tenant.slug}-stats-{stats.period.since:%Y%m%d}-{stats.period.until:%Y%m%d}.xlsx")


@bp.get("/export.xlsx")
@require("grid_cases.view")
def export_cases() -> Any:
    """The work list with exactly its filters (the list's own query). More than EXPORT_MAX_ROWS cases are
    refused: back to the list, which says so. Bad filters get an error page that names them."""
    me = actor()
    raw = {k: v for k, v in _args().items() if k != "before"}
    filters, errors = load_form(CaseFilter(), raw)
    if filters is not None and filters.get("view") not in case_services.views_for(me):
        errors = {"view": [_("Not one of the choices.")]}
    if errors:
        abort(422, message=_message(errors))
    assert filters is not None
    try:
        body, count = exports.export_cases(db.session(), g.tenant, me, filters, cap=exports.EXPORT_MAX_ROWS)
    except exports.TooManyRows as err:
        db.session.rollback()
        flash(err.errors["_form"], "error")
        return redirect(url_for("grid_cases.work", **raw), 303)
    except ServiceError as err:
        db.session.rollback()
        abort(422, message=_message(err.errors))
    today = utcnow().astimezone(ZoneInfo(g.tenant.timezone)).date()
    # reporters' names, phones and addresses, masked or not: the download is audited
    return download(body, f"{g.tenant.slug}-cases-{today:%Y%m%d}.xlsx", exports.XLSX_MIMETYPE, personal_rows=count,
                    module="grid_cases")


@bp.get("/widgets/stats")
@require("grid_cases.stats")
def widget_stats() -> Any:
    """This month's headline figures in the person's area."""
    try:
        figures = stats_services.month_figures(db.session(), g.tenant, actor())
    except Refused as err:
        abort(err.status, message=err.message)
    return render("grid_cases/_widget_stats.html", figures=figures, labels=stats_services.FIGURE_LABELS, pct=pct)
