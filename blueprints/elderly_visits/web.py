"""The request's side of elderly visits, shared by the pages and the JSON API: who asks, and how a refusal answers."""

from __future__ import annotations

from flask import g

from blueprints.elderly_visits.services import Actor
from saas.api import answering
from saas.context import enabled_modules, role_book


def actor() -> Actor:
    """The signed-in person as the services see them, with the district's switched-on modules."""
    cached = g.get("elderly_visits_actor")
    if cached is None or cached.user is not g.get("user"):
        cached = g.elderly_visits_actor = Actor(g.get("user"), role_book(), frozenset(enabled_modules()))
    return cached


__all__ = ["actor", "answering"]
