"""Extension objects, bound to the app in `create_app` with `init_app`."""

from __future__ import annotations

from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx

from saas.api import Api
from saas.i18n import babel

csrf = CSRFProtect()
htmx = Htmx()
api = Api()


def _limit_key() -> str:
    return f"{get_remote_address()}:{request.path}"


limiter = Limiter(key_func=_limit_key, default_limits=[], headers_enabled=True)

__all__ = ["api", "babel", "csrf", "htmx", "limiter"]
