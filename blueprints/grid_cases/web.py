"""The request's side of grid cases, shared by the pages and the JSON API: who asks, and the files they sent."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from flask import g, request
from flask_smorest import abort

from blueprints.grid_cases.services import Actor, Refused, ServiceError
from blueprints.grid_cases.services.photos import MAX_PHOTOS, Upload
from saas import db
from saas.context import enabled_modules, role_book


def actor() -> Actor:
    """The signed-in person (or nobody) as the services see them, with the district's switched-on modules."""
    cached = g.get("grid_cases_actor")
    if cached is None or cached.user is not g.get("user"):
        cached = g.grid_cases_actor = Actor(g.get("user"), role_book(), frozenset(enabled_modules()))
    return cached


def uploads(field: str = "photos") -> list[Upload]:
    """The files of a multipart field, read once; more than the services accept are cut off there, with a message."""
    files = [f for f in request.files.getlist(field) if f and (f.filename or f.content_length)]
    return [Upload(f.filename or "", f.read()) for f in files[: MAX_PHOTOS + 1]]


@contextlib.contextmanager
def answering(*, commit: bool = True) -> Iterator[None]:
    """The API's one way to answer a service's refusal: a rule's field errors as 422, a refusal with its own
    status (403, 404, 409) and message; nothing the request wrote is kept. Commits when the block went through
    (a read passes `commit=False`)."""
    try:
        yield
    except ServiceError as err:
        db.session.rollback()
        abort(422, errors=err.errors)
    except Refused as err:
        db.session.rollback()
        abort(err.status, message=err.message)
    if commit:
        db.session.commit()
