"""万人助万企 as JSON: an enterprise's visits (and logging one), its cadre, and the enterprises due a visit."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import g
from flask.views import MethodView

from blueprints.business_feedback.api import blp
from blueprints.business_feedback.schemas import (
    EnterpriseCadreIn,
    EnterpriseCadreOut,
    EnterpriseDueVisitOut,
    EnterpriseVisitIn,
    EnterpriseVisitOut,
)
from blueprints.business_feedback.services import visits
from blueprints.business_feedback.web import actor, answering
from saas import db
from saas.auth import require
from tenants.models import User


def _visit_out(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "id": str(row["id"]), "enterprise_id": str(row["enterprise_id"])}


@blp.route("/enterprises/<int:enterprise_id>/visits")
class EnterpriseVisits(MethodView):
    @blp.response(200, EnterpriseVisitOut(many=True))
    @require("business_feedback.visit")
    def get(self, enterprise_id: int) -> list[dict[str, Any]]:
        """The enterprise's visits, newest first (its cadre and the office)"""
        with answering(commit=False):
            enterprise = visits.visible_enterprise(db.session(), actor(), enterprise_id)
            return [_visit_out(r) for r in visits.visits_of(db.session(), enterprise.id)]

    @blp.arguments(EnterpriseVisitIn)
    @blp.response(201, EnterpriseVisitOut)
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY",
                      description="A day in the future or over a year ago, a figure below zero, a problem without a "
                                  "business area of the district")
    @require("business_feedback.visit")
    def post(self, data: dict[str, Any], enterprise_id: int) -> dict[str, Any]:
        """Log a visit: each problem or request found becomes a feedback item waiting for the office's triage"""
        with answering():
            visit = visits.log_visit(db.session(), g.tenant, actor(), enterprise_id, data)
        return _visit_out(visits.visit_rows(db.session(), [visit])[0])


@blp.route("/enterprises/<int:enterprise_id>/cadre")
class EnterpriseCadreView(MethodView):
    @blp.arguments(EnterpriseCadreIn)
    @blp.response(200, EnterpriseCadreOut)
    @require("business_feedback.enterprises")
    def put(self, data: dict[str, Any], enterprise_id: int) -> dict[str, Any]:
        """Name the enterprise's cadre (a person holding the enterprise cadre role); replaces the one before"""
        with answering():
            row = visits.assign_cadre(db.session(), g.tenant, actor(), enterprise_id, data)
        name = db.session().scalars(sa.select(User.name).where(User.id == row.user_id)).first()
        return {"enterprise_id": str(row.enterprise_id), "user_id": str(row.user_id), "name": name or ""}


@blp.route("/visits/due")
class DueVisits(MethodView):
    @blp.response(200, EnterpriseDueVisitOut(many=True))
    @require("business_feedback.enterprises")
    def get(self) -> list[dict[str, Any]]:
        """Enterprises with a cadre not visited within the district's interval (never visited first)"""
        with answering(commit=False):
            rows = visits.due_visits(db.session(), g.tenant, actor())
        return [{"enterprise_id": str(h.enterprise_id), "enterprise": h.enterprise, "cadre_id": str(h.cadre_id),
                 "cadre": h.cadre, "last_visit": h.last_visit, "days_since": h.days_since} for h in rows]
