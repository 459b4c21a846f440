"""District admin pages for importing the org tree and the staff: upload, preview, confirm, templates.

The upload is checked and shown, never written; its rows wait on the server (encrypted, bound to the
tenant and the person, one hour at most) until the admin confirms, and are then checked again and
written in one transaction, or not at all.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, g, request, send_file
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from saas import db
from saas import imports as kernel_imports
from saas.auth import login_required
from saas.context import can, enabled_modules, role_book
from saas.rendering import render
from tenants import imports, services

bp = Blueprint("imports", __name__, url_prefix="/t/<tenant>/admin/import")

TITLES = {"org": _l("Organisation tree"), "staff": _l("Staff")}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _limits() -> tuple[int, int]:
    return (int(current_app.config.get("IMPORT_MAX_BYTES", imports.MAX_BYTES)),
            int(current_app.config.get("IMPORT_MAX_ROWS", imports.MAX_ROWS)))


def staging_dir() -> Path:
    return kernel_imports.staging_dir()


def _allowed() -> list[str]:
    return [k for k in imports.KINDS if can(imports.PERMISSION[k])]


def _gate(kind: str) -> None:
    if not can(imports.PERMISSION[kind]):
        abort(403)


def _page(status: int = 200, **context: Any) -> Any:
    # every refusal answers 422, the one error status htmx swaps in (base.html's responseHandling)
    max_bytes, max_rows = _limits()
    context.setdefault("active", None)
    return render("tenants/import.html", block="result", status=status, kinds=_allowed(), titles=TITLES,
                  module_kinds=module_kinds(),
                  columns=imports.COLUMNS, max_bytes=max_bytes, max_mb=max_bytes // (1024 * 1024), max_rows=max_rows,
                  **context)


def _preview_context(checked: imports.Checked, filename: str, token: str | None) -> dict[str, Any]:
    return {
        "active": checked.kind,
        "preview": {
            "kind": checked.kind,
            "filename": filename,
            "rows": len(checked.raw),
            "counts": imports.count_labels(checked, role_book()),
            "first": imports.preview_rows(checked),
            "errors": checked.errors,
            "ignored": checked.ignored_columns,
            "token": token,
        },
    }


@bp.get("")
@login_required
def upload() -> Any:
    if not _allowed() and not module_kinds():
        abort(403)
    return _page()


@bp.post("/<any(org, staff):kind>")
@login_required
def preview(kind: str) -> Any:
    """Check an uploaded file and show what it would do; nothing is written."""
    _gate(kind)
    max_bytes, max_rows = _limits()
    too_large = _("The file is larger than %(mb)s MB. Split it into smaller files.", mb=max_bytes // (1024 * 1024))
    # refuse a large upload before its body is parsed at all
    if request.content_length is not None and request.content_length > max_bytes + 64 * 1024:
        return _page(422, active=kind, file_error=too_large)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(422, active=kind, file_error=_("Choose a file to upload."))
    data = upload.stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        return _page(422, active=kind, file_error=too_large)
    filename = upload.filename[:200]
    try:
        checked = imports.check_file(db.session(), role_book(), kind, data, max_rows=max_rows, filename=filename)
    except imports.ImportFileError as err:
        return _page(422, active=kind, file_error=err.message)
    finally:
        db.session.rollback()
    token = None
    if checked.ok:
        token = imports.stage(staging_dir(), current_app.config["SECRET_KEY"], tenant_id=g.tenant.id,
                              user_id=g.user.id, kind=kind, filename=filename, raw_rows=checked.raw)
    return _page(200 if checked.ok else 422, **_preview_context(checked, filename, token))


@bp.post("/<any(org, staff):kind>/confirm")
@login_required
def confirm(kind: str) -> Any:
    """Check the staged rows again (the district may have changed since the preview) and write them all."""
    _gate(kind)
    claimed = imports.claim(staging_dir(), current_app.config["SECRET_KEY"], request.form.get("token", ""),
                            tenant_id=g.tenant.id, user_id=g.user.id, kind=kind)
    if claimed is None:
        return _page(422, active=kind,
                     file_error=_("This import has expired or was already used. Upload the file again."))
    filename, raw_rows = claimed
    checked = imports.check_rows(db.session(), role_book(), kind, raw_rows)
    if not checked.ok:
        db.session.rollback()
        return _page(422, **_preview_context(checked, filename, None))
    try:
        summary = imports.write(db.session(), g.user, checked, filename=filename, ip=request.remote_addr)
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        return _page(422, active=kind, file_error=_(
            "Nothing was imported: someone changed the same units or people meanwhile. Upload the file again."))
    return _page(200, active=kind, done={"kind": kind, "filename": filename, "summary": summary,
                                         "counts": imports.count_labels(checked, role_book())})


@bp.post("/<any(org, staff):kind>/cancel")
@login_required
def cancel(kind: str) -> Any:
    _gate(kind)
    imports.discard(staging_dir(), current_app.config["SECRET_KEY"], request.form.get("token", ""),
                    tenant_id=g.tenant.id, user_id=g.user.id, kind=kind)
    return _page(active=kind, cancelled=True)


@bp.get("/template/<any(org, staff):kind>.<any(csv, xlsx):fmt>")
@login_required
def template(kind: str, fmt: str) -> Any:
    """A template with Chinese headers and two example rows that import as they are."""
    _gate(kind)
    district_code = services.district_root(db.session()).code
    if fmt == "csv":
        body, mimetype = imports.template_csv(kind, district_code), "text/csv; charset=utf-8"
    else:
        body, mimetype = imports.template_xlsx(kind, district_code, role_book()), XLSX_TYPE
    return send_file(io.BytesIO(body), mimetype=mimetype, as_attachment=True,
                     download_name=f"wanggetong-{kind}-template.{fmt}", max_age=0)


# --- a module's kinds (saas.imports.ImportKind with `door`): one page for every module, as the API has one route ---


def module_kind(key: str) -> kernel_imports.ImportKind:
    """A module's kind of import offered by the kernel's door: its module switched on, the person allowed; else 404
    (a kind of a module that is off does not exist for the district) or 403."""
    kind = kernel_imports.import_kinds(current_app.extensions["saas.modules"]).get(key)
    if (kind is None or key in kernel_imports.KERNEL_KINDS or not kind.door
            or key.split(".", 1)[0] not in enabled_modules()):
        abort(404)
    if not can(kind.permission):
        abort(403)
    return kind


def module_kinds() -> list[kernel_imports.ImportKind]:
    """The module kinds this person may import in this district, for the import page's list."""
    enabled = enabled_modules()
    return [k for key, k in kernel_imports.import_kinds(current_app.extensions["saas.modules"]).items()
            if key not in kernel_imports.KERNEL_KINDS and k.door and key.split(".", 1)[0] in enabled
            and can(k.permission)]


