"""Switched off for a district, the module has no pages, API answers, menu entries, widgets or jobs there; its
data stays and comes back with the switch."""

from __future__ import annotations

from saas.jobs import run_for_tenant
from tests.plugin import bearer


def test_switched_off_the_module_answers_nothing_and_keeps_its_data(app, world_a, client, login_as, enable_module):
    item = world_a.submit()
    token = world_a.factory.token(world_a.users["office"])
    login_as(world_a.users["office"])
    home = client.get("/t/alpha/").get_data(as_text=True)
    assert "/t/alpha/business_feedback/" in home
    enable_module(world_a.tenant, "business_feedback", on=False)
    assert client.get(f"/t/alpha/business_feedback/items/{item.id}").status_code == 404
    assert client.get("/t/alpha/business_feedback/supervisors").status_code == 404
    assert client.get(f"/api/v1/t/alpha/business_feedback/items/{item.id}", headers=bearer(token)).status_code == 404
    assert "/t/alpha/business_feedback/" not in client.get("/t/alpha/").get_data(as_text=True)
    assert run_for_tenant(app, "business_feedback", "supervise_overdue", world_a.tenant.id) is False
    enable_module(world_a.tenant, "business_feedback")
    back = client.get(f"/api/v1/t/alpha/business_feedback/items/{item.id}", headers=bearer(token))
    assert back.status_code == 200
    assert back.get_json()["number"] == item.number
    assert run_for_tenant(app, "business_feedback", "supervise_overdue", world_a.tenant.id) is True
