"""Configuration from the environment. With nothing set, the embedded default: SQLite, jobs in-process."""

from __future__ import annotations

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
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "LANGUAGES": ["zh_CN", "en"],
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", 20 * 1024 * 1024)),
        "WTF_CSRF_TIME_LIMIT": None,
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute"),
        "PHONE_CODE_RATE_LIMIT": os.environ.get("PHONE_CODE_RATE_LIMIT", "5 per hour"),
        "API_TITLE": "Wanggetong API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": "/static/vendor/swagger-ui/",
        "SEED_DEMO": os.environ.get("SEED_DEMO", "0") == "1",
    }
