"""Tenant isolation through the kernel: the ORM filter, the flush check, composite keys, URLs and tokens."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from saas import db
from saas.db import CrossTenantWrite, TenantNotSet
from saas.ids import new_id
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
    factory.user(tenant_a, phone="13812345678", name="甲一")
    factory.user(tenant_b, phone="13812345678", name="乙一")
    for tenant, name in ((tenant_a, "甲一"), (tenant_b, "乙一")):
        with factory.as_tenant(tenant) as s:
            assert s.scalars(sa.select(User.name).where(User.phone == "13812345678")).all() == [name]
    # and the key still holds inside one district
    with factory.as_tenant(tenant_a) as s:
        s.add(User(name="甲二", phone="13812345678", username="a2"))
        with pytest.raises(sa.exc.IntegrityError):
            s.flush()
        s.rollback()


def test_an_app_context_inside_another_leaves_the_outer_ones_session_open(app, factory, tenant_a):
    """A job run in-process after a request, or a helper's block inside a test's block, pushes an app context
    inside another. Its end must not close the outer block's session: the outer one would go on with a
    session nobody closes again, a connection left in a transaction holding its locks."""
    with factory.as_tenant(tenant_a) as outer:
        outer.execute(sa.select(User.id)).all()
        with factory.as_tenant(tenant_a) as inner:
            assert inner is outer
        assert db.session() is outer
        assert db.current_tenant_id(outer) == tenant_a.id
        outer.execute(sa.select(User.id)).all()
    with app.app_context():
        assert db.session() is not outer
    assert not outer.in_transaction()


def test_unknown_tenant_gets_chinese_404_page(client):
    from flask_babel import force_locale, gettext

    response = client.get("/t/nowhere/")
    assert response.status_code == 404
    assert "text/html" in response.content_type
    page = response.get_data(as_text=True)
    with client.application.test_request_context(), force_locale("zh_CN"):
        back = gettext("Back to the start page")
    assert re.search(r"[\u4e00-\u9fff]", back), back  # the catalogue has it in Chinese
    assert back in page
    assert '<html lang="zh' in page


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
    street_b = factory.unit(tenant_b, "street", "b-street")
    login_as(factory.user(tenant_a))
    response = client.post("/t/alpha/admin/org", data={"kind": "community", "code": "c1", "name": "社区",
                                                       "parent_id": street_b.id})
    assert response.status_code == 422
    with factory.as_tenant(tenant_a) as s:
        assert s.scalars(sa.select(OrgUnit).where(OrgUnit.code == "c1")).first() is None


# --- every statement kind the ORM issues, against a second tenant whose rows are linked to the first's ----------
# B holds a person with the *same id* as A's (the key is (tenant_id, id)), with a grant of its own: a statement that
# loses the tenant criterion reads, changes or deletes B's twin; one that keeps it touches A's row only.
KINDS = ("select", "get", "relationship", "update", "delete", "insert", "bulk_insert")


def _twins(factory, tenant_a, tenant_b) -> int:
    twin = factory.user(tenant_a, role="grid_worker", name="甲一", username="twin").id
    with factory.as_tenant(tenant_b) as s:
        b_root = s.scalars(sa.select(OrgUnit).where(OrgUnit.kind == "district")).one()
        s.add(User(id=twin, name="乙一", username="twin"))
        s.flush()
        s.add(RoleGrant(user_id=twin, role="street_officer", org_unit_id=b_root.id))
        s.commit()
    return twin


def _rows(app, table: str) -> list[tuple]:
    """What the owner sees (no filter, no RLS): (tenant slug, ...) per row, sorted."""
    from saas.db import make_engine

    engine = make_engine(app.config["MIGRATE_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            column = "name" if table == "users" else "role"
            return sorted(conn.execute(sa.text(f"SELECT t.slug, x.{column} FROM {table} x "  # noqa: S608
                                               "JOIN tenants t ON t.id = x.tenant_id")).all())
    finally:
        engine.dispose()


def _each_kind_touches_only_tenant_a(app, factory, tenant_a, tenant_b, kind: str) -> None:
    twin = _twins(factory, tenant_a, tenant_b)
    users, grants = _rows(app, "users"), _rows(app, "role_grants")
    assert ("beta", "乙一") in users
    assert ("beta", "street_officer") in grants
    with factory.as_tenant(tenant_a) as s:
        if kind == "select":
            assert s.execute(sa.select(User.tenant_id, User.name)).all() == [(tenant_a.id, "甲一")]
            assert s.scalar(sa.select(sa.func.count()).select_from(RoleGrant)) == 1
        elif kind == "get":
            assert s.get(User, (tenant_a.id, twin)).name == "甲一"
            assert s.get(User, (tenant_b.id, twin)) is None
        elif kind == "relationship":
            s.expire_on_commit = True
            user = s.scalars(sa.select(User).where(User.id == twin)).one()
            assert [(g.role, g.org_unit.tenant_id) for g in user.grants] == [("grid_worker", tenant_a.id)]
            s.expire(user, ["grants"])  # a lazy load now, on attribute access
            assert [g.role for g in user.grants] == ["grid_worker"]
        elif kind == "update":
            result = s.execute(sa.update(User).values(name="改名"))
            assert result.rowcount == 1
            s.commit()
            users = [("alpha", "改名") if row == ("alpha", "甲一") else row for row in users]
        elif kind == "delete":
            result = s.execute(sa.delete(RoleGrant))
            assert result.rowcount == 1
            s.commit()
            grants = [row for row in grants if row[0] != "alpha"]
        elif kind in ("insert", "bulk_insert"):
            b_root = tenant_b_root(app, factory, tenant_b)
            values = {"tenant_id": tenant_b.id, "user_id": twin, "role": "grid_leader", "org_unit_id": b_root}
            # a row of B written from A's session is refused (the kernel or row-level security), never stored
            insert = (lambda: s.execute(sa.insert(RoleGrant).values(id=new_id(), **values))) if kind == "insert" \
                else (lambda: s.execute(sa.insert(RoleGrant), [{"id": new_id(), **values}]))
            with pytest.raises((CrossTenantWrite, sa.exc.DBAPIError)):
                insert()
            s.rollback()
    assert _rows(app, "users") == sorted(users)
    assert _rows(app, "role_grants") == sorted(grants)


def tenant_b_root(app, factory, tenant_b) -> int:
    with factory.as_tenant(tenant_b) as s:
        return s.scalars(sa.select(OrgUnit.id).where(OrgUnit.kind == "district")).one()


@pytest.mark.parametrize("kind", KINDS)
def test_every_statement_kind_touches_the_current_tenants_rows_only(app, factory, tenant_a, tenant_b, kind):
    _each_kind_touches_only_tenant_a(app, factory, tenant_a, tenant_b, kind)


@pytest.mark.config(TENANT_FILTER_DISABLED=True)
@pytest.mark.parametrize("kind", KINDS)
def test_row_level_security_alone_holds_every_statement_kind(pg_app, kind):
    """The app's filter switched off: PostgreSQL's policies alone keep each statement inside tenant A."""
    from tests.plugin import Factory

    factory = Factory(pg_app)
    tenant_a, tenant_b = factory.tenant("alpha", "甲区"), factory.tenant("beta", "乙区")
    _each_kind_touches_only_tenant_a(pg_app, factory, tenant_a, tenant_b, kind)
