"""Configuration from the environment. With nothing set, the embedded default: SQLite, jobs in-process."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("WGT_INSTANCE", ROOT / "instance"))


def _secret_key() -> str:
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    # embedded default: one key kept beside the SQLite file, so sessions survive restarts
    INSTANCE.mkdir(parents=True, exist_ok=True)
    path = INSTANCE / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def from_env() -> dict[str, Any]:
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE / 'wanggetong.sqlite'}"
    return {
        "SECRET_KEY": _secret_key(),
        "DATABASE_URL": database_url,
        # migrations and the RLS set-up run as the owner; the app itself connects as DATABASE_URL
        "MIGRATE_DATABASE_URL": os.environ.get("MIGRATE_DATABASE_URL") or database_url,
        "DATABASE_APP_ROLE": os.environ.get("DATABASE_APP_ROLE", "wgt_app"),
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE", "0") == "1",
        # Strict-Transport-Security on answers served over HTTPS (a year; 0 sends none)
        "HSTS_MAX_AGE": int(os.environ.get("HSTS_MAX_AGE", 365 * 24 * 3600)),
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "LANGUAGES": ["zh_CN", "en"],
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", 20 * 1024 * 1024)),
        "WTF_CSRF_TIME_LIMIT": None,
        # server-side sessions (saas.auth): staff hold personal data of many residents, so their sessions
        # end sooner; a session idle longer than its idle lifetime, or older than its absolute one, is over
        "SESSION_STAFF_IDLE_MINUTES": _int("SESSION_STAFF_IDLE_MINUTES", 60),
        "SESSION_STAFF_ABSOLUTE_MINUTES": _int("SESSION_STAFF_ABSOLUTE_MINUTES", 12 * 60),
        "SESSION_CITIZEN_IDLE_MINUTES": _int("SESSION_CITIZEN_IDLE_MINUTES", 7 * 24 * 60),
        "SESSION_CITIZEN_ABSOLUTE_MINUTES": _int("SESSION_CITIZEN_ABSOLUTE_MINUTES", 30 * 24 * 60),
        # the cookie itself lives no longer than the longest session
        "PERMANENT_SESSION_LIFETIME": dt.timedelta(minutes=_int("SESSION_CITIZEN_ABSOLUTE_MINUTES", 30 * 24 * 60)),
        # proxies in front of the app whose X-Forwarded-For / X-Forwarded-Proto are believed (werkzeug's
        # ProxyFix): 0, the default, believes none and keys limits on the connecting address
        "TRUSTED_PROXY_HOPS": _int("TRUSTED_PROXY_HOPS", 0),
        # limits keyed on what is attacked (saas.throttle): an account's password, a phone's codes across the
        # whole deployment; the address limits are a coarse outer bound for many people behind one NAT
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute"),
        "LOGIN_ADDRESS_RATE_LIMIT": os.environ.get("LOGIN_ADDRESS_RATE_LIMIT", "300 per minute"),
        "PHONE_CODE_RATE_LIMIT": os.environ.get("PHONE_CODE_RATE_LIMIT", "1 per minute;5 per hour"),
        "PHONE_CODE_ADDRESS_RATE_LIMIT": os.environ.get("PHONE_CODE_ADDRESS_RATE_LIMIT", "60 per minute;600 per hour"),
        # a neighbour's emergency report (elderly visits): per grid named, and per reporting phone
        "NEIGHBOUR_GRID_RATE_LIMIT": os.environ.get("NEIGHBOUR_GRID_RATE_LIMIT", "10 per minute;60 per hour"),
        "NEIGHBOUR_PHONE_RATE_LIMIT": os.environ.get("NEIGHBOUR_PHONE_RATE_LIMIT", "3 per 10 minutes;10 per day"),
        # submissions into one ballot box (a rating campaign), from every phone and address together
        "BALLOT_BOX_RATE_LIMIT": os.environ.get("BALLOT_BOX_RATE_LIMIT", "50 per second;20000 per hour"),
        "API_TITLE": "Wanggetong API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": "/static/vendor/swagger-ui/",
        # hosts or networks (CIDR) the operator admits as outbound targets despite being internal, e.g. an
        # intranet SMS gateway (`saas.outbound`); a district's settings can never widen this
        "OUTBOUND_ALLOW": os.environ.get("OUTBOUND_ALLOW", ""),
        # where links sent by SMS point (set-password links); without it, the address the request came to
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", ""),
        "PASSWORD_LINK_HOURS": int(os.environ.get("PASSWORD_LINK_HOURS", 72)),
        # the platform's SMS gateway, for districts that have not configured their own (a new district's admin)
        "PLATFORM_SMS_URL": os.environ.get("PLATFORM_SMS_URL", ""),
        "PLATFORM_SMS_TOKEN": os.environ.get("PLATFORM_SMS_TOKEN", ""),
        "PLATFORM_SMS_SIGN": os.environ.get("PLATFORM_SMS_SIGN", ""),
        "SEED_DEMO": os.environ.get("SEED_DEMO", "0") == "1",
        # log lines: "json" (one object a line) or "text"; unset, JSON in production (REDIS_URL set), text otherwise
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", ""),
        # the bearer token a Prometheus scraper sends to /metrics (saas.metrics); unset, only the signed-in operator
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN", ""),
    }
