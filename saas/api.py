"""The JSON API: flask-smorest with one error format, a stable code and a message in the user's language."""

from __future__ import annotations

import contextlib
import http
from collections.abc import Iterator
from typing import Any

import flask_smorest
import marshmallow as ma
from flask_babel import lazy_gettext as _l

from saas import db
from saas.actors import Refused, ServiceError


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


# what the kernel itself may answer on any operation, before or around the view: a NUL byte or a value
# the database refuses (400), no or a bad token (401), a missing permission (403), an unknown district
# or a module switched off (404); with a body also too large (413) and not valid (422)
KERNEL_ERRORS = (400, 401, 403, 404)
BODY_ERRORS = (413, 422)


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ErrorSchema
    # no catch-all `default` answer: every status an operation can give is listed, so a client (and the
    # fuzzer's status check) can rely on the list
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self) -> None:
        # saas.errors answers for pages and API alike, so the API does not take over HTML errors
        return None

    def _init_spec(self, **kwargs: Any) -> None:
        super()._init_spec(**kwargs)
        self.spec.components.security_scheme(
            "token", {"type": "http", "scheme": "bearer", "description": "A personal API token (wgt_...)"})
        self.spec.options.setdefault("security", [{"token": []}])


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest blueprint; every operation documents the kernel's error answers."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(self._prepare_kernel_errors_doc)

    @staticmethod
    def _prepare_kernel_errors_doc(doc: dict[str, Any], doc_info: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        responses = doc.setdefault("responses", {})
        listed = {str(code) for code in responses}
        codes = KERNEL_ERRORS + (BODY_ERRORS if "requestBody" in doc else ())
        for code in codes:
            if str(code) not in listed:
                responses[code] = http.HTTPStatus(code).name
        return doc


@contextlib.contextmanager
def answering(*, commit: bool = True) -> Iterator[None]:
    """Every module's API answers a service's refusal one way: a rule's field errors as 422, a refusal with its
    own status (403, 404, 409) and message; nothing the request wrote is kept. Commits when the block went
    through (a read passes `commit=False`)."""
    try:
        yield
    except ServiceError as err:
        db.session.rollback()
        flask_smorest.abort(422, errors=err.errors)
    except Refused as err:
        db.session.rollback()
        flask_smorest.abort(err.status, message=err.message)
    if commit:
        db.session.commit()
