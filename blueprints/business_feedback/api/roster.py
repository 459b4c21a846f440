"""The roster of supervisors and the district's enterprises."""

from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView

from blueprints.business_feedback.api import blp
from blueprints.business_feedback.schemas import (
    DismissalIn,
    EnterpriseIn,
    EnterpriseOut,
    SupervisorIn,
    SupervisorOut,
    SupervisorPatch,
)
from blueprints.business_feedback.services import base, enterprises, roster
from blueprints.business_feedback.web import actor, answering
from saas import db
from saas.auth import require


def supervisor_out(sup: Any) -> dict[str, Any]:
    session = db.session()
    return roster.supervisor_rows(session, [sup], base.today(session, g.tenant),
                                  base.settings(session)["expiry_reminder_days"])[0]


@blp.route("/supervisors")
class Supervisors(MethodView):
    @blp.response(200, SupervisorOut(many=True))
    @require("business_feedback.roster")
    def get(self) -> list[dict[str, Any]]:
        """The roster, newest terms first, with each term's status today"""
        return roster.list_supervisors(db.session(), g.tenant)

    @blp.arguments(SupervisorIn)
    @blp.response(201, SupervisorOut)
    @require("business_feedback.roster")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Appoint a supervisor (an existing person by user_id, or a new account by name and phone)"""
        with answering():
            sup = roster.appoint_supervisor(db.session(), g.tenant, actor(), data)
        return supervisor_out(sup)


@blp.route("/supervisors/<int:supervisor_id>")
class SupervisorById(MethodView):
    @blp.arguments(SupervisorPatch)
    @blp.response(200, SupervisorOut)
    @blp.alt_response(409, response="CONFLICT")
    @require("business_feedback.roster")
    def patch(self, data: dict[str, Any], supervisor_id: int) -> dict[str, Any]:
        """Change a term (send back the version you read)"""
        with answering():
            sup = roster.update_supervisor(db.session(), g.tenant, actor(), supervisor_id, data)
        return supervisor_out(sup)


@blp.route("/supervisors/<int:supervisor_id>/dismissal")
class SupervisorDismissal(MethodView):
    @blp.arguments(DismissalIn)
    @blp.response(200, SupervisorOut)
    @blp.alt_response(409, response="CONFLICT")
    @require("business_feedback.roster")
    def post(self, data: dict[str, Any], supervisor_id: int) -> dict[str, Any]:
        """Dismiss a supervisor with a reason (from today unless `on` says otherwise)"""
        with answering():
            sup = roster.dismiss_supervisor(db.session(), g.tenant, actor(), supervisor_id, data)
        return supervisor_out(sup)


@blp.route("/enterprises")
class Enterprises(MethodView):
    @blp.response(200, EnterpriseOut(many=True))
    @require("business_feedback.enterprises")
    def get(self) -> list[dict[str, Any]]:
        """The district's enterprises (contact phones masked)"""
        session = db.session()
        return enterprises.enterprise_rows(session, enterprises.list_enterprises(session))

    @blp.arguments(EnterpriseIn)
    @blp.response(201, EnterpriseOut)
    @require("business_feedback.enterprises")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Register an enterprise (one per credit code in a district)"""
        with answering():
            row = enterprises.add_enterprise(db.session(), g.tenant, actor(), data)
        return enterprises.enterprise_rows(db.session(), [row])[0]
