"""The dashboard's page and its XLSX under /t/<tenant>/elderly_visits/dashboard (the service is `dashboard.py`)."""

from __future__ import annotations

from typing import Any

from flask import g, request
from flask_babel import gettext as _

from blueprints.elderly_visits import dashboard as board_services
from blueprints.elderly_visits.views import bp
from blueprints.elderly_visits.web import actor
from saas import charts, db
from saas.actors import ServiceError
from saas.auth import require
from saas.exports import download
from saas.rendering import render


def _board() -> tuple[board_services.Dashboard | None, dict[str, list[str]]]:
    try:
        return board_services.dashboard(db.session(), g.tenant, actor(), request.args.get("month") or None), {}
    except ServiceError as err:
        db.session.rollback()
        return None, {k: [str(v)] for k, v in err.errors.items()}


def _charts(board: board_services.Dashboard) -> list[charts.Chart]:
    more = _("The table below lists all of them.")
    coverage = [(r.name, round(r.rate * 100, 1)) for r in board.communities if r.rate is not None]
    return [
        charts.bar_chart("ev-chart-coverage", _("Coverage by community (%)"), coverage, more=more,
                         value_label=_("Coverage")),
        charts.bar_chart("ev-chart-workers", _("Visits per worker"), board.workers, colour=charts.COLOURS[1],
                         more=more, value_label=_("Visits")),
        charts.bar_chart("ev-chart-needs", _("Needs found"), [(n["label"], n["found"]) for n in board.needs],
                         colour=charts.COLOURS[3], more=more, value_label=_("Needs found")),
    ]


@bp.get("/dashboard")
@require("elderly_visits.view")
def dashboard() -> Any:
    board, errors = _board()
    return render("elderly_visits/dashboard.html", board=board, errors=errors,
                  charts=_charts(board) if board else [], month=request.args.get("month", ""),
                  status=422 if errors else 200)


@bp.get("/dashboard.xlsx")
@require("elderly_visits.view")
def dashboard_xlsx() -> Any:
    board, errors = _board()
    if board is None:
        return render("elderly_visits/dashboard.html", board=None, errors=errors, charts=[],
                      month=request.args.get("month", ""), status=422)
    return download(board_services.dashboard_xlsx(g.tenant, board),
                    f"{g.tenant.slug}-elderly-visits-{board.month}.xlsx")
