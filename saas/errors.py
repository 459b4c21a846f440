"""One error handler for pages and API: JSON with a stable code under /api and /open311, pages elsewhere."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

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
            payload["errors"] = localize_errors(errors)
    return payload


def handle_http_exception(error: HTTPException) -> Any:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    if status == 429:
        headers.update(getattr(error, "headers", None) or {})
    if error.response is not None and status in (301, 302, 303, 307, 308):
        return error.response
    if wants_json():
        response = jsonify(error_payload(status, data))
        response.status_code = status
        response.headers.update(headers)
        return response
    payload = error_payload(status, data)
    html = render_template("errors/error.html", status=status, message=payload["message"], tenant=g.get("tenant"))
    return html, status, headers


def handle_unexpected(error: Exception) -> Any:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return handle_http_exception(InternalServerError())


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    if not app.testing or app.config.get("HANDLE_UNEXPECTED", False):
        app.register_error_handler(Exception, handle_unexpected)
