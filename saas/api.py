"""The JSON API: flask-smorest with one error format, a stable code and a message in the user's language."""

from __future__ import annotations

import flask_smorest
import marshmallow as ma
from flask_babel import lazy_gettext as _l


class ErrorSchema(ma.Schema):
    code = ma.fields.String(metadata={"description": "Stable machine-readable code, e.g. validation_error"})
    message = ma.fields.String(metadata={"description": "Message in the request's language (Chinese by default)"})
    errors = ma.fields.Dict(metadata={"description": "Field errors, by location and field"})


ERROR_CODES = {
    400: ("bad_request", _l("The request could not be understood.")),
    401: ("unauthorized", _l("Please sign in first.")),
    403: ("forbidden", _l("You do not have permission to do this.")),
    404: ("not_found", _l("Not found.")),
    405: ("method_not_allowed", _l("This method is not allowed here.")),
    409: ("conflict", _l("Someone else changed this first; reload and try again.")),
    413: ("too_large", _l("The upload is too large.")),
    415: ("unsupported_media_type", _l("This content type is not supported.")),
    422: ("validation_error", _l("Some fields are not valid.")),
    429: ("rate_limited", _l("Too many attempts; please wait and try again.")),
    500: ("server_error", _l("Something went wrong on our side; it has been logged.")),
}


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        # saas.errors answers for pages and API alike, so the API does not take over HTML errors
        return None


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest blueprint; every operation documents the kernel's error answers."""
