"""Modules as plugins: discovery by entry point, the switch (pages, API, menu, widgets), settings, audit."""

from __future__ import annotations

import sys
import textwrap

import pytest
import sqlalchemy as sa

from saas import create_app
from saas.audit import AuditEntry
from saas.jobs import run_for_tenant, run_periodic
from saas.modules import ModuleRegistry, ModuleSpec, PeriodicJob
from saas.notify import Notification, notify
from tests.plugin import bearer


def test_repo_modules_are_discovered_through_entry_points():
    registry = ModuleRegistry.discover()
    assert "grid_cases" in registry
    assert registry.get("grid_cases").name_zh == "网格事件"


def test_an_outside_distribution_plugs_in_through_its_entry_point(tmp_path, monkeypatch, backend):
    """A module installed as its own distribution (a dist-info with an entry point) is found and served."""
    pkg = tmp_path / "wgt_outside"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent('''
        from flask import Blueprint
        from saas.modules import ModuleSpec, NavEntry

        def _views():
            bp = Blueprint("outside", __name__)

            @bp.get("/hello")
            def hello():
                return "outside module says hello"
            return bp

        module = ModuleSpec(key="outside", name_zh="外部模块", name_en="Outside", version="1.0",
                            nav=(NavEntry("outside.hello", "Hello"),), views=_views)
    '''))
    dist = tmp_path / "wgt_outside-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: wgt-outside\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[saas.modules]\noutside = wgt_outside:module\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        registry = ModuleRegistry.discover()
        assert "outside" in registry
        app = create_app({"TESTING": True, "DATABASE_URL": backend["app_url"], "SERVER_NAME": "localhost"})
        assert any(r.rule == "/t/<tenant>/outside/hello" for r in app.url_map.iter_rules())
    finally:
        sys.modules.pop("wgt_outside", None)


def test_two_modules_with_one_key_are_refused():
    spec = ModuleSpec(key="x", name_zh="甲", name_en="X", version="1")
    with pytest.raises(RuntimeError, match="two modules"):
        ModuleRegistry([spec, spec])


@pytest.fixture
def admin(factory, tenant_a, tenant_b, login_as):
    user = factory.user(tenant_a)
    login_as(user)
    return user


def test_switched_off_module_is_gone_for_that_tenant_only(client, factory, admin, tenant_a, tenant_b):
    token = factory.token(admin)
    b_token = factory.token(factory.user(tenant_b))
    assert client.get("/t/alpha/grid_cases/categories").status_code == 200

    response = client.post("/t/alpha/admin/modules/grid_cases", data={"enabled": "0", "confirm": "1"})
    assert response.status_code == 302

    assert client.get("/t/alpha/grid_cases/categories").status_code == 404
    assert client.get("/t/alpha/grid_cases/widgets/categories").status_code == 404
    assert client.get("/api/v1/t/alpha/grid_cases/categories", headers=bearer(token)).status_code == 404
    home = client.get("/t/alpha/").get_data(as_text=True)
    assert 'data-module="grid_cases"' not in home
    assert client.get("/api/v1/t/alpha/me", headers=bearer(token)).json["modules"] == []
    # the other district keeps it
    assert client.get("/api/v1/t/beta/grid_cases/categories", headers=bearer(b_token)).status_code == 200


def test_switching_back_on_brings_the_data_back(client, factory, admin, tenant_a):
    token = factory.token(admin)
    created = client.post("/api/v1/t/alpha/grid_cases/categories", headers=bearer(token),
                          json={"code": "noise", "name": "噪音扰民", "deadline_days": 3})
    assert created.status_code == 201
    client.post("/t/alpha/admin/modules/grid_cases", data={"enabled": "0", "confirm": "1"})
    assert client.get("/api/v1/t/alpha/grid_cases/categories", headers=bearer(token)).status_code == 404
    client.post("/t/alpha/admin/modules/grid_cases", data={"enabled": "1"})
    names = [c["name"] for c in client.get("/api/v1/t/alpha/grid_cases/categories", headers=bearer(token)).json]
    assert "噪音扰民" in names
    home = client.get("/t/alpha/").get_data(as_text=True)
    assert 'data-module="grid_cases"' in home


