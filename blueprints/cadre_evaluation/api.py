"""Cadre evaluation's JSON API under /api/v1/t/<tenant>/cadre_evaluation/ (flask-smorest; in the OpenAPI document).

The organiser's operations call the services the pages call; a refusal answers through `answering`.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g
from flask.views import MethodView

from blueprints.cadre_evaluation import results, services
from blueprints.cadre_evaluation.schemas import (
    CadreCampaignIn,
    CadreCampaignOut,
    CadreCampaignPatch,
    CadreResultOut,
    CadreTargetIn,
    CadreTargetOut,
    CadreTransitionIn,
)
from blueprints.cadre_evaluation.web import actor, answering
from saas import db
from saas.api import Blueprint
from saas.auth import require
from saas.schemas import Schema

blp = Blueprint("cadre_evaluation_api", __name__, description="千人评科长 / Cadre evaluation")
MANAGE = "cadre_evaluation.manage"


class CadreCampaignPage(Schema):
    items = ma.fields.List(ma.fields.Nested(CadreCampaignOut))


class CadreTargetPage(Schema):
    items = ma.fields.List(ma.fields.Nested(CadreTargetOut))


class CadreParticipation(Schema):
    onsite = ma.fields.Integer()
    online = ma.fields.Integer()
    department = ma.fields.Integer()
    raters = ma.fields.Integer()


class CadreResultPage(Schema):
    items = ma.fields.List(ma.fields.Nested(CadreResultOut))


@blp.route("/campaigns")
class CadreCampaigns(MethodView):
    @blp.response(200, CadreCampaignPage)
    @require(MANAGE)
    def get(self) -> dict[str, Any]:
        """The district's campaigns, latest period first"""
        return {"items": services.list_campaigns(db.session())}

    @blp.arguments(CadreCampaignIn)
    @blp.response(201, CadreCampaignOut)
    @blp.alt_response(403, description="Not the organiser")
    @require(MANAGE)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a campaign in draft; what is left out comes from the district's defaults"""
        with answering():
            campaign = services.create_campaign(db.session(), g.tenant, actor(), data)
        return campaign


@blp.route("/campaigns/<int:campaign_id>")
class CadreCampaignById(MethodView):
    @blp.response(200, CadreCampaignOut)
    @require(MANAGE)
    def get(self, campaign_id: int) -> Any:
        """One campaign with its dimensions, scale and weights"""
        with answering(commit=False):
            campaign = services.get_campaign(db.session(), campaign_id)
        return campaign

    @blp.arguments(CadreCampaignPatch)
    @blp.response(200, CadreCampaignOut)
    @blp.alt_response(409, description="The campaign is open: its set-up is frozen")
    @require(MANAGE)
    def patch(self, data: dict[str, Any], campaign_id: int) -> Any:
        """Change a draft campaign's set-up (audited); refused once it is open"""
        with answering():
            campaign = services.update_campaign(db.session(), g.tenant, actor(), campaign_id, data)
        return campaign


@blp.route("/campaigns/<int:campaign_id>/targets")
class CadreTargets(MethodView):
    @blp.response(200, CadreTargetPage)
    @require(MANAGE)
    def get(self, campaign_id: int) -> dict[str, Any]:
        """The campaign's targets"""
        with answering(commit=False):
            campaign = services.get_campaign(db.session(), campaign_id)
            items = services.list_targets(db.session(), campaign)
        return {"items": items}

    @blp.arguments(CadreTargetIn)
    @blp.response(201, CadreTargetOut)
    @blp.alt_response(409, description="The campaign is open: its targets are frozen")
    @require(MANAGE)
    def post(self, data: dict[str, Any], campaign_id: int) -> Any:
        """Add a section chief to a draft campaign (audited)"""
        with answering():
            target = services.add_target(db.session(), g.tenant, actor(), campaign_id, data)
        return target


@blp.route("/campaigns/<int:campaign_id>/transitions")
class CadreTransitions(MethodView):
    @blp.arguments(CadreTransitionIn)
    @blp.response(200, CadreCampaignOut)
    @blp.alt_response(409, description="The step is not possible in the campaign's state")
    @require(MANAGE)
    def post(self, data: dict[str, Any], campaign_id: int) -> Any:
        """Open, close or publish the campaign"""
        with answering():
            campaign = services.transition(db.session(), g.tenant, actor(), campaign_id, data["action"])
        return campaign


@blp.route("/campaigns/<int:campaign_id>/participation")
class CadreParticipation(MethodView):
    @blp.response(200, CadreParticipation)
    @require(MANAGE)
    def get(self, campaign_id: int) -> dict[str, int]:
        """Ballots per channel so far and the number of raters; never scores"""
        with answering(commit=False):
            campaign = services.get_campaign(db.session(), campaign_id)
            counts = services.participation(db.session(), campaign)
        return counts


@blp.route("/campaigns/<int:campaign_id>/results")
class CadreResults(MethodView):
    @blp.response(200, CadreResultPage)
    @blp.alt_response(403, description="Results are not shown before the close")
    @require(MANAGE)
    def get(self, campaign_id: int) -> dict[str, Any]:
        """Each target's averages per channel and dimension, weighted total and rank (after the close)"""
        with answering(commit=False):
            campaign = services.get_campaign(db.session(), campaign_id)
            items = results.results_for(db.session(), actor(), campaign)
        return {"items": items}


from blueprints.cadre_evaluation import api_channels, api_results  # noqa: E402,F401  (the channels' and results' operations join this blueprint)
