"""Operator surfaces: CLI, platform pages, health checks, the OpenAPI document, migrations, host names."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from saas import db, migrate
from tenants.models import Tenant


def test_cli_creates_a_tenant_and_switches_modules(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tenants", "create", "lusong", "--name", "芦淞区"])
    assert result.exit_code == 0, result.output
    again = runner.invoke(args=["tenants", "create", "lusong", "--name", "芦淞区"])
    assert again.exit_code != 0
    assert "slug" in again.output
    result = runner.invoke(args=["tenants", "modules", "lusong", "--enable", "grid_cases"])
    assert result.exit_code == 0, result.output
    assert "grid_cases\ton" in result.output
    result = runner.invoke(args=["tenants", "modules", "lusong", "--disable", "grid_cases"])
    assert "grid_cases\toff" in result.output
    bad = runner.invoke(args=["tenants", "modules", "lusong", "--enable", "nope"])
    assert bad.exit_code != 0
    assert "unknown module" in bad.output
    listing = runner.invoke(args=["tenants", "list"])
    assert "lusong\t芦淞区" in listing.output


def test_demo_seed_builds_the_reported_districts_and_is_idempotent(app, client):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    assert "288 grids" in first.output
    assert "357 grid workers" in first.output
    assert "7119 households" in first.output
    second = runner.invoke(args=["demo", "seed"])
    assert second.exit_code == 0
    assert "288 grids" not in second.output
    login = client.post("/t/lusong/login", data={"login": "admin", "password": "wgt-demo-2026"})
    assert login.status_code == 302
    assert 'data-module="grid_cases"' in client.get("/t/lusong/").get_data(as_text=True)


def test_platform_operator_creates_a_district(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["platform", "create-operator", "op"], input="s3cret-pass\ns3cret-pass\n")
    assert result.exit_code == 0, result.output
    assert client.get("/platform/").status_code == 302
    assert client.post("/platform/login", data={"username": "op", "password": "bad"}).status_code == 422
    assert client.post("/platform/login", data={"username": "op", "password": "s3cret-pass"}).status_code == 302
    bad = client.post("/platform/", data={"slug": "Bad Slug!", "name_zh": ""})
    assert bad.status_code == 422
    ok = client.post("/platform/", data={"slug": "yingze", "name_zh": "迎泽区", "timezone": "Asia/Shanghai",
                                         "admin_name": "王主任", "admin_phone": "13912340001"})
    assert ok.status_code == 200
    with app.app_context():
        assert db.session.scalars(sa.select(Tenant.name_zh).where(Tenant.slug == "yingze")).one() == "迎泽区"


def test_district_staff_cannot_reach_platform_pages(client, factory, tenant_a, login_as):
    login_as(factory.user(tenant_a))
    assert client.get("/platform/").status_code == 302


def test_health_and_readiness(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json["checks"]["database"] == "ok"


@pytest.mark.one_backend
def test_readiness_reports_a_dead_redis(app, client):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json["checks"]["redis"].startswith("error")


@pytest.mark.one_backend
def test_openapi_document_is_served_and_printed(app, client):
    doc = client.get("/api/openapi.json").json
    assert doc["openapi"].startswith("3.")
    assert "/api/v1/t/{tenant}/admin/modules/{key}" in doc["paths"]
    assert "/api/v1/t/{tenant}/grid_cases/categories" in doc["paths"]
    assert client.get("/api/docs").status_code == 200
    printed = app.test_cli_runner().invoke(args=["openapi", "print"])
    assert json.loads(printed.output)["paths"].keys() == doc["paths"].keys()


def test_api_errors_have_a_stable_code_and_message(client, factory, tenant_a):
    token = factory.token(factory.user(tenant_a))
    headers = {"Authorization": f"Bearer {token}"}
    missing = client.get("/api/v1/t/alpha/admin/modules/nope", headers=headers)
    assert missing.status_code == 404
    assert missing.json["code"] == "not_found"
    assert missing.json["message"]
    bad = client.post("/api/v1/t/alpha/grid_cases/categories", headers=headers, data="not json",
                      content_type="application/json")
    assert (bad.status_code, bad.json["code"]) == (400, "bad_request")
    wrong_types = client.post("/api/v1/t/alpha/grid_cases/categories", headers=headers,
                              json={"code": ["x"], "name": 5, "deadline_days": "soon"})
    assert wrong_types.status_code == 422
    assert set(wrong_types.json["errors"]) == {"code", "name", "deadline_days"}


def test_host_name_mapped_to_a_tenant_serves_that_tenant_only(app, client, tenant_a, tenant_b):
    with app.app_context(), db.platform_context():
        db.session.execute(sa.update(Tenant).where(Tenant.slug == "alpha").values(hostname="alpha.example.cn"))
        db.session.commit()
    root = client.get("/", base_url="http://alpha.example.cn")
    assert root.status_code == 302
    assert root.headers["Location"].endswith("/t/alpha/")
    assert client.get("/t/alpha/", base_url="http://alpha.example.cn").status_code == 200
    assert client.get("/t/beta/", base_url="http://alpha.example.cn").status_code == 404


@pytest.mark.parametrize("host", ["alpha.example.cn.", "ALPHA.Example.CN", "Alpha.example.cn.:8000"])
def test_every_spelling_of_a_mapped_host_serves_that_tenant_only(app, client, tenant_a, tenant_b, host):
    """A trailing dot (the fully qualified name), capitals or a port are the same host: the same district only."""
    with app.app_context(), db.platform_context():
        db.session.execute(sa.update(Tenant).where(Tenant.slug == "alpha").values(hostname="alpha.example.cn"))
        db.session.commit()
    base = f"http://{host}"
    root = client.get("/", base_url=base)
    assert root.status_code == 302
    assert root.headers["Location"].endswith("/t/alpha/")
    assert client.get("/t/alpha/", base_url=base).status_code == 200
    assert client.get("/t/beta/", base_url=base).status_code == 404
    assert client.get("/t/beta/login", base_url=base).status_code == 404


def test_platform_pages_are_not_served_on_a_districts_host(app, client, tenant_a):
    with app.app_context(), db.platform_context():
        db.session.execute(sa.update(Tenant).where(Tenant.slug == "alpha").values(hostname="alpha.example.cn"))
        db.session.commit()
    for host in ("alpha.example.cn", "ALPHA.example.cn."):
        assert client.get("/platform/login", base_url=f"http://{host}").status_code == 404
        assert client.post("/platform/login", base_url=f"http://{host}",
                           data={"username": "operator", "password": "x"}).status_code == 404
    # on the platform's own host (mapped to no district) they are there
    assert client.get("/platform/login", base_url="http://platform.example.cn").status_code == 200


def test_a_mapped_host_name_is_stored_as_its_lookup_spells_it(app, tenant_a):
    from tenants import services
    from tenants.resolution import normalize_host

    assert normalize_host("WBL.test.:8000") == "wbl.test"
    assert normalize_host("[::1]:5000") == "[::1]"
    with app.app_context(), db.platform_context():
        tenant = services.create_tenant(db.session(), None, "gamma", "丙区", hostname="Gamma.Example.CN.")
        assert tenant.hostname == "gamma.example.cn"
        db.session.rollback()


def test_migrations_match_the_models(app):
    assert migrate.pending_changes(app) == []