def test_module_switch_through_the_api_is_audited(client, factory, admin, tenant_a):
    token = factory.token(admin)
    response = client.patch("/api/v1/t/alpha/admin/modules/grid_cases", headers=bearer(token), json={"enabled": False})
    assert response.status_code == 200
    assert response.json["enabled"] is False
    with factory.as_tenant(tenant_a) as s:
        entry = s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "module.disable")).one()
    assert entry.actor_id == admin.id
    assert entry.before == {"enabled": True}
    assert entry.after == {"enabled": False}
    assert entry.module == "grid_cases"


def test_settings_are_validated_and_audited(client, factory, admin, tenant_a):
    token = factory.token(admin)
    bad = client.patch("/api/v1/t/alpha/admin/modules/grid_cases", headers=bearer(token),
                       json={"settings": {"reminder_hours": "many", "nope": 1}})
    assert bad.status_code == 422
    assert bad.json["code"] == "validation_error"
    assert set(bad.json["errors"]["settings"]) == {"reminder_hours", "nope"}
    ok = client.patch("/api/v1/t/alpha/admin/modules/grid_cases", headers=bearer(token),
                      json={"settings": {"reminder_hours": 12}})
    assert ok.json["settings"]["reminder_hours"] == 12
    with factory.as_tenant(tenant_a) as s:
        entries = s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "module.settings")).all()
    assert len(entries) == 1
    assert entries[0].before == {"reminder_hours": 24}
    assert entries[0].after == {"reminder_hours": 12}


def test_settings_form_shows_errors_and_changes_nothing(client, factory, admin, tenant_a):
    response = client.post("/t/alpha/admin/modules/grid_cases/settings", data={"reminder_hours": "-3",
                                                                            "case_prefix": "XD"})
    assert response.status_code == 422
    assert "field-error" in response.get_data(as_text=True)
    with factory.as_tenant(tenant_a) as s:
        assert s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "module.settings")).first() is None


@pytest.mark.one_backend
def test_unknown_module_key_is_404(client, admin):
    assert client.post("/t/alpha/admin/modules/nope", data={"enabled": "1"}).status_code == 404


def test_audit_log_page_filters_by_module(client, admin, tenant_a):
    client.post("/t/alpha/admin/modules/grid_cases", data={"enabled": "0", "confirm": "1"})
    page = client.get("/t/alpha/admin/audit?module=grid_cases").get_data(as_text=True)
    assert "module.disable" in page
    assert "module.disable" not in client.get("/t/alpha/admin/audit?action=token.").get_data(as_text=True)
    assert client.get("/t/alpha/admin/audit?since=not-a-date").status_code == 422


def test_audit_entries_cannot_be_changed(app, factory, admin, tenant_a, client):
    from saas.audit import AuditTampering

    client.post("/t/alpha/admin/modules/grid_cases", data={"enabled": "0", "confirm": "1"})
    with factory.as_tenant(tenant_a) as s:
        entry = s.scalars(sa.select(AuditEntry)).first()
        entry.action = "forged"
        with pytest.raises(AuditTampering):
            s.flush()
        s.rollback()


job_calls: list[int] = []


def record_call(tenant_id: int) -> None:
    job_calls.append(tenant_id)


JOB_MODULE = ModuleSpec(
    key="probe", name_zh="探针", name_en="Probe", version="1",
    jobs=(PeriodicJob("tick", "*/5 * * * *", "tests.kernel.test_modules:record_call"),),
)


