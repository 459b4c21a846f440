"""The kernel's pages and API calls the bench measures, as URL templates filled from bench/out/seed.json."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class Endpoint:
    name: str
    kind: str  # "page" (session cookie), "api" (bearer token), "login" (argon2), "anon"
    path: str  # "{slug}" and "{deep}" (a keyset cursor 90% deep into the audit log) are filled in
    method: str = "GET"
    note: str = ""

    def url_path(self, tenant: dict[str, Any]) -> str:
        return self.path.format(slug=tenant["slug"], deep=tenant.get("audit_deep_before") or "")


ENDPOINTS = [
    Endpoint("healthz", "anon", "/healthz", note="no tenant, no user: the app's own floor"),
    Endpoint("home", "page", "/t/{slug}/", note="dashboard (widgets load by htmx)"),
    Endpoint("modules", "page", "/t/{slug}/admin/modules"),
    Endpoint("audit", "page", "/t/{slug}/admin/audit", note="first 50 entries"),
    Endpoint("audit_deep", "page", "/t/{slug}/admin/audit?before={deep}", note="keyset page 90% deep"),
    Endpoint("org", "page", "/t/{slug}/admin/org", note="whole tree, up to 2,000 units"),
    Endpoint("people", "page", "/t/{slug}/admin/people", note="up to 500 staff with roles"),
    Endpoint("categories", "page", "/t/{slug}/grid_cases/categories"),
    Endpoint("categories_widget", "page", "/t/{slug}/grid_cases/widgets/categories", note="htmx fragment"),
    Endpoint("api_me", "api", "/api/v1/t/{slug}/me"),
    Endpoint("api_modules", "api", "/api/v1/t/{slug}/admin/modules"),
    Endpoint("api_audit", "api", "/api/v1/t/{slug}/admin/audit?limit=50"),
    Endpoint("api_audit_deep", "api", "/api/v1/t/{slug}/admin/audit?limit=50&before={deep}"),
    Endpoint("api_org_units", "api", "/api/v1/t/{slug}/org/units?limit=200"),
    Endpoint("api_categories", "api", "/api/v1/t/{slug}/grid_cases/categories"),
    Endpoint("login", "login", "/t/{slug}/login", method="POST", note="argon2id check: reported apart"),
]


def by_name(names: list[str] | None) -> list[Endpoint]:
    if not names:
        return list(ENDPOINTS)
    known = {e.name: e for e in ENDPOINTS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown endpoint(s) {unknown}; known: {', '.join(known)}")
    return [known[n] for n in names]
