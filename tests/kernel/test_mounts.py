"""A module's mount: a blueprint at its own URL prefix that names the district itself, behind the module's switch.

The module here is declared in the test (`EXTRA_MODULES`), as an outside distribution would declare it; the
kernel knows it only through its manifest.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Blueprint, g, request

from saas import create_app, db
from saas.modules import ModuleSpec, Mount
from tenants.resolution import tenant_by_slug

bp = Blueprint("mounted", __name__)


@bp.before_request
def _resolve() -> None:
    tenant = tenant_by_slug(request.values.get("district", ""))
    if tenant is not None:
        g.tenant = tenant
        db.set_tenant(tenant.id)


@bp.route("/who", methods=["GET", "POST"])
def who() -> Any:
    user = g.get("user")
    return {"tenant": g.tenant.slug, "user": user.id if user is not None else None}


SPEC = ModuleSpec(key="mounted", name_zh="挂载", name_en="Mounted", version="1",
                  mounts=(Mount("/mounted", lambda: bp),))
pytestmark = pytest.mark.config(EXTRA_MODULES=[SPEC])


@pytest.fixture
def district(factory: Any) -> Any:
    return factory.tenant("alpha", "甲区", modules=("mounted",))


def test_a_mount_answers_for_the_district_it_names(client, district):
    response = client.get("/mounted/who?district=alpha")
    assert response.status_code == 200
    assert response.get_json() == {"tenant": "alpha", "user": None}


def test_a_mount_is_gone_where_the_module_is_off_and_fails_closed_without_a_district(client, factory, district):
    factory.tenant("beta", "乙区")
    assert client.get("/mounted/who?district=beta").status_code == 404
    assert client.get("/mounted/who").status_code == 404
    factory.enable_module(district, "mounted", on=False)
    assert client.get("/mounted/who?district=alpha").status_code == 404


def test_a_mount_signs_nobody_in_from_the_session_cookie(client, factory, district, login_as):
    login_as(factory.user(district))
    assert client.get("/mounted/who?district=alpha").get_json()["user"] is None


@pytest.mark.config(EXTRA_MODULES=[SPEC], WTF_CSRF_ENABLED=True)
def test_a_mount_takes_posts_without_a_csrf_token(client, district):
    assert client.post("/mounted/who", data={"district": "alpha"}).status_code == 200


@pytest.mark.parametrize("prefix", ["/t/x", "/api/v2", "/", ""])
def test_a_mount_over_the_kernels_urls_is_refused(prefix):
    spec = ModuleSpec(key="greedy", name_zh="贪", name_en="Greedy", version="1", mounts=(Mount(prefix, lambda: bp),))
    with pytest.raises(RuntimeError, match="mounts a blueprint over"):
        create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "REDIS_URL": None, "EXTRA_MODULES": [spec]})
