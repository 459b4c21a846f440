"""Cadre evaluation's JSON API for results and follow-up (on the module's `api.blp`, so in the OpenAPI document):
ranks per area, anomaly flags, the follow-up report, actions and rectification items. The services decide;
these doors translate."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g
from flask.views import MethodView
from flask_smorest.fields import Upload as UploadField

from blueprints.cadre_evaluation import anomaly, followup, services
from blueprints.cadre_evaluation.api import blp
from blueprints.cadre_evaluation.models_results import ACTION_KINDS, ITEM_SOURCES
from blueprints.cadre_evaluation.schemas import CadreTargetOut
from blueprints.cadre_evaluation.web import actor, answering
from saas import db
from saas.auth import require
from saas.schemas import Id, Schema, Text

MANAGE = services.MANAGE


class CadreActionIn(Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(ACTION_KINDS))
    taken_on = ma.fields.Date(required=True)
    note = Text(load_default="", max_length=2000)


class CadreActionOut(Schema):
    id = Id()
    target_id = Id()
    kind = ma.fields.String()
    taken_on = ma.fields.Date()
    note = ma.fields.String()


class CadreItemIn(Schema):
    source = ma.fields.String(required=True, validate=ma.validate.OneOf(ITEM_SOURCES))
    text = Text(required=True, max_length=2000, min_length=1)
    owner = Text(load_default="", max_length=60)
    owner_user_id = Id(load_default=None, allow_none=True)
    deadline = ma.fields.Date(load_default=None, allow_none=True)


class CadreItemPatch(Schema):
    text = Text(load_default=None, max_length=2000, min_length=1)
    owner = Text(load_default=None, max_length=60)
    deadline = ma.fields.Date(allow_none=True)
    state = ma.fields.String(load_default=None, validate=ma.validate.OneOf(("open", "done")))


class CadreItemOut(Schema):
    id = Id()
    target_id = Id()
    source = ma.fields.String()
    text = ma.fields.String()
    owner = ma.fields.String()
    deadline = ma.fields.Date(allow_none=True)
    state = ma.fields.String()
    done_on = ma.fields.Date(allow_none=True)


class CadreFollowUpRow(Schema):
    target = ma.fields.Nested(CadreTargetOut)
    actions = ma.fields.Method("_actions")
    items = ma.fields.List(ma.fields.Nested(CadreItemOut))
    open = ma.fields.Integer()
    done = ma.fields.Integer()
    overdue = ma.fields.Integer()

    def _actions(self, row: dict[str, Any]) -> list[dict[str, Any]]:
        return [{**CadreActionOut().dump(a), "documents": [{"id": d.id, "filename": d.filename,
                                                            "size": d.size} for d in docs]}
                for a, docs in row["actions"]]


class CadreFollowUpPage(Schema):
    items = ma.fields.List(ma.fields.Nested(CadreFollowUpRow))


class CadreBurst(Schema):
    target_id = Id(attribute="target.id")
    window_start = ma.fields.AwareDateTime()
    count = ma.fields.Integer()
    network = ma.fields.String(metadata={"description": "A short code of the network's keyed hash, never an address"})


class CadrePattern(Schema):
    target_id = Id(attribute="target.id")
    channel = ma.fields.String()
    count = ma.fields.Integer()
    ballots = ma.fields.Integer()
    answers = ma.fields.String()


class CadreFlags(Schema):
    bursts = ma.fields.List(ma.fields.Nested(CadreBurst))
    patterns = ma.fields.List(ma.fields.Nested(CadrePattern))


@blp.route("/campaigns/<int:campaign_id>/flags")
class CadreFlagsView(MethodView):
    @blp.response(200, CadreFlags)
    @require(MANAGE)
    def get(self, campaign_id: int) -> Any:
        """Anomaly flags: bursts from one network and identical ballots, as counts that name no rater"""
        with answering(commit=False):
            campaign = services.get_campaign(db.session(), campaign_id)
            found = anomaly.flags(db.session(), campaign)
        return found


@blp.route("/campaigns/<int:campaign_id>/followup")
class CadreFollowUp(MethodView):
    @blp.response(200, CadreFollowUpPage)
    @require(MANAGE)
    def get(self, campaign_id: int) -> dict[str, Any]:
        """The follow-up report: per target its actions (with documents) and rectification items"""
        with answering(commit=False):
            campaign = services.get_campaign(db.session(), campaign_id)
            rows = followup.report(db.session(), campaign, followup.today(g.tenant))
        return {"items": rows}


@blp.route("/targets/<int:target_id>/actions")
class CadreActions(MethodView):
    @blp.arguments(CadreActionIn)
    @blp.response(201, CadreActionOut)
    @blp.alt_response(409, description="The rating has not closed yet")
    @require(MANAGE)
    def post(self, data: dict[str, Any], target_id: int) -> Any:
        """Record an action taken on a target (表扬, 通报, 诫勉谈话, 调整岗位); its documents follow on
        `/actions/{action_id}/documents`"""
        with answering():
            action = followup.add_action(db.session(), g.tenant, actor(), target_id, data)
        return action


class CadreDocumentsIn(Schema):
    document = ma.fields.List(UploadField(), required=True,
                              metadata={"description": "Up to five PDF, Word, Excel, text or picture files"})


class CadreDocumentOut(Schema):
    id = Id()
    filename = ma.fields.String()
    size = ma.fields.Integer()


@blp.route("/actions/<int:action_id>/documents")
class CadreActionDocuments(MethodView):
    @blp.arguments(CadreDocumentsIn, location="files")
    @blp.response(201, CadreDocumentOut(many=True))
    @require(MANAGE)
    def post(self, files: dict[str, Any], action_id: int) -> Any:
        """Add documents to an action (multipart, field `document`; all or nothing)"""
        uploads = files["document"][:6]
        documents = [(f.filename or "", f.read(followup.MAX_DOCUMENT_BYTES + 1)) for f in uploads]
        with answering():
            added = followup.add_documents(db.session(), g.tenant, actor(), action_id, documents)
        return added


@blp.route("/documents/<int:document_id>")
class CadreDocument(MethodView):
    @blp.response(200, {"type": "string", "format": "binary"}, content_type="application/octet-stream")
    @require(MANAGE)
    def get(self, document_id: int) -> Any:
        """A follow-up document, as an attachment"""
        with answering(commit=False):
            doc = followup.get_document(db.session(), document_id)
        return followup.document_response(doc)


@blp.route("/targets/<int:target_id>/items")
class CadreItems(MethodView):
    @blp.arguments(CadreItemIn)
    @blp.response(201, CadreItemOut)
    @blp.alt_response(409, description="The rating has not opened yet")
    @require(MANAGE)
    def post(self, data: dict[str, Any], target_id: int) -> Any:
        """Add a rectification item on a target, with its source, owner and deadline"""
        with answering():
            item = followup.add_item(db.session(), g.tenant, actor(), target_id, data)
        return item


@blp.route("/items/<int:item_id>")
class CadreItemById(MethodView):
    @blp.arguments(CadreItemPatch)
    @blp.response(200, CadreItemOut)
    @blp.alt_response(409, description="A done item cannot be reopened")
    @require(MANAGE)
    def patch(self, data: dict[str, Any], item_id: int) -> Any:
        """Change an item's text, owner or deadline, or mark it done"""
        with answering():
            item = followup.update_item(db.session(), g.tenant, actor(), item_id,
                                        {k: v for k, v in data.items() if v is not None or k == "deadline"})
        return item