def _module_page(kind: kernel_imports.ImportKind, status: int = 200, **context: Any) -> Any:
    return render("tenants/module_import.html", block="result" if request.method == "POST" else None,
                  status=status, kind=kind, max_mb=kind.max_bytes // (1024 * 1024), **context)


def import_context(filename: str = "") -> kernel_imports.ImportContext:
    """The import context of this request: the district and the signed-in person as the services see them."""
    from saas.actors import Actor

    return kernel_imports.ImportContext(g.tenant, Actor(g.user, role_book(), frozenset(enabled_modules())),
                                        filename=filename)


@bp.get("/modules/<kind>")
@login_required
def module_upload(kind: str) -> Any:
    return _module_page(module_kind(kind))


@bp.post("/modules/<kind>/preview")
@login_required
def module_preview(kind: str) -> Any:
    """Check an uploaded file of a module's kind and name every bad row; nothing is written."""
    found = module_kind(kind)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _module_page(found, 422, file_error=_("Choose a file to upload."))
    data = upload.stream.read(found.max_bytes + 1)
    context = import_context(upload.filename[:200])
    try:
        checked, token = kernel_imports.preview(db.session(), found, context, data, directory=staging_dir(),
                                                secret=current_app.config["SECRET_KEY"], user_id=g.user.id)
    except kernel_imports.ImportFileError as err:
        return _module_page(found, 422, file_error=err.message)
    finally:
        db.session.rollback()
    return _module_page(found, 200 if checked.ok and checked.rows else 422, checked=checked, token=token,
                        filename=context.filename)


@bp.post("/modules/<kind>/confirm")
@login_required
def module_confirm(kind: str) -> Any:
    """Check the staged rows again against the district as it is now and write them all, or none."""
    from saas.actors import Refused, ServiceError

    found = module_kind(kind)
    context = import_context()
    try:
        checked, summary = kernel_imports.confirm(db.session(), found, context, request.form.get("token", ""),
                                                  directory=staging_dir(), secret=current_app.config["SECRET_KEY"],
                                                  user_id=g.user.id)
    except kernel_imports.ImportExpired:
        return _module_page(found, 422, file_error=_(
            "This import has expired or was already used. Upload the file again."))
    except (ServiceError, Refused) as err:
        db.session.rollback()
        message = (" ".join(str(v) for v in err.errors.values()) if isinstance(err, ServiceError) else err.message)
        return _module_page(found, 422, file_error=message)
    if summary is None:
        db.session.rollback()
        return _module_page(found, 422, checked=checked, filename=context.filename)
    db.session.commit()
    return _module_page(found, done=len(checked.rows), filename=context.filename)


@bp.post("/modules/<kind>/cancel")
@login_required
def module_cancel(kind: str) -> Any:
    found = module_kind(kind)
    kernel_imports.discard(staging_dir(), current_app.config["SECRET_KEY"], request.form.get("token", ""),
                           tenant_id=g.tenant.id, user_id=g.user.id, kind=found.key)
    return _module_page(found, cancelled=True)
