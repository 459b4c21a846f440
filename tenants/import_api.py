"""The import API: POST a CSV or XLSX of org units or staff; a dry run checks, a real run writes all or nothing."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask import current_app, g, request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_smorest import abort
from flask_smorest.fields import Upload

from saas import db
from saas.api import Blueprint, ErrorSchema
from saas.context import can, role_book
from saas.schemas import Schema
from tenants import imports

import_api = Blueprint(
    "import_api", __name__, url_prefix="/api/v1/t/<tenant>/admin/import",
    description="Import of the organisation tree and of staff from CSV (UTF-8 or GBK) or XLSX",
)


class ImportArgs(Schema):
    class Meta:
        unknown = ma.EXCLUDE

    dry_run = ma.fields.Boolean(load_default=True, metadata={
        "description": "true (the default) only checks the file; false writes every row, or none if any is bad"})


class ImportFile(Schema):
    class Meta:
        unknown = ma.EXCLUDE

    file = Upload(required=True, metadata={"description": "The CSV or XLSX file, with the template's columns"})


class ImportResult(Schema):
    kind = ma.fields.String(metadata={"description": "org, staff or a module's kind"})
    dry_run = ma.fields.Boolean()
    imported = ma.fields.Boolean(metadata={"description": "Whether the rows were written"})
    rows = ma.fields.Integer(metadata={"description": "Data rows in the file"})
    counts = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(),
                            metadata={"description": "Rows by kind of unit (org) or by role (staff)"})
    ignored_columns = ma.fields.List(ma.fields.String(), metadata={"description": "Columns the import does not use"})


@import_api.route("/<any(org, staff):kind>")
class ImportByKind(MethodView):
    @import_api.arguments(ImportArgs, location="query")
    @import_api.arguments(ImportFile, location="files")
    @import_api.response(200, ImportResult)
    @import_api.alt_response(422, schema=ErrorSchema,
                             description="The file or some rows are bad: `errors` lists them by line number")
    @import_api.alt_response(409, schema=ErrorSchema,
                             description="The same units or people changed meanwhile; nothing was imported")
    def post(self, args: dict[str, Any], files: dict[str, Any], kind: str) -> dict[str, Any]:
        """Check (dry run) or import a file of org units (`org`) or of staff (`staff`)"""
        if not can(imports.PERMISSION[kind]):
            abort(403)
        max_bytes = int(current_app.config.get("IMPORT_MAX_BYTES", imports.MAX_BYTES))
        max_rows = int(current_app.config.get("IMPORT_MAX_ROWS", imports.MAX_ROWS))
        upload = files["file"]
        data = upload.stream.read(max_bytes + 1)
        if len(data) > max_bytes:
            abort(413, message=_("The file is larger than %(mb)s MB. Split it into smaller files.",
                                 mb=max_bytes // (1024 * 1024)))
        try:
            checked = imports.check_file(db.session(), role_book(), kind, data, max_rows=max_rows,
                                         filename=upload.filename or "")
        except imports.ImportFileError as err:
            db.session.rollback()
            abort(422, message=err.message, errors={"file": [err.message]})
        if checked.errors:
            db.session.rollback()
            bad = len({e.line for e in checked.errors})
            abort(422, message=ngettext("%(num)s row has errors; nothing was imported.",
                                        "%(num)s rows have errors; nothing was imported.", bad),
                  errors=checked.errors_by_line())
        imported = False
        if not args["dry_run"]:
            try:
                imports.write(db.session(), g.user, checked, filename=(upload.filename or "")[:200],
                              ip=request.remote_addr)
                db.session.commit()
            except sa.exc.IntegrityError:
                db.session.rollback()
                abort(409, message=_("Nothing was imported: someone changed the same units or people meanwhile. "
                                     "Upload the file again."))
            imported = True
        else:
            db.session.rollback()
        return {"kind": kind, "dry_run": args["dry_run"], "imported": imported, "rows": len(checked.rows),
                "counts": checked.counts, "ignored_columns": checked.ignored_columns}


@import_api.route("/modules/<kind>")
class ImportModuleKind(MethodView):
    @import_api.arguments(ImportArgs, location="query")
    @import_api.arguments(ImportFile, location="files")
    @import_api.response(200, ImportResult)
    @import_api.alt_response(422, schema=ErrorSchema,
                             description="The file or some rows are bad: `errors` lists them by line number")
    def post(self, args: dict[str, Any], files: dict[str, Any], kind: str) -> dict[str, Any]:
        """Check (dry run) or import a file of a module's kind (e.g. `business_feedback.supervisors`), as the
        kernel's import page does: every bad row named, all rows written or none"""
        from saas import imports as kernel_imports
        from saas.actors import Refused, ServiceError
        from tenants.import_views import import_context, module_kind

        found = module_kind(kind)
        upload = files["file"]
        data = upload.stream.read(found.max_bytes + 1)
        context = import_context((upload.filename or "")[:200])
        try:
            checked = kernel_imports.check_file(db.session(), found, context, data)
        except kernel_imports.ImportFileError as err:
            db.session.rollback()
            abort(422, message=err.message, errors={"file": [err.message]})
        if checked.errors or not checked.rows:
            db.session.rollback()
            bad = len({e.line for e in checked.errors})
            abort(422, message=ngettext("%(num)s row has errors; nothing was imported.",
                                        "%(num)s rows have errors; nothing was imported.", bad)
                  if bad else _("The file has no rows to import."),
                  errors=checked.errors_by_line())
        imported = False
        if args["dry_run"]:
            db.session.rollback()
        else:
            try:
                found.write(db.session(), context, checked)
            except (ServiceError, Refused) as err:
                db.session.rollback()
                message = (" ".join(str(v) for v in err.errors.values()) if isinstance(err, ServiceError)
                           else err.message)
                abort(422, message=message)
            db.session.commit()
            imported = True
        return {"kind": kind, "dry_run": args["dry_run"], "imported": imported, "rows": len(checked.rows),
                "counts": checked.counts, "ignored_columns": checked.ignored_columns}


def blueprints() -> list[Blueprint]:
    return [import_api]
