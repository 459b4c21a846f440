"""The kernel's pages and API calls the bench measures, as URL templates filled from bench/out/seed.json."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class Endpoint:
    name: str
    kind: str  # "page" (session cookie), "api" (bearer token), "login" (argon2), "anon"
    # "{slug}", "{deep}" (a keyset cursor 90% deep into the audit log) and the seed's other cursors and ids of the
    # tenant ("{case_deep_before}", "{case_id}", "{case_number}") are filled in
    path: str
    method: str = "GET"
    note: str = ""
    body: str = ""  # an API call's JSON body (pages' POSTs are the sign-in form only)
    # measured for at least this many seconds: a request that takes a second, 8 at a time on 2 CPUs, would
    # not finish once inside a 5-second window (the warm-up's requests are still running when it opens)
    seconds: int = 0

    def url_path(self, tenant: dict[str, Any]) -> str:
        return self.path.format(**{**tenant, "deep": tenant.get("audit_deep_before") or ""})

    def json_body(self, tenant: dict[str, Any]) -> str:
        return self.body.replace("{slug}", tenant["slug"])

    @property
    def expected(self) -> int:
        return 302 if self.kind == "login" else 201 if self.method == "POST" else 200


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
    Endpoint("cases", "page", "/t/{slug}/grid_cases/", note="the district's work list: the newest 30 of 1,000,000"),
    Endpoint("cases_deep", "page", "/t/{slug}/grid_cases/?before={case_deep_before}", note="keyset page 90% deep"),
    Endpoint("cases_overdue", "page", "/t/{slug}/grid_cases/?view=overdue"),
    Endpoint("cases_open_grid", "page", "/t/{slug}/grid_cases/?state=open&grid={slug}-g0007",
             note="one grid's open cases"),
    Endpoint("cases_number", "page", "/t/{slug}/grid_cases/?q={case_number}", note="search by number"),
    Endpoint("cases_words", "page", "/t/{slug}/grid_cases/?q=%E6%BC%8F%E6%B0%B4", note="search 漏水 in the text"),
    Endpoint("case", "page", "/t/{slug}/grid_cases/cases/{case_id}", note="one case with its timeline"),
    Endpoint("work_widget", "page", "/t/{slug}/grid_cases/widgets/work", note="htmx fragment"),
    Endpoint("stats", "page", "/t/{slug}/grid_cases/stats", note="13 months by area, department, category, month",
             seconds=30),
    Endpoint("stats_widget", "page", "/t/{slug}/grid_cases/widgets/stats", note="htmx fragment"),
    Endpoint("api_cases", "api", "/api/v1/t/{slug}/grid_cases/cases?limit=30"),
    Endpoint("api_case", "api", "/api/v1/t/{slug}/grid_cases/cases/{case_id}"),
    Endpoint("case_create", "api", "/api/v1/t/{slug}/grid_cases/cases", method="POST",
             note="a patrol report through the API: number, deadline, timeline, audit, notices",
             body='{"category_code": "water", "location_code": "{slug}-g0001", '
                  '"description": "3号楼地下室水管漏水", "address": "3号楼"}'),
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
