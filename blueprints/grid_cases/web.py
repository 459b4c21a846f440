"""The request's side of grid cases, shared by the pages and the JSON API: who asks, and the files they sent."""

from __future__ import annotations

from flask import g

from blueprints.grid_cases.services import Actor
from saas.api import answering
from saas.context import enabled_modules, role_book
from saas.pictures import Upload, request_uploads


def actor() -> Actor:
    """The signed-in person (or nobody) as the services see them, with the district's switched-on modules."""
    cached = g.get("grid_cases_actor")
    if cached is None or cached.user is not g.get("user"):
        cached = g.grid_cases_actor = Actor(g.get("user"), role_book(), frozenset(enabled_modules()))
    return cached


def uploads(field: str = "photos") -> list[Upload]:
    """The files of a multipart field, read once (the kernel's `request_uploads`)."""
    return request_uploads(field)


__all__ = ["actor", "answering", "uploads"]
