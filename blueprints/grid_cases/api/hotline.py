"""Hotline import: an export of hotline tickets becomes cases (all or nothing; tickets imported before skipped)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import abort
from flask_smorest.fields import Upload as UploadField

from blueprints.grid_cases.api import blp
from blueprints.grid_cases.services import hotline as tickets
from blueprints.grid_cases.web import actor, answering
from saas import db
from saas.auth import require
from saas.imports import ImportFileError
from saas.schemas import Schema


class HotlineFile(Schema):
    file = UploadField(required=True, metadata={"description": "The hotline's export, CSV (UTF-8 or GBK) or XLSX"})


class HotlineArgs(Schema):
    class Meta:
        unknown = ma.EXCLUDE

    dry_run = ma.fields.Boolean(load_default=True, metadata={"description": "Only check (the default)"})


class HotlineOut(Schema):
    dry_run = ma.fields.Boolean()
    tickets = ma.fields.Integer(metadata={"description": "Tickets that are (or would be) new cases"})
    skipped = ma.fields.Integer(metadata={"description": "Tickets imported before"})
    numbers = ma.fields.List(ma.fields.String(), metadata={"description": "The new cases' numbers"})


@blp.route("/hotline")
class HotlineImport(MethodView):
    @blp.arguments(HotlineArgs, location="query")
    @blp.arguments(HotlineFile, location="files")
    @blp.response(200, HotlineOut)
    @require("grid_cases.import")
    def post(self, args: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        """Check an export of hotline tickets and, with dry_run=false, report each new ticket as a case"""
        data = files["file"].stream.read(tickets.MAX_BYTES + 1)
        if len(data) > tickets.MAX_BYTES:
            abort(413)
        try:
            _rows, checked = tickets.check_file(db.session(), data, files["file"].filename or "")
        except ImportFileError as err:
            db.session.rollback()
            abort(422, errors={"file": [err.message]})
        if not checked.ok:
            db.session.rollback()
            abort(422, errors={"file": [_("Line %(line)s: %(message)s", line=line, message=message)
                                        for line, message in checked.errors]})
        numbers: list[str] = []
        if not args["dry_run"]:
            with answering():
                cases = tickets.import_rows(db.session(), g.tenant, actor(), checked,
                                            filename=files["file"].filename or "")
            numbers = [c.number for c in cases]
        else:
            db.session.rollback()
        return {"dry_run": args["dry_run"], "tickets": len(checked.rows), "skipped": len(checked.skipped),
                "numbers": numbers}
