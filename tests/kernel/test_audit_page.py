"""The audit log in words: an action, its object and what changed read as sentences in the reader's language,
people and units named, filters by kind of object, and a reversed date range refused on the page and the API."""

from __future__ import annotations

import html
from typing import Any

from flask import current_app

from tenants import services
from tests.plugin import bearer, text_of


def page_text(response: Any) -> str:
    return html.unescape(text_of(response.get_data(as_text=True)))


def rows(response: Any) -> list[str]:
    body = response.get_data(as_text=True)
    return [html.unescape(text_of(r)) for r in body.split("<tr>")[1:]]


def test_entries_read_as_words_with_names_and_differences(client, factory, tenant_a, login_as):
    admin = factory.user(tenant_a, "district_admin", name="管理员")
    worker = factory.user(tenant_a, None, name="李网格", phone="13900000001")
    street = factory.unit(tenant_a, "street", "s1", name="柳巷街道")
    with factory.as_tenant(tenant_a) as s:
        registry, book = current_app.extensions["saas.modules"], current_app.extensions["saas.roles"]
        services.set_module(s, registry, admin, "grid_cases", True)
        user = services.staff_member(s, worker.id)
        services.update_staff(s, admin, user, name="李网格员", phone=user.phone)
        services.grant_role(s, book, admin, user, "street_officer", services.org_unit_by_code(s, "s1"))
        s.commit()
    login_as(admin)
    response = client.get("/t/alpha/admin/audit")
    assert response.status_code == 200
    lines = rows(response)[1:]
    grant, update, enable, unit = (next(r for r in lines if code in r)
                                   for code in ("role.grant", "user.update", "module.enable", "org.create"))
    assert "模块启用 · 网格事件" in enable
    assert "模块 · 网格事件" in enable
    assert "已开启 否 → 是" in enable
    assert "人员 · 李网格员" in update
    assert "名称 李网格 → 李网格员" in update
    assert "手机号码" not in update, "an unchanged field is not listed"
    assert "授予角色" in grant
    assert "街道干部" in grant and street.name in grant  # noqa: PT018 - the role and the unit in words
    assert "role.grant" in grant, "the code stays beside the words, for the filter"
    assert "类型 街道" in unit, "a unit's kind in words, not its code"
    for line in (grant, update, enable, unit):
        assert "user " not in line
        assert "{" not in line


def test_a_case_transition_reads_with_its_states_in_words(client, factory, tenant_a, login_as):
    from saas import audit

    admin = factory.user(tenant_a, "district_admin")
    with factory.as_tenant(tenant_a) as s:
        audit.record(s, admin, "grid_cases.case.accept", "grid_cases_case", 42, before={"state": "reported"},
                     after={"state": "accepted"}, module="grid_cases")
        s.commit()
    login_as(admin)
    line = next(r for r in rows(client.get("/t/alpha/admin/audit")) if "grid_cases.case.accept" in r)
    assert "事件 · 42" in line
    assert "状态 待受理 → 已受理" in line


def test_filter_by_kind_of_object(client, factory, tenant_a, login_as):
    admin = factory.user(tenant_a, "district_admin")
    worker = factory.user(tenant_a, None, name="王五")
    with factory.as_tenant(tenant_a) as s:
        services.set_module(s, current_app.extensions["saas.modules"], admin, "grid_cases", True)
        services.update_staff(s, admin, services.staff_member(s, worker.id), name="王六", phone=worker.phone)
        s.commit()
    login_as(admin)
    people = rows(client.get("/t/alpha/admin/audit", query_string={"object": "user"}))[1:]
    assert people and all("人员" in r for r in people)  # noqa: PT018
    assert not any("模块启用" in r for r in people)
    wrong = client.get("/t/alpha/admin/audit", query_string={"object": "nonsense"})
    assert wrong.status_code == 422
    assert "请从列表中选择对象类型。" in page_text(wrong)


def test_a_reversed_date_range_is_refused_on_the_page_and_the_api(app, client, factory, tenant_a, login_as):
    admin = factory.user(tenant_a, "district_admin")
    login_as(admin)
    args = {"since": "2026-12-05", "until": "2026-12-01"}
    page = client.get("/t/alpha/admin/audit", query_string=args)
    assert page.status_code == 422
    assert "结束日期早于开始日期。" in page_text(page)
    api = app.test_client().get("/api/v1/t/alpha/admin/audit", query_string=args,
                                headers=bearer(factory.token(admin)))
    assert api.status_code == 422
    assert api.get_json()["errors"]["until"] == "结束日期早于开始日期。"
    same_day = client.get("/t/alpha/admin/audit", query_string={"since": "2026-12-05", "until": "2026-12-05"})
    assert same_day.status_code == 200


def test_every_action_the_code_records_has_words(app):
    """An action written as a literal anywhere (kernel or module) is worded by the kernel or its module's
    AuditWords: a new action without words would show its code on the page."""
    import re
    from pathlib import Path

    from tenants.auditing import vocabulary

    root = Path(__file__).resolve().parents[2]
    pattern = re.compile(r'audit\.record\(\s*[^,]+,\s*[^,]+,\s*"([a-z_]+(?:\.[a-z_]+)+)"')
    found = {m.group(1) for folder in ("saas", "tenants", "blueprints") for path in (root / folder).rglob("*.py")
             for m in pattern.finditer(path.read_text(encoding="utf-8"))}
    assert len(found) > 40
    with app.test_request_context():
        words = vocabulary(app.extensions["saas.modules"])
    assert sorted(found - set(words.actions)) == []
