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
from saas import db
from saas.auth import require
from saas.rendering import render
from tenants import imports
from tenants.import_views import staging_dir

KIND = "grid_cases.hotline"


def _page(status: int = 200, **context: Any) -> Any:
    return render("grid_cases/hotline.html", block="result" if request.method == "POST" else None, status=status,
                  columns=tickets.COLUMNS, max_mb=tickets.MAX_BYTES // (1024 * 1024), max_rows=tickets.MAX_ROWS,
                  **context)


def _stage(raw_rows: list[tuple[int, dict[str, str]]], filename: str) -> str:
    return imports.stage(staging_dir(), current_app.config["SECRET_KEY"], tenant_id=g.tenant.id, user_id=g.user.id,
                         kind=KIND, filename=filename, raw_rows=raw_rows)


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
    try:
        raw_rows, checked = tickets.check_file(db.session(), data)
    except imports.ImportFileError as err:
        return _page(422, file_error=err.message)
    finally:
        db.session.rollback()
    token = _stage(raw_rows, upload.filename[:200]) if checked.ok and checked.rows else None
    return _page(200 if checked.ok else 422, checked=checked, token=token, filename=upload.filename[:200])


@bp.post("/hotline/confirm")
@require("grid_cases.import")
def hotline_confirm() -> Any:
    claimed = imports.claim(staging_dir(), current_app.config["SECRET_KEY"], request.form.get("token", ""),
                            tenant_id=g.tenant.id, user_id=g.user.id, kind=KIND)
    if claimed is None:
        return _page(422, file_error=_("This import has expired or was already used. Upload the file again."))
    filename, raw_rows = claimed
    # checked again: the district may have changed since the preview (a grid removed, a ticket imported)
    checked = tickets.check_rows(db.session(), raw_rows)
    if not checked.ok:
        db.session.rollback()
        return _page(422, checked=checked, filename=filename)
    try:
        cases = tickets.import_rows(db.session(), g.tenant, actor(), checked, filename=filename)
    except services.ServiceError as err:
        db.session.rollback()
        return _page(422, file_error=" ".join(err.errors.values()))
    except Refused as err:
        return refuse(err)
    db.session.commit()
    return _page(200, done=[c.number for c in cases], filename=filename)


@bp.post("/hotline/cancel")
@require("grid_cases.import")
def hotline_cancel() -> Any:
    imports.discard(staging_dir(), current_app.config["SECRET_KEY"], request.form.get("token", ""),
                    tenant_id=g.tenant.id, user_id=g.user.id, kind=KIND)
    return _page(cancelled=True)
