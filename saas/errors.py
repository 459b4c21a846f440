"""One error handler for pages and API: JSON with a stable code under /api, pages elsewhere.

A module's mount that speaks another protocol (Open311's error array) registers its own handlers on its
blueprint; Flask asks those first for its routes.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import Flask, abort, g, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError, ServiceUnavailable

from saas import db
from saas.api import ERROR_CODES
from saas.i18n import localize_errors

log = logging.getLogger("saas.errors")


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_payload(status: int, data: dict[str, Any] | None = None) -> dict[str, Any]:
    code, message = ERROR_CODES.get(status, (f"http_{status}", ""))
    payload: dict[str, Any] = {"code": code, "message": str(message)}
    if data:
        if data.get("code"):
            payload["code"] = data["code"]
        if data.get("message"):
            payload["message"] = str(data["message"])
        errors = data.get("errors") or data.get("messages")
        if errors:
            if isinstance(errors, dict) and set(errors) <= {"json", "query", "form", "files", "path", "headers"}:
                # webargs nests by location; one location is the usual case, so lift it
                errors = errors[next(iter(errors))] if len(errors) == 1 else errors
            if not isinstance(errors, dict):
                # `errors` is documented as an object by field; a message about the whole body
                # ("Invalid JSON body.") goes under `_schema`, as marshmallow names it
                errors = {"_schema": errors if isinstance(errors, list) else [errors]}
            payload["errors"] = localize_errors(errors)
    return payload


def handle_http_exception(error: HTTPException) -> Any:
    # whatever the request wrote before it failed is not kept, and an aborted transaction must not
    # break the error page's own queries (menu, tenant)
    db.session.rollback()
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    if status == 429:
        headers.update(getattr(error, "headers", None) or {})
    if error.response is not None and status in (301, 302, 303, 307, 308, 429):
        # a redirect, or a door's own answer to a refused request (saas.throttle: the form again, with the wait)
        return error.response
    if status == 429 and not data.get("message"):
        data = {**data, "message": _refused_message()}
    if wants_json():
        response = jsonify(error_payload(status, data))
        response.status_code = status
        response.headers.update(headers)
        return response
    payload = error_payload(status, data)
    html = render_template("errors/error.html", status=status, message=payload["message"], tenant=g.get("tenant"))
    return html, status, headers


def _refused_message() -> str | None:
    """How long a throttled request must wait, from the limit it broke (saas.throttle)."""
    from flask_babel import ngettext

    from saas.extensions import limiter
    from saas.throttle import wait_seconds

    breached = [lim for lim in limiter.current_limits if lim.breached]
    if not breached:
        return None
    wait = max(wait_seconds(lim) for lim in breached)
    return ngettext("Too many attempts. Try again in %(num)d second.",
                    "Too many attempts. Try again in %(num)d seconds.", wait)


class TenantSuspended(ServiceUnavailable):
    """The platform suspended the district: every one of its paths answers this, its data untouched.

    503, not 403: the refusal is about the district's service, not about the person asking (a 403 would tell a
    grid worker they lack a permission their admin could grant), it is temporary, and API and Open311 clients
    and crawlers read 503 as "come back later" where they would drop a resource that answered 403 or 404.
    """

    def __init__(self, name: str):
        super().__init__()
        self.district = name


def handle_suspended(error: TenantSuspended) -> Any:
    db.session.rollback()
    message = _("%(name)s is suspended on this platform for now. Its data is kept; please contact the district "
                "office or try again later.", name=error.district)
    headers = {"Cache-Control": "no-store"}
    if wants_json():
        response = jsonify({"code": "tenant_suspended", "message": message})
        response.status_code = 503
        response.headers.update(headers)
        return response
    return render_template("errors/suspended.html", district=error.district, message=message), 503, headers


def handle_bad_value(error: sa.exc.DataError) -> Any:
    """A value the database refuses (out of range, malformed) is the client's error, not ours."""
    log.warning("database refused a value on %s %s: %s", request.method, request.path, error.orig)
    return handle_http_exception(BadRequest())


def refuse_nul_bytes() -> None:
    """NUL never belongs in text a person sends, and PostgreSQL refuses it in every text column."""
    if any("\x00" in v for v in request.args.values()) or "\x00" in request.path:
        abort(400)
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        if any("\x00" in v for v in request.form.values()):
            abort(400)
    elif request.is_json and request.content_length and request.content_length < 5_000_000:
        raw = request.get_data(cache=True)
        if b"\\u0000" in raw or b"\x00" in raw:
            abort(400)


def handle_unexpected(error: Exception) -> Any:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return handle_http_exception(InternalServerError())


def init_app(app: Flask) -> None:
    app.register_error_handler(TenantSuspended, handle_suspended)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(sa.exc.DataError, handle_bad_value)
    app.before_request(refuse_nul_bytes)
    if not app.testing or app.config.get("HANDLE_UNEXPECTED", False):
        app.register_error_handler(Exception, handle_unexpected)
