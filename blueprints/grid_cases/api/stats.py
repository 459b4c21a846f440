"""Statistics of cases as JSON: the page's figures, breakdowns and workers' activity, with its parameters."""

from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView

from blueprints.grid_cases.api import blp
from blueprints.grid_cases.schemas import StatsOut, StatsQuery
from blueprints.grid_cases.services import stats as stats_services
from blueprints.grid_cases.web import actor, answering
from saas import db
from saas.auth import require


@blp.route("/stats")
class GridCaseStats(MethodView):
    @blp.arguments(StatsQuery, location="query")
    @blp.response(200, StatsOut)
    @blp.alt_response(403, response="FORBIDDEN", description="The token's person may not see case statistics")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY",
                      description="A bad period (end before start, more than 36 months, a day outside 2000-2100) "
                                  "or an area that is not a street, community or grid of the caller's")
    @require("grid_cases.stats")
    def get(self, params: dict[str, Any]) -> dict[str, Any]:
        """Case statistics of a period and an area: figures, their breakdowns and the grid workers' activity

        Figures describe the cases reported in the period (local days, by default this month and the 12
        before it), in their state now, inside the caller's area."""
        with answering(commit=False):
            stats = stats_services.case_stats(db.session(), g.tenant, actor(), params)
        return stats_services.stats_out(stats)
