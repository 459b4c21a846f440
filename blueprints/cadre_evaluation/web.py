"""The request's side of cadre evaluation, shared by the pages and the JSON API: who asks, and how a refusal
answers."""

from __future__ import annotations

from flask import g

from saas.actors import Actor
from saas.api import answering
from saas.context import enabled_modules, role_book


def actor() -> Actor:
    """The signed-in person as the services see them, with the district's switched-on modules."""
    cached = g.get("cadre_evaluation_actor")
    if cached is None or cached.user is not g.get("user"):
        cached = g.cadre_evaluation_actor = Actor(g.get("user"), role_book(), frozenset(enabled_modules()))
    return cached


__all__ = ["actor", "answering"]


def phone_verified(phone: str, code: str) -> bool:
    """The phone's code checks out (spent now); a wrong one is counted and logged, and so is a staff number's,
    which was sent no code (`saas.auth.send_phone_code`). The caller commits either way."""
    from saas import auth

    if auth.find_staff(phone) is None and auth.check_phone_code(phone, code):
        return True
    auth.record_refused("auth.code_failed", None, phone=phone)
    return False
