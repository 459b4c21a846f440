"""SQL statements per page and per API call do not grow with the rows shown (no N+1).

Counts are deterministic where times are not, so they are asserted here; bench/ prints the load figures.
Each URL is counted with a few rows of everything, then again with many more (staff each holding a role on
a unit of their own, units, audit entries, case categories each with a department): the counts must be the
same. SQLAlchemy's selectin loads go in chunks of 500 keys, which is why the large size stays below that.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from blueprints.grid_cases.models import CaseCategory
from saas import create_app, db
from saas.audit import AuditEntry
from saas.db import statements
from saas.ids import new_id
from saas.modules import ModuleSpec, Setting
from tenants import services
from tenants.models import RoleGrant, User
from tests.plugin import bearer, session_data

SMALL, LARGE = 10, 400

PAGES = [
    "/t/alpha/",
    "/t/alpha/admin/modules",
    "/t/alpha/admin/audit",
    "/t/alpha/admin/org",
    "/t/alpha/admin/people",
    "/t/alpha/grid_cases/categories",
    "/t/alpha/grid_cases/widgets/categories",
]
API = [
    "/api/v1/t/alpha/me",
    "/api/v1/t/alpha/admin/modules",
    "/api/v1/t/alpha/admin/audit?limit=50",
    "/api/v1/t/alpha/org/units?limit=200",
    "/api/v1/t/alpha/grid_cases/categories",
]


def add_rows(factory: Any, tenant: Any, start: int, stop: int) -> None:
    """Staff i with a role on street i, department i with category i, and an audit entry each."""
    with factory.as_tenant(tenant) as s:
        root = services.district_root(s)
        for i in range(start, stop):
            street = services.new_org_unit(kind="street", code=f"s{i}", name=f"街道{i}", parent_id=root.id,
                                           parent_path=root.path)
            dept = services.new_org_unit(kind="department", code=f"d{i}", name=f"部门{i}", parent_id=root.id,
                                         parent_path=root.path)
            user = User(id=new_id(), name=f"员工{i:04d}", phone=f"139{i:08d}", kind="staff")
            s.add_all([street, dept, user])
            s.flush()
            s.add_all([
                RoleGrant(user_id=user.id, role="grid_worker", org_unit_id=street.id),
                CaseCategory(code=f"c{i}", name=f"类别{i}", department_id=dept.id, position=i),
                AuditEntry(actor_id=user.id, actor_name=user.name, action="user.create", object_type="user",
                           object_id=str(user.id), after={"name": user.name}),
            ])
        s.commit()


def count_each(client: Any, urls: list[str], headers: dict[str, str] | None = None) -> dict[str, int]:
    counts = {}
    for url in urls:
        assert client.get(url, headers=headers).status_code == 200, url  # warms caches, uses the token once
        with statements() as seen:
            assert client.get(url, headers=headers).status_code == 200, url
        counts[url] = len(seen)
    return counts


def test_page_and_api_statement_counts_do_not_grow_with_rows(app, factory, tenant_a, login_as):
    admin = factory.user(tenant_a, "district_admin", name="管理员")
    token = factory.token(admin)
    add_rows(factory, tenant_a, 0, SMALL)
    client = login_as(admin)
    few = count_each(client, PAGES) | count_each(app.test_client(), API, bearer(token))
    add_rows(factory, tenant_a, SMALL, LARGE)
    many = count_each(client, PAGES) | count_each(app.test_client(), API, bearer(token))
    grown = {url: (few[url], many[url]) for url in few if many[url] != few[url]}
    assert not grown, f"statements per request changed from {SMALL} to {LARGE} rows: {grown}"


def _fake_modules(n: int) -> list[ModuleSpec]:
    return [ModuleSpec(key=f"fake{i}", name_zh=f"模块{i}", name_en=f"Fake {i}", version="0.1",
                       settings=(Setting("limit", "limit", int, 5, min=1, max=9),)) for i in range(n)]


def _app_with(app: Flask, extra: list[ModuleSpec]) -> Flask:
    keys = ("DATABASE_URL", "MIGRATE_DATABASE_URL", "DATABASE_APP_ROLE", "REDIS_URL", "SECRET_KEY", "SERVER_NAME")
    return create_app({**{k: app.config[k] for k in keys}, "TESTING": True, "WTF_CSRF_ENABLED": False,
                       "RATELIMIT_ENABLED": False, "EXTRA_MODULES": extra})


@pytest.mark.parametrize("url", ["/t/alpha/admin/modules", "/api/v1/t/alpha/admin/modules"])
def test_module_list_costs_the_same_whatever_the_number_of_modules(app, factory, tenant_a, url):
    admin = factory.user(tenant_a, "district_admin")
    headers = bearer(factory.token(admin)) if url.startswith("/api/") else None
    counts = []
    for extra in ([], _fake_modules(4)):
        other = _app_with(app, extra)
        client = other.test_client()
        if headers is None:
            data = session_data(other, admin)
            with client.session_transaction() as sess:
                sess.update(data)
        counts.append(count_each(client, [url], headers)[url])
    db.session.remove()
    assert counts[0] == counts[1], f"{url}: {counts[0]} statements with 1 module, {counts[1]} with 5"
