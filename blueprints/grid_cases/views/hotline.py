"""Hotline import pages: upload an export of hotline tickets, see what it would do, confirm it."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request
from flask_babel import gettext as _

from blueprints.grid_cases import services
from blueprints.grid_cases.services import hotline as tickets
from blueprints.grid_cases.services.base import Refused
from blueprints.grid_cases.views import bp
from blueprints.grid_cases.views.cases import refuse
from blueprints.grid_cases.web import actor
from saas import db, imports
from saas.auth import require
from saas.imports import staging_dir
from saas.rendering import render

KIND = tickets.KIND


def _page(status: int = 200, **context: Any) -> Any:
    return render("grid_cases/hotline.html", block="result" if request.method == "POST" else None, status=status,
                  columns=tickets.COLUMNS, max_mb=tickets.MAX_BYTES // (1024 * 1024), max_rows=tickets.MAX_ROWS,
                  **context)


@bp.get("/hotline")
@require("grid_cases.import")
def hotline() -> Any:
    return _page()


@bp.post("/hotline/preview")
@require("grid_cases.import")
def hotline_preview() -> Any:
    """Check the upload and show it; nothing is written until it is confirmed."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(422, file_error=_("Choose a file to upload."))
    data = upload.stream.read(tickets.MAX_BYTES + 1)
    if len(data) > tickets.MAX_BYTES:
        return _page(422, file_error=_("The file is larger than %(mb)s MB. Split it into smaller files.",
                                       mb=tickets.MAX_BYTES // (1024 * 1024)))
    context = imports.ImportContext(g.tenant, actor(), filename=upload.filename[:200])
    try:
        checked, token = imports.preview(db.session(), tickets.HOTLINE, context, data, directory=staging_dir(),
                                         secret=current_app.config["SECRET_KEY"], user_id=g.user.id)
    except imports.ImportFileError as err:
        return _page(422, file_error=err.message)
    finally:
        db.session.rollback()
    return _page(200 if checked.ok else 422, checked=checked, token=token, filename=context.filename)


@bp.post("/hotline/confirm")
@require("grid_cases.import")
def hotline_confirm() -> Any:
    context = imports.ImportContext(g.tenant, actor())
    try:
        # the kernel claims the staged rows once and checks them again: the district may have changed since the
        # preview (a grid removed, a ticket imported)
        checked, summary = imports.confirm(db.session(), tickets.HOTLINE, context, request.form.get("token", ""),
                                           directory=staging_dir(), secret=current_app.config["SECRET_KEY"],
                                           user_id=g.user.id)
    except imports.ImportExpired:
        return _page(422, file_error=_("This import has expired or was already used. Upload the file again."))
    except services.ServiceError as err:
        db.session.rollback()
        return _page(422, file_error=" ".join(err.errors.values()))
    except Refused as err:
        db.session.rollback()
        return refuse(err)
    if summary is None:
        db.session.rollback()
        return _page(422, checked=checked, filename=context.filename)
    db.session.commit()
    return _page(200, done=summary["cases"], filename=context.filename)


@bp.post("/hotline/cancel")
@require("grid_cases.import")
def hotline_cancel() -> Any:
    imports.discard(staging_dir(), current_app.config["SECRET_KEY"], request.form.get("token", ""),
                    tenant_id=g.tenant.id, user_id=g.user.id, kind=KIND)
    return _page(cancelled=True)
