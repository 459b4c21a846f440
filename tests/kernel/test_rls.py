"""PostgreSQL row-level security: the database holds the line even when the application's filter does not."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from saas import db
from saas.db import Base, tenant_tables
from tenants.models import User


def test_app_role_owns_no_table_and_cannot_bypass_rls(pg_app):
    with pg_app.app_context():
        row = db.session.execute(sa.text(
            "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )).one()
        owned = db.session.execute(sa.text(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user"
        )).scalar()
    assert row.current_user == "wgt_app"
    assert row.rolsuper is False
    assert row.rolbypassrls is False
    assert owned == 0


def test_every_tenant_table_forces_rls_with_a_policy(pg_app):
    names = {t.name for t in tenant_tables()}
    assert {"users", "org_units", "audit_entries", "grid_cases_categories"} <= names
    with pg_app.app_context():
        rows = db.session.execute(sa.text(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
            "(SELECT count(*) FROM pg_policies p WHERE p.tablename = c.relname) AS policies "
            "FROM pg_class c WHERE c.relname = ANY(:names)"
        ), {"names": list(names)}).all()
    assert {r.relname for r in rows} == names
    for r in rows:
        assert r.relrowsecurity, r.relname
        assert r.relforcerowsecurity, r.relname
        assert r.policies == 1, r.relname


# the tables of the catalogue without row-level security, each with its written reason; any other table must
# force it (the test below), so a new table cannot slip in unguarded
WITHOUT_RLS = {
    "alembic_version": "the schema's revision, written by the owner's migrations only",
}


def test_every_table_forces_rls_or_is_listed_with_its_reason(pg_app):
    with pg_app.app_context():
        rows = db.session.execute(sa.text(
            "SELECT c.relname, c.relrowsecurity AND c.relforcerowsecurity AS forced FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
        )).all()
    unguarded = {r.relname for r in rows if not r.forced}
    assert unguarded == set(WITHOUT_RLS)


def test_raw_sql_that_forgets_the_filter_sees_only_the_current_tenant(pg_app):
    from tests.plugin import Factory

    factory = Factory(pg_app)
    a = factory.tenant("alpha", "甲区")
    b = factory.tenant("beta", "乙区")
    factory.user(a, name="甲一")
    factory.user(b, name="乙一")
    with factory.as_tenant(a) as s:
        names = set(s.execute(sa.text("SELECT name FROM users")).scalars())
        assert names == {"甲一"}
        # the ORM filter switched off for this statement: RLS alone answers
        names = set(s.scalars(sa.select(User.name).execution_options(all_tenants=True)))
        assert names == {"甲一"}
    with pg_app.app_context():
        assert db.session.execute(sa.text("SELECT count(*) FROM users")).scalar() == 0


def test_rls_refuses_writing_a_row_for_another_tenant(pg_app):
    from tests.plugin import Factory

    factory = Factory(pg_app)
    a = factory.tenant("alpha", "甲区")
    b = factory.tenant("beta", "乙区")
    with factory.as_tenant(a) as s:
        with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
            s.execute(sa.text("INSERT INTO users (tenant_id, id, name, kind, active, created_at) "
                              "VALUES (:t, 1, 'x', 'staff', true, now())"), {"t": b.id})
        s.rollback()


def test_tenant_setting_does_not_leak_to_the_next_transaction(pg_app):
    from tests.plugin import Factory

    factory = Factory(pg_app)
    a = factory.tenant("alpha", "甲区")
    with factory.as_tenant(a) as s:
        assert s.execute(sa.text("SELECT current_setting('app.tenant_id', true)")).scalar() == str(a.id)
        s.commit()
    with pg_app.app_context():
        value = db.session.execute(sa.text("SELECT current_setting('app.tenant_id', true)")).scalar()
    assert value in ("", None)


def test_audit_log_is_append_only_for_the_app_role(pg_app):
    from tests.plugin import Factory

    factory = Factory(pg_app)
    a = factory.tenant("alpha", "甲区")
    with factory.as_tenant(a) as s:
        assert s.execute(sa.text("SELECT count(*) FROM audit_entries")).scalar() >= 1
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            s.execute(sa.text("UPDATE audit_entries SET action = 'forged'"))
        s.rollback()
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            s.execute(sa.text("DELETE FROM audit_entries"))
        s.rollback()


def test_metadata_and_database_agree(pg_app):
    """Every model table exists (migrations are complete) and carries tenant_id in its key where it should."""
    with pg_app.app_context():
        inspector = sa.inspect(db.session.get_bind())
        for table in tenant_tables():
            pk = inspector.get_pk_constraint(table.name)["constrained_columns"]
            assert pk[0] == "tenant_id", table.name
            for fk in inspector.get_foreign_keys(table.name):
                if fk["referred_table"] != "tenants":
                    assert "tenant_id" in fk["constrained_columns"], (table.name, fk)
            for uq in inspector.get_unique_constraints(table.name):
                assert "tenant_id" in uq["column_names"], (table.name, uq)
    assert len(Base.metadata.tables) >= 10


# --- the tables above the districts (issue #10: the app role could read the operators' password hashes and change
# any district's host name) ------------------------------------------------------------------------------------


def _platform_world(pg_app):  # type: ignore[no-untyped-def]
    from tenants.models import PlatformOperator
    from tests.plugin import Factory

    factory = Factory(pg_app)
    a = factory.tenant("alpha", "甲区")
    b = factory.tenant("beta", "乙区")
    with pg_app.app_context(), db.platform_context():
        db.session.add(PlatformOperator(username="op", name="运营", password_hash="$argon2id$secret"))
        db.session.commit()
    return factory, a, b


def test_a_districts_transaction_sees_its_own_district_row_and_no_operator(pg_app):
    factory, a, _b = _platform_world(pg_app)
    with factory.as_tenant(a) as s:
        assert list(s.execute(sa.text("SELECT slug FROM tenants")).scalars()) == ["alpha"]
        for table in ("platform_operators", "operator_sessions", "platform_audit_entries"):
            assert s.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == 0, table  # noqa: S608
        # writing into them is refused too
        with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
            s.execute(sa.text("INSERT INTO platform_operators (id, username, name, password_hash, created_at) "
                              "VALUES (7, 'x', 'x', 'x', now())"))
        s.rollback()


def test_a_districts_transaction_cannot_change_another_district_or_its_own_host_name(pg_app):
    factory, a, _b = _platform_world(pg_app)
    with factory.as_tenant(a) as s:
        # another district's row is invisible: nothing to update
        moved = s.execute(sa.text("UPDATE tenants SET hostname = 'evil.example' WHERE slug = 'beta'")).rowcount
        assert moved == 0
        assert s.execute(sa.text("DELETE FROM tenants WHERE slug = 'beta'")).rowcount == 0
        # its own names it may change (the district admin's page does), not its host name, slug or state
        assert s.execute(sa.text("UPDATE tenants SET name_en = 'Alpha' WHERE slug = 'alpha'")).rowcount == 1
        for change in ("hostname = 'platform.example'", "slug = 'gamma'", "active = false"):
            with pytest.raises(sa.exc.ProgrammingError, match="only the platform"):
                s.execute(sa.text(f"UPDATE tenants SET {change} WHERE slug = 'alpha'"))  # noqa: S608
            s.rollback()
            db.set_tenant(a.id, s)
        with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
            s.execute(sa.text("INSERT INTO tenants (id, slug, name_zh, name_en, timezone, active, created_at) "
                              "VALUES (9, 'gamma', '丙区', '', 'Asia/Shanghai', true, now())"))
        s.rollback()
    with pg_app.app_context(), db.platform_context():
        assert db.session.execute(sa.text("SELECT hostname FROM tenants WHERE slug = 'beta'")).scalar() is None


def test_without_a_district_every_row_is_read_but_nothing_written(pg_app):
    """A request finds its district by slug or host before it is bound to it, and jobs list the active districts:
    a transaction bound to no district reads `tenants`, and changes nothing there, and sees no operator."""
    _platform_world(pg_app)
    with pg_app.app_context():
        assert set(db.session.execute(sa.text("SELECT slug FROM tenants")).scalars()) == {"alpha", "beta"}
        assert db.session.execute(sa.text("SELECT count(*) FROM platform_operators")).scalar() == 0
        assert db.session.execute(sa.text("UPDATE tenants SET name_en = 'x'")).rowcount == 0
        assert db.session.execute(sa.text("DELETE FROM tenants")).rowcount == 0


def test_the_platform_sees_and_changes_everything(pg_app):
    _platform_world(pg_app)
    with pg_app.app_context(), db.platform_context():
        assert db.session.execute(sa.text("SELECT count(*) FROM tenants")).scalar() == 2
        assert db.session.execute(sa.text("SELECT username FROM platform_operators")).scalar() == "op"
        assert db.session.execute(sa.text("UPDATE tenants SET hostname = 'a.example' WHERE slug = 'alpha'")
                                  ).rowcount == 1
        db.session.rollback()


def test_a_districts_request_cannot_read_operators_and_the_platforms_pages_can(pg_app):
    """Through the app: a district's page runs as the district (its transaction sees no operator), the platform's
    sign-in finds the operator; an operator's cookie means nothing on a district's or the landing page."""
    from flask import g

    from saas.auth import hash_password
    from tenants.models import PlatformOperator
    from tests.plugin import TEST_PASSWORD, Factory

    factory = Factory(pg_app)
    factory.tenant("alpha", "甲区")
    with pg_app.app_context(), db.platform_context():
        db.session.add(PlatformOperator(username="op", name="运营", password_hash=hash_password(TEST_PASSWORD)))
        db.session.commit()
    seen = {}

    @pg_app.after_request
    def count(response):  # type: ignore[no-untyped-def]
        seen[g.get("tenant") and g.tenant.slug] = (
            db.session.execute(sa.text("SELECT count(*) FROM platform_operators")).scalar(),
            db.session.execute(sa.text("SELECT count(*) FROM tenants")).scalar())
        return response

    client = pg_app.test_client()
    assert client.get("/t/alpha/login").status_code == 200
    assert seen["alpha"] == (0, 1)
    page = client.post("/platform/login", data={"username": "op", "password": TEST_PASSWORD})
    assert page.status_code == 302
    assert seen[None] == (1, 1)
