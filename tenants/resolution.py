"""Which district a request is for: the `<tenant>` path segment, or a host name mapped to a tenant."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask, abort, g, redirect, request, url_for

from saas import db
from tenants.models import Tenant

SLUG_RE = r"[a-z][a-z0-9-]{1,39}"


def tenant_by_slug(slug: str) -> Tenant | None:
    return db.session.scalars(sa.select(Tenant).where(Tenant.slug == slug, Tenant.active.is_(True))).first()


def tenant_by_host(host: str) -> Tenant | None:
    host = host.split(":", 1)[0].lower()
    return db.session.scalars(sa.select(Tenant).where(Tenant.hostname == host, Tenant.active.is_(True))).first()


def pull_tenant(endpoint: str | None, values: dict[str, Any] | None) -> None:
    g.tenant = None
    db.set_tenant(None)
    if not values or "tenant" not in values:
        return
    slug = values.pop("tenant")
    tenant = tenant_by_slug(slug) if isinstance(slug, str) else None
    if tenant is None:
        abort(404)
    g.tenant = tenant
    db.set_tenant(tenant.id)


def push_tenant(endpoint: str, values: dict[str, Any]) -> None:
    tenant = g.get("tenant")
    if tenant is not None and "tenant" not in values:
        from flask import current_app

        if current_app.url_map.is_endpoint_expecting(endpoint, "tenant"):
            values["tenant"] = tenant.slug


def check_host() -> Any:
    """A host mapped to a district serves that district only; its bare root opens the district."""
    mapped = tenant_by_host(request.host)
    if mapped is None:
        return None
    tenant = g.get("tenant")
    if tenant is not None and tenant.id != mapped.id:
        abort(404)
    if tenant is None and request.path == "/":
        return redirect(url_for("shell.home", tenant=mapped.slug))
    return None


def init_app(app: Flask) -> None:
    app.url_value_preprocessor(pull_tenant)
    app.url_defaults(push_tenant)
    app.before_request(check_host)