@pytest.mark.config(EXTRA_MODULES=[JOB_MODULE])
def test_periodic_jobs_run_only_where_the_module_is_on(app, factory):
    a = factory.tenant("alpha", "甲区", modules=("probe",))
    factory.tenant("beta", "乙区")
    job_calls.clear()
    assert run_periodic(app, "probe", "tick") == ["alpha"]
    assert job_calls == [a.id]
    factory.enable_module(a, "probe", on=False)
    job_calls.clear()
    assert run_periodic(app, "probe", "tick") == []
    assert job_calls == []
    result = app.test_cli_runner().invoke(args=["jobs", "list"])
    assert "probe.tick\t*/5 * * * *" in result.output


@pytest.mark.config(EXTRA_MODULES=[JOB_MODULE])
def test_a_queued_job_asks_the_switch_again_when_it_runs(app, factory):
    a = factory.tenant("alpha", "甲区", modules=("probe",))
    factory.enable_module(a, "probe", on=False)
    job_calls.clear()
    assert run_for_tenant(app, "probe", "tick", a.id) is False
    assert job_calls == []


def test_notices_of_a_switched_off_module_are_not_sent(app, factory, tenant_a):
    user = factory.user(tenant_a)
    with factory.as_tenant(tenant_a) as s:
        assert notify(s, user.id, "auth.phone_code", {"code": "1"}, module="grid_cases") != []
        s.commit()
    factory.enable_module(tenant_a, "grid_cases", on=False)
    with factory.as_tenant(tenant_a) as s:
        assert notify(s, user.id, "auth.phone_code", {"code": "2"}, module="grid_cases") == []
        s.commit()
        assert len(s.scalars(sa.select(Notification.id)).all()) == 1


def test_switching_grid_cases_on_provisions_its_categories_once(factory):
    """The first switch on installs the default taxonomy; what the district changed later is never overwritten."""
    from blueprints.grid_cases.models import CaseCategory
    from tenants.models import ModuleSwitch

    tenant = factory.tenant("gamma", "丙区")
    with factory.as_tenant(tenant) as s:
        assert s.scalars(sa.select(CaseCategory)).first() is None
    factory.enable_module(tenant, "grid_cases")
    with factory.as_tenant(tenant) as s:
        codes = set(s.scalars(sa.select(CaseCategory.code)))
        assert "streetlight" in codes
        assert len(codes) == 11
        s.execute(sa.delete(CaseCategory).where(CaseCategory.code == "streetlight"))
        switch = s.scalars(sa.select(ModuleSwitch).where(ModuleSwitch.module_key == "grid_cases")).one()
        assert switch.provisioned_at is not None
        s.commit()
    factory.enable_module(tenant, "grid_cases", on=False)
    factory.enable_module(tenant, "grid_cases")
    with factory.as_tenant(tenant) as s:
        codes = set(s.scalars(sa.select(CaseCategory.code)))
        assert "streetlight" not in codes
        assert len(codes) == 10


def test_a_module_provisions_in_the_switch_transaction_whatever_the_door(factory):
    """A provisioning hook that fails leaves the module off: the hook and the switch commit together."""
    from tenants import services

    calls = []

    def boom(session, tenant):
        calls.append(tenant.slug)
        raise RuntimeError("provisioning failed")

    spec = ModuleSpec(key="needy", name_zh="需要", name_en="Needy", version="1", provision=boom)
    registry = ModuleRegistry([spec])
    tenant = factory.tenant("delta", "丁区")
    with factory.as_tenant(tenant) as s:
        with pytest.raises(RuntimeError):
            services.set_module(s, registry, None, "needy", True)
        s.rollback()
        assert services.switch_row(s, "needy") is None
    assert calls == ["delta"]


