"""Statistics of business feedback: the page with its charts and tables, and its XLSX file."""

from __future__ import annotations

from typing import Any

from flask import g, request
from flask_babel import gettext as _
from flask_smorest import abort

from blueprints.business_feedback import services
from blueprints.business_feedback.schemas import FeedbackStatsQuery
from blueprints.business_feedback.services import stats as stats_services
from blueprints.business_feedback.views import bp
from blueprints.business_feedback.web import actor
from saas import charts, db
from saas.auth import require
from saas.exports import XLSX_MIMETYPE, download
from saas.rendering import render
from saas.schemas import load_form


def pct(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}%"


def _args() -> dict[str, str]:
    # an empty field of the GET form means "the default", not a bad value
    return {k: v for k, v in request.args.items() if v != "" and k in ("since", "until")}


def _stats() -> tuple[stats_services.Stats | None, dict[str, list[str]]]:
    params, errors = load_form(FeedbackStatsQuery(), _args())
    if errors or params is None:
        return None, errors
    try:
        return stats_services.feedback_stats(db.session(), g.tenant, actor(), params.get("since"),
                                             params.get("until")), {}
    except services.ServiceError as err:
        db.session.rollback()
        return None, {k: [v] for k, v in err.errors.items()}
    except services.Refused as err:
        db.session.rollback()
        abort(err.status, message=err.message)
        raise  # pragma: no cover - abort raises


def _charts(stats: stats_services.Stats) -> list[charts.Chart]:
    more = _("The table below lists all of them.")
    return [
        charts.line_chart("chart-months", _("Feedback submitted by month"), list(stats.period.months),
                          [(_("Submitted"), stats.by_month)]),
        charts.bar_chart("chart-areas", _("Feedback by business area"),
                         sorted(((a.name, a.total) for a in stats.areas if a.total), key=lambda r: -r[1]),
                         more=more, value_label=_("Submitted")),
        charts.bar_chart("chart-on-time", _("Answered on time, by department (%)"),
                         [(d.name, round(d.on_time_share * 100, 1)) for d in stats.departments
                          if d.on_time_share is not None], colour=charts.COLOURS[1], more=more,
                         value_label=_("Share on time")),
        charts.bar_chart("chart-supervised", _("督办 by department"),
                         [(d.name, d.supervised) for d in stats.departments if d.supervised],
                         colour=charts.COLOURS[2], more=more, value_label=_("Overdue supervisions (督办)")),
    ]


def _page(stats: stats_services.Stats | None, errors: dict[str, list[str]]) -> Any:
    filters = dict(_args())
    if stats is not None:  # the form shows the period the figures are of, the default one too
        filters = {"since": stats.period.since.isoformat(), "until": stats.period.until.isoformat()}
    return render("business_feedback/stats.html", stats=stats, errors=errors, filters=filters, pct=pct,
                  charts=_charts(stats) if stats else [], download_args=_args(), status=422 if errors else 200)


@bp.get("/stats")
@require("business_feedback.stats")
def stats_page() -> Any:
    stats, errors = _stats()
    return _page(stats, errors)


@bp.get("/stats.xlsx")
@require("business_feedback.stats")
def stats_xlsx() -> Any:
    """The page's statistics, a sheet per table; bad parameters get the page with their errors."""
    stats, errors = _stats()
    if stats is None:
        return _page(None, errors)
    body = stats_services.stats_workbook(g.tenant, stats)
    return download(body, f"{g.tenant.slug}-business-feedback-{stats.period.since:%Y%m%d}-"
                          f"{stats.period.until:%Y%m%d}.xlsx", XLSX_MIMETYPE)
