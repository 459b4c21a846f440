"""Which district a request is for: the `<tenant>` path segment, or a host name mapped to a tenant."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from flask import Flask, abort, g, redirect, request, url_for

from saas import db
from tenants.models import Tenant

SLUG_RE = r"[a-z][a-z0-9-]{1,39}"


def tenant_by_slug(slug: str) -> Tenant | None:
    return db.session.scalars(sa.select(Tenant).where(Tenant.slug == slug, Tenant.active.is_(True))).first()


def normalize_host(host: str | None) -> str:
    """A host name as a mapping stores it: no port, lower case, no trailing dot (`WBL.test.:8000` -> `wbl.test`).

    DNS names are case-insensitive and `wbl.test.` (the fully qualified form) is the same host as `wbl.test`:
    every spelling a client may send must find the same district, or a mapped host would be reachable under
    a spelling that is mapped to nothing and serve every district's paths.
    """
    host = (host or "").strip()
    if host.startswith("["):  # an IPv6 literal, `[::1]:8000`
        return host[: host.find("]") + 1].lower()
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.lower().rstrip(".")


def tenant_by_host(host: str) -> Tenant | None:
    host = normalize_host(host)
    if not host:
        return None
    return db.session.scalars(sa.select(Tenant).where(Tenant.hostname == host, Tenant.active.is_(True))).first()


def is_suspended(slug: str) -> bool:
    found = db.session.scalars(sa.select(Tenant.id).where(Tenant.slug == slug, Tenant.active.is_(False))).first()
    return found is not None


def refuse_if_suspended(slug: str) -> None:
    """Raise the suspended district's answer when `slug` names a district the platform suspended."""
    from saas.errors import TenantSuspended

    name = db.session.scalars(sa.select(Tenant.name_zh).where(Tenant.slug == slug, Tenant.active.is_(False))).first()
    if name is not None:
        raise TenantSuspended(name)


def _mapped_tenant(host: str) -> Tenant | None:
    """The district (active or suspended) that `host` is mapped to, in one statement."""
    return db.session.scalars(sa.select(Tenant).where(Tenant.hostname == host)).first() if host else None


def pull_tenant(endpoint: str | None, values: dict[str, Any] | None) -> None:
    g.tenant = None
    db.set_tenant(None)
    # the platform's pages alone act for the platform (row-level security shows them the platform's tables); the
    # operator's metrics are one of them: they read the operator's session and every district's outbox
    db.set_platform(bool(endpoint) and (endpoint.startswith("platform.") or endpoint == "metrics.metrics"))
    if not values or "tenant" not in values:
        return
    slug = values.pop("tenant")
    tenant = tenant_by_slug(slug) if isinstance(slug, str) else None
    if tenant is None:
        if isinstance(slug, str):
            refuse_if_suspended(slug=slug)
        abort(404)
    # the host's mapping is read before the transaction is bound to the district: from then on the district's
    # request sees its own row of `tenants` only, so another district's host would look unmapped
    g.host_tenant = _mapped_tenant(normalize_host(request.host))
    g.tenant = tenant
    db.set_tenant(tenant.id)


def push_tenant(endpoint: str, values: dict[str, Any]) -> None:
    tenant = g.get("tenant")
    if tenant is not None and "tenant" not in values:
        from flask import current_app

        if current_app.url_map.is_endpoint_expecting(endpoint, "tenant"):
            values["tenant"] = tenant.slug


_DISTRICT_PATH = re.compile(rf"^/(?:api/v1/)?t/({SLUG_RE})(?:/|$)")


def check_host() -> Any:
    """A host mapped to a district serves that district only; its bare root opens the district. The platform's
    pages are never served on a district's host: only on the platform's own host (one mapped to no district).

    A suspended district's paths answer that it is suspended, also those no route matches (which never reach
    `pull_tenant`).
    """
    if request.endpoint in ("shell.healthz", "shell.readyz"):
        return None  # probes answer on every host and read nothing on the way (readiness reads what it checks)
    if g.get("tenant") is None:
        named = _DISTRICT_PATH.match(request.path)
        if named is not None:
            refuse_if_suspended(slug=named.group(1))
    host = normalize_host(request.host)
    # one statement finds the host's district, active or suspended (`pull_tenant` read it for a district's path)
    mapped = g.host_tenant if "host_tenant" in g else _mapped_tenant(host)
    if mapped is None:
        return None
    if not mapped.active:
        if request.endpoint == "static":
            return None
        from saas.errors import TenantSuspended

        raise TenantSuspended(mapped.name_zh)
    tenant = g.get("tenant")
    if tenant is not None and tenant.id != mapped.id:
        abort(404)
    if request.blueprint == "platform":
        abort(404)
    if tenant is None and request.path == "/":
        return redirect(url_for("shell.home", tenant=mapped.slug))
    return None


def init_app(app: Flask) -> None:
    app.url_value_preprocessor(pull_tenant)
    app.url_defaults(push_tenant)
    app.before_request(check_host)
