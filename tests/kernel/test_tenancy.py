"""Tenant isolation through the kernel: the ORM filter, the flush check, composite keys, URLs and tokens."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from saas import db
from saas.db import CrossTenantWrite, TenantNotSet
from tenants.models import OrgUnit, RoleGrant, User
from tests.plugin import bearer


def test_query_without_filter_returns_only_current_tenant_rows(app, factory, tenant_a, tenant_b):
    factory.user(tenant_a, name="甲一")
    factory.user(tenant_b, name="乙一")
    with factory.as_tenant(tenant_a) as s:
        names = set(s.scalars(sa.select(User.name)))
    assert names == {"甲一"}


def test_query_with_no_tenant_set_fails_closed(app, tenant_a):
    with app.app_context(), pytest.raises(TenantNotSet):
        db.session.scalars(sa.select(User)).all()


def test_relationship_loads_are_scoped_too(app, factory, tenant_a, tenant_b):
    user = factory.user(tenant_a)
    with factory.as_tenant(tenant_a) as s:
        loaded = s.scalars(sa.select(User).where(User.id == user.id)).one()
        assert [g.org_unit.kind for g in loaded.grants] == ["district"]


def test_new_row_of_another_tenant_is_refused_at_flush(app, factory, tenant_a, tenant_b):
    with factory.as_tenant(tenant_a) as s:
        s.add(User(tenant_id=tenant_b.id, name="偷渡", username="x"))
        with pytest.raises(CrossTenantWrite):
            s.flush()
        s.rollback()


def test_moving_a_row_to_another_tenant_is_refused(app, factory, tenant_a, tenant_b):
    user = factory.user(tenant_a)
    with factory.as_tenant(tenant_a) as s:
        row = s.scalars(sa.select(User).where(User.id == user.id)).one()
        row.tenant_id = tenant_b.id
        with pytest.raises(CrossTenantWrite):
            s.flush()
        s.rollback()


def test_database_refuses_a_grant_on_another_tenants_unit(app, factory, tenant_a, tenant_b):
    """The composite foreign key (tenant_id, org_unit_id) holds even when the ORM is bypassed."""
    user = factory.user(tenant_a, role=None)
    with factory.as_tenant(tenant_b) as s:
        b_root = s.scalars(sa.select(OrgUnit).where(OrgUnit.kind == "district")).one()
    with factory.as_tenant(tenant_a) as s:
        s.add(RoleGrant(user_id=user.id, role="grid_worker", org_unit_id=b_root.id))
        with pytest.raises(sa.exc.IntegrityError):
            s.flush()
        s.rollback()


def test_same_phone_may_exist_in_two_districts(app, factory, tenant_a, tenant_b):
    """Unique keys include tenant_id, so one district's data never leaks through another's constraint."""
    factory.user(tenant_a, phone="13812345678")
    factory.user(tenant_b, phone="13812345678")


def test_unknown_tenant_gets_chinese_404_page(client):
    response = client.get("/t/nowhere/")
    assert response.status_code == 404
    assert "text/html" in response.content_type


def test_session_of_tenant_a_is_not_signed_in_at_tenant_b(client, factory, tenant_a, tenant_b, login_as):
    login_as(factory.user(tenant_a))
    assert client.get("/t/alpha/admin/modules").status_code == 200
    response = client.get("/t/beta/admin/modules")
    assert response.status_code == 302
    assert "/t/beta/login" in response.headers["Location"]


def test_token_of_tenant_a_is_refused_at_tenant_b(client, factory, tenant_a, tenant_b):
    token = factory.token(factory.user(tenant_a))
    assert client.get("/api/v1/t/alpha/me", headers=bearer(token)).status_code == 200
    response = client.get("/api/v1/t/beta/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.json["code"] == "unauthorized"


def test_org_unit_of_another_tenant_cannot_be_named_in_a_form(client, factory, tenant_a, tenant_b, login_as):
    factory.unit(tenant_b, "street", "b-street")
    login_as(factory.user(tenant_a))
    response = client.post("/t/alpha/admin/org", data={"kind": "community", "code": "c1", "name": "社区",
                                                       "parent_code": "b-street"})
    assert response.status_code == 422
    with factory.as_tenant(tenant_a) as s:
        assert s.scalars(sa.select(OrgUnit).where(OrgUnit.code == "c1")).first() is None
