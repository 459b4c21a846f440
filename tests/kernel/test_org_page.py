"""The org tree page a level at a time: a district of 288 grids opens with its streets, a unit's units open in
place, a unit found by name anywhere, a unit added under a parent chosen by name."""

from __future__ import annotations

import html
import re
from typing import Any

import sqlalchemy as sa

from saas.db import statements
from tenants.models import OrgUnit
from tests.plugin import text_of


def page_text(response: Any) -> str:
    return html.unescape(text_of(response.get_data(as_text=True)))


def english(client: Any) -> None:
    with client.session_transaction() as sess:
        sess["lang"] = "en"


def tree(factory: Any, tenant: Any, streets: int, communities: int, grids: int) -> dict[str, Any]:
    units = {}
    for s in range(streets):
        units[f"s{s}"] = factory.unit(tenant, "street", f"s{s}", name=f"第{s}街道")
        for c in range(communities):
            units[f"s{s}c{c}"] = factory.unit(tenant, "community", f"s{s}c{c}", f"s{s}", name=f"第{s}街道{c}社区")
            for g in range(grids):
                units[f"s{s}c{c}g{g}"] = factory.unit(tenant, "grid", f"s{s}c{c}g{g}", f"s{s}c{c}",
                                                      name=f"第{s}街道{c}社区{g}网格")
    return units


def test_the_tree_opens_a_level_at_a_time(client, factory, tenant_a, login_as):
    units = tree(factory, tenant_a, 2, 2, 2)
    login_as(factory.user(tenant_a))
    top = page_text(client.get("/t/alpha/admin/org"))
    assert "第0街道" in top and "第1街道" in top  # noqa: PT018 - both streets, nothing deeper
    assert "第0街道0社区" not in top
    opened = client.get(f"/t/alpha/admin/org/{units['s0'].id}/children", headers={"HX-Request": "true"})
    assert opened.status_code == 200
    names = re.findall(r"</span> (第\S+)", html.unescape(opened.get_data(as_text=True)))
    assert names == ["第0街道0社区", "第0街道1社区"]
    community = page_text(client.get(f"/t/alpha/admin/org?unit={units['s0c1'].id}"))
    assert "第0街道1社区0网格" in community
    assert "第0街道0社区0网格" not in community
    assert "甲区" in community and "第0街道" in community, "the way down to the unit is shown"  # noqa: PT018


def test_a_unit_is_found_anywhere_by_name_or_code(client, factory, tenant_a, tenant_b, login_as):
    tree(factory, tenant_a, 2, 2, 2)
    factory.unit(tenant_b, "street", "b1", name="第1街道1社区1网格乙")
    login_as(factory.user(tenant_a))
    found = page_text(client.get("/t/alpha/admin/org", query_string={"q": "1社区1网格"}))
    assert "第0街道1社区1网格" in found and "第1街道1社区1网格" in found  # noqa: PT018
    assert "乙" not in found
    assert "s1c0g1" in page_text(client.get("/t/alpha/admin/org", query_string={"q": "s1c0g1"}))


def test_the_page_costs_the_same_for_a_district_of_any_size(client, factory, tenant_a, tenant_b, login_as):
    tree(factory, tenant_a, 1, 1, 1)
    tree(factory, tenant_b, 3, 4, 6)
    counts: dict[str, list[int]] = {"root": [], "unit": [], "children": []}
    for tenant, slug in ((tenant_a, "alpha"), (tenant_b, "beta")):
        login_as(factory.user(tenant))
        with factory.as_tenant(tenant) as s:
            street = s.scalars(sa.select(OrgUnit).where(OrgUnit.code == "s0")).one()
        for key, url in (("root", f"/t/{slug}/admin/org"), ("unit", f"/t/{slug}/admin/org?unit={street.id}"),
                         ("children", f"/t/{slug}/admin/org/{street.id}/children")):
            assert client.get(url).status_code == 200
            with statements() as seen:
                assert client.get(url).status_code == 200
            counts[key].append(len(seen))
    assert all(a == b for a, b in counts.values()), counts


def test_a_unit_is_added_under_a_parent_chosen_by_name_of_a_kind_that_fits(client, factory, tenant_a, login_as):
    units = tree(factory, tenant_a, 1, 1, 0)
    login_as(factory.user(tenant_a))
    english(client)
    typed = client.post("/t/alpha/admin/org", data={"kind": "grid", "code": "g9", "name": "新网格", "unit_q": "社区"})
    assert typed.status_code == 422
    body = typed.get_data(as_text=True)
    assert re.findall(r'name="parent_id" value="(\d+)"', body) == [str(units["s0c0"].id)], "only communities fit"
    wrong = client.post("/t/alpha/admin/org", data={"kind": "grid", "code": "g9", "name": "新网格",
                                                    "parent_id": units["s0"].id})
    assert wrong.status_code == 422
    added = client.post("/t/alpha/admin/org", data={"kind": "grid", "code": "g9", "name": "新网格",
                                                    "parent_id": units["s0c0"].id})
    assert added.status_code == 302
    assert added.headers["Location"].endswith(f"unit={units['s0c0'].id}")
    with factory.as_tenant(tenant_a) as s:
        grid = s.scalars(sa.select(OrgUnit).where(OrgUnit.code == "g9")).one()
        assert grid.parent_id == units["s0c0"].id
