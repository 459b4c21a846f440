"""Rate limits keyed on what is attacked: an account's password, a phone's codes, with the address as an outer bound.

Behind a load balancer every resident of a district arrives from one address, so a limit on the address alone
lets one person lock out everyone. The limits here count per account (password sign-in), per phone number
(codes asked for and codes tried, across the whole deployment: the key names no district) and, much more
loosely, per address. The address is the connecting one unless `TRUSTED_PROXY_HOPS` says how many proxies in
front of the app to believe (werkzeug's ProxyFix, applied in `init_app`).

Every door that signs people in or sends a code uses these decorators, so a module's own door (the grid-cases
report form) counts in the same buckets as the kernel's pages.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, request
from flask_limiter import RequestLimit
from werkzeug.middleware.proxy_fix import ProxyFix

from saas.extensions import limiter

F = TypeVar("F", bound=Callable[..., Any])
PHONE_SCOPE = "phone-code"  # one bucket per phone for every door that sends codes


def init_app(app: Flask) -> None:
    """Believe X-Forwarded-For and -Proto from exactly the configured number of proxies, none by default."""
    hops = int(app.config.get("TRUSTED_PROXY_HOPS") or 0)
    if hops < 0:
        raise RuntimeError("TRUSTED_PROXY_HOPS must be 0 or more")
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


def address_key() -> str:
    return f"addr:{request.remote_addr or '-'}"


def _form_value(name: str) -> str:
    value = request.form.get(name)
    if value is None and request.is_json:  # the JSON API's doors count in the same buckets as the pages'
        body = request.get_json(silent=True)
        value = body.get(name) if isinstance(body, dict) and isinstance(body.get(name), str) else None
    return (value or "").strip()[:64]


def _phone_or_text(value: str) -> str:
    from saas.schemas import normalize_phone

    return normalize_phone(value) or value.lower()


def account_key() -> str:
    """The account a password is tried against: the district and the login as typed (a phone normalised)."""
    tenant = g.get("tenant")
    where = tenant.id if tenant is not None else "platform"
    return f"acct:{where}:{_phone_or_text(_form_value('login') or _form_value('username'))}"


def phone_key() -> str:
    """The phone a code goes to or is tried for; no district in the key, so the bound holds deployment-wide."""
    return f"phone:{_phone_or_text(_form_value('phone'))}"


def _config(name: str) -> Callable[[], str]:
    return lambda: current_app.config[name]


def wait_seconds(limit: RequestLimit) -> int:
    """Seconds until a refused request may be made again."""
    return max(1, math.ceil(limit.reset_at - time.time()))


def too_many_codes(wait: int) -> str:
    """What a resident reads when no code went out because too many were asked for."""
    from flask_babel import ngettext

    return ngettext("Too many codes were asked for this number. Try again in %(num)d second.",
                    "Too many codes were asked for this number. Try again in %(num)d seconds.", wait)


def password_limits(view: F) -> F:
    """Password sign-in: per account (`LOGIN_RATE_LIMIT`) and per address (`LOGIN_ADDRESS_RATE_LIMIT`)."""
    view = limiter.limit(_config("LOGIN_RATE_LIMIT"), key_func=account_key, methods=["POST"])(view)
    return limiter.limit(_config("LOGIN_ADDRESS_RATE_LIMIT"), key_func=address_key, methods=["POST"])(view)


def address_limits(view: F) -> F:
    """A page that takes a secret in its path (a set-password link): per address (`LOGIN_ADDRESS_RATE_LIMIT`)."""
    return limiter.limit(_config("LOGIN_ADDRESS_RATE_LIMIT"), key_func=address_key)(view)


def code_check_limits(view: F) -> F:
    """Trying a phone code: per phone (`LOGIN_RATE_LIMIT`) and per address (`LOGIN_ADDRESS_RATE_LIMIT`)."""
    view = limiter.limit(_config("LOGIN_RATE_LIMIT"), key_func=phone_key, methods=["POST"])(view)
    return limiter.limit(_config("LOGIN_ADDRESS_RATE_LIMIT"), key_func=address_key, methods=["POST"])(view)


def code_send_limits(refused: Callable[[int], Any]) -> Callable[[F], F]:
    """Asking for a code: per phone across the deployment (`PHONE_CODE_RATE_LIMIT`), per address
    (`PHONE_CODE_ADDRESS_RATE_LIMIT`). `refused(wait)` renders the door's own answer, status 429, so the
    page says why and how long to wait instead of changing nothing."""

    def on_breach(limit: RequestLimit) -> Any:
        from flask import make_response

        wait = wait_seconds(limit)
        response = make_response(refused(wait))
        response.status_code = 429
        response.headers["Retry-After"] = str(wait)
        return response

    def decorate(view: F) -> F:
        view = limiter.shared_limit(_config("PHONE_CODE_RATE_LIMIT"), scope=PHONE_SCOPE, key_func=phone_key,
                                    methods=["POST"], on_breach=on_breach)(view)
        return limiter.limit(_config("PHONE_CODE_ADDRESS_RATE_LIMIT"), key_func=address_key, methods=["POST"],
                             on_breach=on_breach)(view)

    return decorate


def keyed_limits(config_name: str, key: Callable[[], str]) -> Callable[[F], F]:
    """A POST limit from the configuration (`config_name`) on whatever `key` names: one campaign's ballot box,
    so a flood on it is bounded however many phones and addresses it comes from."""

    def decorate(view: F) -> F:
        return limiter.limit(_config(config_name), key_func=key, methods=["POST"])(view)

    return decorate


def view_arg_key(prefix: str, name: str) -> Callable[[], str]:
    """A limit key from the district and one of the URL's arguments (`campaign_id`)."""

    def key() -> str:
        tenant = g.get("tenant")
        value = (request.view_args or {}).get(name, "-")
        return f"{prefix}:{tenant.id if tenant is not None else '-'}:{value}"

    return key
