"""Feedback items: the list, submission, one item with its timeline, transitions and coordination records."""

from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import abort

from blueprints.business_feedback import services
from blueprints.business_feedback.api import blp
from blueprints.business_feedback.models import FeedbackItem
from blueprints.business_feedback.schemas import (
    FeedbackCoordinationIn,
    FeedbackItemDetailOut,
    FeedbackItemFilter,
    FeedbackItemIn,
    FeedbackItemOut,
    FeedbackItemPage,
    FeedbackOverdueOut,
    FeedbackTransitionIn,
)
from blueprints.business_feedback.services import items as item_services
from blueprints.business_feedback.services import supervision
from blueprints.business_feedback.web import actor, answering
from saas import db
from saas.auth import require


def item_out(item: FeedbackItem) -> dict[str, Any]:
    session = db.session()
    row = services.item_rows(session, actor(), [item])[0]
    row["actions"] = [t.action for t in item_services.available_actions(session, actor(), item)]
    return row


@blp.route("/items")
class FeedbackItems(MethodView):
    @blp.arguments(FeedbackItemFilter, location="query")
    @blp.response(200, FeedbackItemPage)
    @require("business_feedback.view")
    def get(self, filters: dict[str, Any]) -> dict[str, Any]:
        """The items one sees (the office all, a department its own, a supervisor theirs), newest first"""
        items, cursor = services.list_items(db.session(), actor(), filters, limit=filters["limit"])
        return {"items": services.item_rows(db.session(), actor(), items), "next": str(cursor) if cursor else None}

    @blp.arguments(FeedbackItemIn)
    @blp.response(201, FeedbackItemOut)
    @blp.alt_response(403, response="FORBIDDEN")
    @require("business_feedback.submit")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Submit feedback (a supervisor in term; others are refused with the reason)"""
        with answering():
            item = services.submit_item(db.session(), g.tenant, actor(), data)
        return item_out(item)


@blp.route("/items/<int:item_id>")
class FeedbackItemById(MethodView):
    @blp.response(200, FeedbackItemDetailOut)
    @require("business_feedback.view")
    def get(self, item_id: int) -> dict[str, Any]:
        """One item with its timeline"""
        with answering(commit=False):
            item = services.get_item(db.session(), actor(), item_id)
        out = item_out(item)
        out["timeline"] = services.timeline(db.session(), actor(), item)
        return out


@blp.route("/items/<int:item_id>/transitions")
class FeedbackItemTransitions(MethodView):
    @blp.arguments(FeedbackTransitionIn)
    @blp.response(200, FeedbackItemOut)
    @blp.alt_response(409, response="CONFLICT")
    @require("business_feedback.view")
    def post(self, data: dict[str, Any], item_id: int) -> dict[str, Any]:
        """Move the item one step: 409 when its version or state changed, 403 when not yours to do"""
        with answering():
            item = services.act(db.session(), g.tenant, actor(), item_id, data["action"], data)
        return item_out(item)


@blp.route("/items/<int:item_id>/coordinations")
class FeedbackItemCoordinations(MethodView):
    @blp.arguments(FeedbackCoordinationIn)
    @blp.response(201, FeedbackItemOut)
    @require("business_feedback.triage")
    def post(self, data: dict[str, Any], item_id: int) -> dict[str, Any]:
        """Record a coordination (协商处理) of an item assigned to two or more departments"""
        with answering():
            services.record_coordination(db.session(), g.tenant, actor(), item_id, data)
            item = services.get_item(db.session(), actor(), item_id)
        return item_out(item)


@blp.route("/overdue")
class OverdueFeedback(MethodView):
    @blp.response(200, FeedbackOverdueOut(many=True))
    @require("business_feedback.overdue")
    def get(self) -> list[dict[str, Any]]:
        """Overdue, unanswered assignments by department, with their 督办 level"""
        if not actor().may("business_feedback.overdue"):
            abort(403)
        return supervision.overdue_by_department(db.session())
