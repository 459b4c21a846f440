"""The request's side of grid cases, shared by the pages and the JSON API: who asks, and the files they sent."""

from __future__ import annotations

from flask import g, request

from blueprints.grid_cases.services import Actor
from saas.api import answering
from saas.context import enabled_modules, role_book
from saas.pictures import MAX_PHOTOS, Upload


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


__all__ = ["actor", "answering", "uploads"]
