"""Registry import pages: upload a list of elderly residents, see every bad row, confirm (all or nothing)."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request
from flask_babel import gettext as _

from blueprints.elderly_visits import registry_import
from blueprints.elderly_visits.views import bp, refuse
from blueprints.elderly_visits.web import actor
from saas import db, imports
from saas.actors import Refused, ServiceError
from saas.auth import require
from saas.imports import staging_dir
from saas.rendering import render

KIND = registry_import.KIND
MAX_BYTES = imports.MAX_BYTES


def _page(status: int = 200, **context: Any) -> Any:
    return render("elderly_visits/import.html", block="result" if request.method == "POST" else None, status=status,
                  columns=registry_import.COLUMNS, max_mb=MAX_BYTES // (1024 * 1024),
                  max_rows=registry_import.MAX_ROWS, **context)


@bp.get("/import")
@require("elderly_visits.manage")
def registry_import_page() -> Any:
    return _page()


@bp.post("/import/preview")
@require("elderly_visits.manage")
def registry_import_preview() -> Any:
    """Check the upload and show every bad row; nothing is written until it is confirmed."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(422, file_error=_("Choose a file to upload."))
    data = upload.stream.read(MAX_BYTES + 1)
    context = imports.ImportContext(g.tenant, actor(), filename=upload.filename[:200])
    try:
        checked, token = imports.preview(db.session(), registry_import.REGISTRY, context, data,
                                         directory=staging_dir(), secret=current_app.config["SECRET_KEY"],
                                         user_id=g.user.id)
    except imports.ImportFileError as err:
        return _page(422, file_error=err.message)
    finally:
        db.session.rollback()
    return _page(200 if checked.ok else 422, checked=checked, token=token, filename=context.filename)


@bp.post("/import/confirm")
@require("elderly_visits.manage")
def registry_import_confirm() -> Any:
    context = imports.ImportContext(g.tenant, actor())
    try:
        checked, summary = imports.confirm(db.session(), registry_import.REGISTRY, context,
                                           request.form.get("token", ""), directory=staging_dir(),
                                           secret=current_app.config["SECRET_KEY"], user_id=g.user.id)
    except imports.ImportExpired:
        return _page(422, file_error=_("This import has expired or was already used. Upload the file again."))
    except ServiceError as err:
        db.session.rollback()
        return _page(422, file_error=" ".join(str(v) for v in err.errors.values()))
    except Refused as err:
        return refuse(err)
    if summary is None:
        db.session.rollback()
        return _page(422, checked=checked, filename=context.filename)
    db.session.commit()
    return _page(200, done=summary["people"], filename=context.filename)


@bp.post("/import/cancel")
@require("elderly_visits.manage")
def registry_import_cancel() -> Any:
    imports.discard(staging_dir(), current_app.config["SECRET_KEY"], request.form.get("token", ""),
                    tenant_id=g.tenant.id, user_id=g.user.id, kind=KIND)
    return _page(cancelled=True)
