"""Cases: the work lists, reporting, one case with its timeline, its transitions and its photos."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g, make_response, url_for
from flask.views import MethodView
from flask_smorest import abort
from flask_smorest.fields import Upload as UploadField

from blueprints.grid_cases import services
from blueprints.grid_cases.api import blp
from blueprints.grid_cases.models import GridCase
from blueprints.grid_cases.schemas import CaseDetailOut, CaseFilter, CaseIn, CaseOut, CasePage, PhotoOut, TransitionIn
from blueprints.grid_cases.services import cases as case_services
from blueprints.grid_cases.services.photos import photo_out
from blueprints.grid_cases.web import actor, answering
from saas import db
from saas.auth import require
from saas.pictures import Upload
from saas.schemas import Schema


def case_out(case: GridCase) -> dict[str, Any]:
    me = actor()
    row = services.case_rows(db.session(), [case])[0]
    row["actions"] = [t.action for t in case_services.available_actions(me, case, row["level_kind"])]
    return row


def photos_out(photos: list[Any]) -> list[dict[str, Any]]:
    return [{**photo_out(p), "url": url_for("grid_cases_api.PhotoById", photo_id=p.id)} for p in photos]


@blp.route("/cases")
class GridCases(MethodView):
    @blp.arguments(CaseFilter, location="query")
    @blp.response(200, CasePage)
    @require("grid_cases.view")
    def get(self, filters: dict[str, Any]) -> dict[str, Any]:
        """A work list of cases, newest first (keyset pages: pass `next` as `before`)"""
        cases, cursor, errors = case_services.list_cases(db.session(), g.tenant, actor(), filters,
                                                         limit=filters["limit"])
        if errors:
            abort(422, errors=errors)
        return {"items": services.case_rows(db.session(), cases), "next": cursor}

    @blp.arguments(CaseIn)
    @blp.response(201, CaseOut)
    @blp.alt_response(403, response="FORBIDDEN")
    @require("grid_cases.report")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Report a case (photos are added with POST /cases/{case_id}/photos)"""
        with answering():
            case = services.report_case(db.session(), g.tenant, actor(), data, source=data["source"],
                                        source_ref=data.get("source_ref"))
        return case_out(case)


@blp.route("/cases/<int:case_id>")
class GridCaseById(MethodView):
    @blp.response(200, CaseDetailOut)
    @require("grid_cases.view")
    def get(self, case_id: int) -> dict[str, Any]:
        """One case with its timeline and photos"""
        session = db.session()
        me = actor()
        with answering(commit=False):
            case = services.get_case(session, me, case_id)
        out = case_out(case)
        out["timeline"] = [{
            "id": str(e.id), "at": e.at, "action": e.action, "label": str(case_services.EVENT_LABELS.get(e.action, "")),
            "actor": e.actor_name, "role": e.actor_role, "from_state": e.from_state, "to_state": e.to_state,
            "note": e.note, "public": e.public, "data": e.data} for e in services.timeline(session, case)]
        out["photos"] = photos_out(case_services.photos_of(session, case))
        return out


@blp.route("/cases/<int:case_id>/transitions")
class GridCaseTransitions(MethodView):
    @blp.arguments(TransitionIn)
    @blp.response(200, CaseOut)
    @blp.alt_response(409, response="CONFLICT")
    @require("grid_cases.view")
    def post(self, data: dict[str, Any], case_id: int) -> dict[str, Any]:
        """Move the case one step: refused with 409 when its version or state changed, 403 when not yours"""
        with answering():
            case = services.act(db.session(), g.tenant, actor(), case_id, data["action"], data)
        return case_out(case)


class PhotoUpload(Schema):
    photos = ma.fields.List(UploadField(), required=True, metadata={"description": "JPEG, PNG or WebP pictures"})


class PhotoStage(Schema):
    class Meta:
        unknown = ma.EXCLUDE

    stage = ma.fields.String(load_default="report", validate=ma.validate.OneOf(("report", "result", "verify")))


@blp.route("/cases/<int:case_id>/photos")
class GridCasePhotos(MethodView):
    @blp.arguments(PhotoStage, location="query")
    @blp.arguments(PhotoUpload, location="files")
    @blp.response(201, PhotoOut(many=True))
    @require("grid_cases.view")
    def post(self, stage: dict[str, Any], files: dict[str, Any], case_id: int) -> list[dict[str, Any]]:
        """Add photos: the reporter's to the report, the handler's to the result, the verifier's on site"""
        uploads = [Upload(f.filename or "", f.read()) for f in files["photos"]]
        with answering():
            rows = case_services.add_photos(db.session(), g.tenant, actor(), case_id, stage["stage"], uploads)
        return photos_out(rows)


class PhotoSize(Schema):
    class Meta:
        unknown = ma.EXCLUDE

    size = ma.fields.String(load_default="full", validate=ma.validate.OneOf(("full", "thumb")))


@blp.route("/photos/<int:photo_id>")
class PhotoById(MethodView):
    @blp.arguments(PhotoSize, location="query")
    @blp.response(200, {"type": "string", "format": "binary"}, content_type="image/jpeg")
    @require("grid_cases.view")
    def get(self, args: dict[str, Any], photo_id: int) -> Any:
        """A photo (JPEG, without metadata); `size=thumb` for the 320-pixel one"""
        with answering(commit=False):
            photo = case_services.photo_for(db.session(), actor(), photo_id)
        response = make_response(photo.thumb if args["size"] == "thumb" else photo.data)
        response.headers["Content-Type"] = "image/jpeg"
        response.headers["Cache-Control"] = "private, max-age=3600"
        return response