def test_switching_off_on_the_page_asks_first_and_says_what_stops_and_that_data_stays(client, factory, admin,
                                                                                      tenant_a):
    with client.session_transaction() as sess:
        sess["lang"] = "en"
    asked = client.post("/t/alpha/admin/modules/grid_cases", data={"enabled": "0"})
    assert asked.status_code == 200
    page = asked.get_data(as_text=True)
    assert "<h1>Switch off Grid cases?</h1>" in page
    for stops in ("Cases", "Remind the holders of steps that are due soon", "A case is overdue (督办)"):
        assert stops in page, stops
    assert "Its data stays" in page
    assert 'name="confirm" value="1"' in page
    # asking changed nothing: still on, nothing audited
    assert client.get("/t/alpha/grid_cases/categories").status_code == 200
    with factory.as_tenant(tenant_a) as s:
        assert s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "module.disable")).first() is None
    done = client.post("/t/alpha/admin/modules/grid_cases", data={"enabled": "0", "confirm": "1"})
    assert done.status_code == 302
    assert client.get("/t/alpha/grid_cases/categories").status_code == 404
    # a module already off is not asked about again
    assert client.post("/t/alpha/admin/modules/grid_cases", data={"enabled": "0"}).status_code == 302


def test_the_api_and_the_cli_say_what_switching_off_stops(app, client, factory, admin, tenant_a):
    token = factory.token(admin)
    answer = client.get("/api/v1/t/alpha/admin/modules/grid_cases", headers=bearer(token)).json
    assert answer["enabled"] is True
    assert "remind_deadlines" not in answer["stops"]["jobs"]  # described in words, not by the job's name
    assert len(answer["stops"]["jobs"]) == 2
    assert len(answer["stops"]["notices"]) >= 10
    assert answer["stops"]["menus"]
    result = app.test_cli_runner().invoke(args=["tenants", "modules", "alpha", "--disable", "grid_cases"])
    assert result.exit_code == 0, result.output
    assert "grid_cases\toff" in result.stdout
    assert "remind_deadlines, supervise_overdue" in result.stderr
    assert "its data stays" in result.stderr


def _categories(factory, tenant) -> list[tuple]:
    from blueprints.grid_cases.models import CaseCategory
    from tenants.models import ModuleSwitch

    with factory.as_tenant(tenant) as s:
        switch = s.scalars(sa.select(ModuleSwitch).where(ModuleSwitch.module_key == "grid_cases")).one()
        assert switch.enabled
        assert switch.provisioned_at is not None
        return sorted((c.code, c.name, c.deadline_days, c.urgent_hours, c.public, c.active)
                      for c in s.scalars(sa.select(CaseCategory)))


def test_switching_on_from_the_page_the_api_and_the_cli_provisions_the_same(app, client, factory, login_as):
    by_page, by_api, by_cli = (factory.tenant(slug, name) for slug, name in
                               (("pagea", "页区"), ("apia", "接口区"), ("clia", "命令区")))
    login_as(factory.user(by_page))
    assert client.post("/t/pagea/admin/modules/grid_cases", data={"enabled": "1"}).status_code == 302
    token = factory.token(factory.user(by_api))
    assert client.patch("/api/v1/t/apia/admin/modules/grid_cases", headers=bearer(token),
                        json={"enabled": True}).status_code == 200
    result = app.test_cli_runner().invoke(args=["tenants", "modules", "clia", "--enable", "grid_cases"])
    assert result.exit_code == 0, result.output
    page, api, cli = (_categories(factory, t) for t in (by_page, by_api, by_cli))
    assert len(page) == 11
    assert page == api == cli


def test_a_module_is_provisioned_on_its_first_switch_on_only(factory):
    """Switched off and on again, a module keeps what the district made of its defaults: the hook runs once."""
    from tenants import services

    calls = []
    spec = ModuleSpec(key="counted", name_zh="计数", name_en="Counted", version="1",
                      provision=lambda session, tenant: calls.append(tenant.slug))
    registry = ModuleRegistry([spec])
    tenant = factory.tenant("delta", "丁区")
    with factory.as_tenant(tenant) as s:
        stamped = services.set_module(s, registry, None, "counted", True).provisioned_at
        s.commit()
        services.set_module(s, registry, None, "counted", False)
        s.commit()
        again = services.set_module(s, registry, None, "counted", True)
        s.commit()
        assert again.enabled
        assert again.provisioned_at == stamped
    assert calls == ["delta"]
