"""Wanggetong's kernel: `create_app` builds one deployment for every district."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from flask import Flask, appcontext_popped, appcontext_pushed, g, request
from werkzeug.routing import IntegerConverter

from saas import config as config_mod
from saas import db
from saas.schemas import MAX_ID

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "saas" / "static"),
        instance_path=str(config_mod.INSTANCE),
    )
    # ids are 63-bit: a larger number in a URL is a 404, never a database overflow
    app.url_map.converters["int"] = _IdConverter
    app.config.update(config_mod.from_env())
    app.config.update(overrides or {})
    if app.config.get("TENANT_FILTER_DISABLED") and not app.testing:
        # the probe's switch (saas/db.py) would leave row-level security as the only line: never outside tests
        raise RuntimeError("TENANT_FILTER_DISABLED is honoured by the test suite only; refusing to start")
    from saas import logs

    # first, so that its after-request function runs last (on the final status) and times the whole request
    logs.init_app(app)
    # alembic's plugin set-up and each migration step are not news to an operator (`db upgrade -v` shows them)
    logging.getLogger("alembic").setLevel(logging.WARNING)

    db.configure(app.config["DATABASE_URL"])

    from saas import errors, extensions, i18n, metrics, shell, throttle
    from saas.modules import ModuleRegistry
    from saas.permissions import RoleBook
    from tenants import resolution

    registry = ModuleRegistry.discover(app.config.get("EXTRA_MODULES"))
    for spec in registry:
        if spec.models:
            __import__(spec.models)
    app.extensions["saas.modules"] = registry
    app.extensions["saas.roles"] = RoleBook.build(registry)

    extensions.htmx.init_app(app)
    extensions.csrf.init_app(app)
    extensions.babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"] or "memory://"
    app.config.setdefault("RATELIMIT_ENABLED", True)
    extensions.limiter.init_app(app)
    throttle.init_app(app)
    extensions.api.init_app(app)
    errors.init_app(app)
    resolution.init_app(app)

    from saas import auth

    app.before_request(auth.load_identity)
    app.before_request(auth.require_password_change)

    @app.after_request
    def _kick_outbox(response: Any) -> Any:
        """Deliveries written by this request leave right away; the cron relay catches any left behind."""
        session = db.session()
        tenant = g.get("tenant")
        # a platform page writes notices for the district it provisions: the tenants come from `notify`
        tenant_ids = session.info.pop("outbox_tenants", set())
        if session.info.pop("outbox_dirty", False) and tenant is not None:
            tenant_ids.add(tenant.id)
        if tenant_ids and response.status_code < 400:
            from workers.delivery import RelayUnavailable, relay_tenant

            for tenant_id in sorted(tenant_ids):
                try:
                    relay_tenant(app, tenant_id)
                except RelayUnavailable:
                    app.logger.warning("Redis unavailable; the outbox keeps the deliveries for the next relay")
                except Exception:
                    session.rollback()
                    app.logger.exception("outbox relay after request failed; the cron relay retries")
        return response

    appcontext_pushed.connect(db.context_pushed, app)
    appcontext_popped.connect(db.context_popped, app)

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        db.end_context_session()

    @app.after_request
    def _security_headers(response: Any) -> Any:
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
            "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # over HTTPS only: the scheme the WSGI server reports, which takes X-Forwarded-Proto from configured
        # proxies alone (gunicorn's --forwarded-allow-ips); a browser then refuses plain http for HSTS_MAX_AGE
        max_age = int(app.config.get("HSTS_MAX_AGE") or 0)
        if request.is_secure and max_age > 0:
            response.headers.setdefault("Strict-Transport-Security", f"max-age={max_age}")
        response.headers.pop("Server", None)  # the app names no server software (gunicorn's own: README)
        if g.get("user") is not None and request.path.startswith("/t/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    shell.init_app(app)
    metrics.init_app(app)
    _register_modules(app, registry)

    from saas import cli

    cli.init_app(app)
    return app


class SecretPathFilter(logging.Filter):
    """A set-password link's token is in its path: request lines (the embedded server's) and errors that name the
    path are logged with it blotted out."""

    TOKEN = re.compile(r"(/password/)(?!set\b|forgot\b)[A-Za-z0-9_-]{16,}")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/password/" in message:
            record.msg, record.args = self.TOKEN.sub(r"\1••••", message), None
        return True


class _IdConverter(IntegerConverter):
    def __init__(self, url_map: Any, *args: Any, **kwargs: Any):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def _register_modules(app: Flask, registry: Any) -> None:
    """Register each module's blueprints behind the one switch check (Indico's feature gate).

    The gate is attached per app (`before_request_funcs` by blueprint name), not to the module's
    blueprint object, because one blueprint serves every app the process builds. A mount (`Mount`)
    resolves its tenant in its own `before_request`, so its gate goes after those; before them, the
    identity the session cookie gave is dropped, since a mount answers to its own credentials only.
    """
    from saas.auth import api_login_required
    from saas.context import require_module
    from saas.extensions import api, csrf

    for spec in registry:
        def gate(key: str = spec.key) -> None:
            require_module(key)

        if spec.views is not None:
            bp = spec.views()
            app.register_blueprint(bp, url_prefix=f"/t/<tenant>/{spec.key}")
            app.before_request_funcs.setdefault(bp.name, []).append(gate)
        if spec.api is not None:
            api_bp = spec.api()
            csrf.exempt(api_bp)
            api.register_blueprint(api_bp, url_prefix=f"/api/v1/t/<tenant>/{spec.key}")
            app.before_request_funcs.setdefault(api_bp.name, []).extend([gate, api_login_required])
        for mount in spec.mounts:
            if mount.url_prefix.rstrip("/") in ("", "/t", "/api") or mount.url_prefix.startswith(("/t/", "/api/")):
                raise RuntimeError(f"module {spec.key} mounts a blueprint over the kernel's own URLs")
            mount_bp = mount.blueprint()
            csrf.exempt(mount_bp)
            app.register_blueprint(mount_bp, url_prefix=mount.url_prefix)
            # the blueprint's own before_request functions were merged in by register_blueprint: they
            # resolve the tenant, then the switch check runs
            funcs = app.before_request_funcs.setdefault(mount_bp.name, [])
            funcs.insert(0, _no_cookie_identity)
            funcs.append(gate)


def _no_cookie_identity() -> None:
    g.user = None
    g.operator = None
