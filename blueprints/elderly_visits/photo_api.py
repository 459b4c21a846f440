"""A visit's photo in elderly visits' JSON API: sent apart from the visit (the visit itself is JSON), read by those
who see the visit. The reading of an upload is the kernel's (`saas.pictures`)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import make_response
from flask.views import MethodView
from flask_smorest.fields import Upload as UploadField

from blueprints.elderly_visits import services
from blueprints.elderly_visits.api import blp
from blueprints.elderly_visits.web import actor, answering
from saas import db
from saas.auth import require
from saas.pictures import Upload
from saas.schemas import Schema


class VisitPhotoUpload(Schema):
    photo = UploadField(required=True, metadata={"description": "A JPEG, PNG or WebP picture"})


class VisitPhotoOut(Schema):
    visit_id = ma.fields.String()
    width = ma.fields.Integer()
    height = ma.fields.Integer()
    size = ma.fields.Integer()


class PhotoSize(Schema):
    class Meta:
        unknown = ma.EXCLUDE

    size = ma.fields.String(load_default="full", validate=ma.validate.OneOf(("full", "thumb")))


@blp.route("/visits/<int:visit_id>/photo")
class VisitPhotoById(MethodView):
    @blp.arguments(PhotoSize, location="query")
    @blp.response(200, {"type": "string", "format": "binary"}, content_type="image/jpeg")
    @require("elderly_visits.view")
    def get(self, args: dict[str, Any], visit_id: int) -> Any:
        """The visit's photo (JPEG, without metadata); `size=thumb` for the 320-pixel one"""
        with answering(commit=False):
            photo = services.visit_photo(db.session(), actor(), visit_id)
        response = make_response(photo.thumb if args["size"] == "thumb" else photo.data)
        response.headers["Content-Type"] = "image/jpeg"
        response.headers["Cache-Control"] = "private, max-age=3600"
        return response

    @blp.arguments(VisitPhotoUpload, location="files")
    @blp.response(201, VisitPhotoOut)
    @blp.alt_response(409, response="CONFLICT", description="The visit already has its photo")
    @require("elderly_visits.visit")
    def post(self, files: dict[str, Any], visit_id: int) -> dict[str, Any]:
        """Add the photo of a visit logged without one (one photo a visit)"""
        upload = files["photo"]
        with answering():
            row = services.add_visit_photo(db.session(), actor(), visit_id, [Upload(upload.filename or "",
                                                                                    upload.read())])
            out = {"visit_id": str(row.visit_id), "width": row.width, "height": row.height, "size": row.size}
        return out
