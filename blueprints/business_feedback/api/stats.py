"""Statistics of business feedback as JSON: the page's tables, with its period."""

from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView

from blueprints.business_feedback.api import blp
from blueprints.business_feedback.schemas import FeedbackStatsOut, FeedbackStatsQuery
from blueprints.business_feedback.services import stats as stats_services
from blueprints.business_feedback.web import actor, answering
from saas import db
from saas.auth import require


@blp.route("/stats")
class FeedbackStats(MethodView):
    @blp.arguments(FeedbackStatsQuery, location="query")
    @blp.response(200, FeedbackStatsOut)
    @blp.alt_response(403, response="FORBIDDEN", description="The token's person may not see the statistics")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY",
                      description="A bad period (end before start, more than 36 months, a day outside 2000-2100)")
    @require("business_feedback.stats")
    def get(self, params: dict[str, Any]) -> dict[str, Any]:
        """Statistics of a period: per supervisor, per department, per business area and month

        Supervisors' and areas' figures are of the items submitted in the period (local days, by default this
        month and the 11 before it); departments' of the assignments they received in it."""
        with answering(commit=False):
            stats = stats_services.feedback_stats(db.session(), g.tenant, actor(), params.get("since"),
                                                  params.get("until"))
        return stats_services.stats_out(stats)
