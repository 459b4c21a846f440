"""Test fixtures, shipped as a pytest plugin (`-p tests.plugin`).

Every test that takes `app` runs twice: on the embedded default (SQLite) and on PostgreSQL, where the
app connects as the non-owner role `wgt_app` under row-level security. Tables are emptied after each
test by the owner. Two tenants are always at hand, so isolation is tested by default.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from saas import create_app, db, migrate
from saas.auth import create_token, hash_password
from saas.db import Base, make_engine

PG_OWNER_URL = os.environ.get("TEST_PG_OWNER_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_APP_ROLE = "wgt_app"
TEST_PASSWORD = "correct-horse-9"
_HASH: dict[str, str] = {}


def pg_app_url(owner_url: str = PG_OWNER_URL) -> str:
    return sa.make_url(owner_url).set(username=PG_APP_ROLE, password=None).render_as_string(hide_password=False)


def _password_hash() -> str:
    if "h" not in _HASH:
        _HASH["h"] = hash_password(TEST_PASSWORD)
    return _HASH["h"]


def backends() -> list[str]:
    chosen = os.environ.get("WGT_TEST_BACKENDS", "sqlite,postgres")
    return [b for b in chosen.split(",") if b]


@pytest.fixture(scope="session", params=backends())
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A migrated database per backend: {'name', 'owner_url', 'app_url'}."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "test.sqlite"
        urls = {"name": "sqlite", "owner_url": f"sqlite:///{path}", "app_url": f"sqlite:///{path}"}
    else:
        urls = {"name": "postgres", "owner_url": PG_OWNER_URL, "app_url": pg_app_url()}
    bootstrap = create_app({"TESTING": True, "DATABASE_URL": urls["app_url"], "MIGRATE_DATABASE_URL": urls["owner_url"],
                            "DATABASE_APP_ROLE": PG_APP_ROLE, "REDIS_URL": None})
    migrate.reset_all(bootstrap)
    migrate.upgrade(bootstrap)
    return urls


@pytest.fixture(scope="session")
def pg_backend(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """PostgreSQL only, for what SQLite does not have (row-level security, roles)."""
    urls = {"name": "postgres", "owner_url": PG_OWNER_URL, "app_url": pg_app_url()}
    bootstrap = create_app({"TESTING": True, "DATABASE_URL": urls["app_url"], "MIGRATE_DATABASE_URL": urls["owner_url"],
                            "DATABASE_APP_ROLE": PG_APP_ROLE, "REDIS_URL": None})
    engine = make_engine(urls["owner_url"])
    with engine.connect() as conn:
        migrated = sa.inspect(conn).has_table("tenants")
    engine.dispose()
    if not migrated:
        migrate.reset_all(bootstrap)
    migrate.upgrade(bootstrap)
    return urls


def empty_tables(owner_url: str) -> None:
    engine = make_engine(owner_url)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            conn.exec_driver_sql(f"TRUNCATE {names}")
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
    engine.dispose()


def _make_app(urls: dict[str, str], **overrides: Any) -> Iterator[Flask]:
    config = {
        "TESTING": True,
        "DATABASE_URL": urls["app_url"],
        "MIGRATE_DATABASE_URL": urls["owner_url"],
        "DATABASE_APP_ROLE": PG_APP_ROLE,
        "REDIS_URL": None,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SECRET_KEY": "test-secret",
        "SERVER_NAME": "localhost",
    }
    config.update(overrides)
    app = create_app(config)
    app.config["BACKEND"] = urls["name"]
    try:
        yield app
    finally:
        db.session.remove()
        empty_tables(urls["owner_url"])


@pytest.fixture
def app_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    """App configuration for one test: `@pytest.mark.config(KEY=value)`."""
    marker = request.node.get_closest_marker("config")
    return dict(marker.kwargs) if marker else {}


@pytest.fixture
def app(backend: dict[str, str], app_overrides: dict[str, Any]) -> Iterator[Flask]:
    yield from _make_app(backend, **app_overrides)


@pytest.fixture
def pg_app(pg_backend: dict[str, str], app_overrides: dict[str, Any]) -> Iterator[Flask]:
    yield from _make_app(pg_backend, **app_overrides)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class Factory:
    """Makes tenants, units and people through the kernel's own services, as the app would."""

    def __init__(self, app: Flask):
        self.app = app

    @contextlib.contextmanager
    def as_tenant(self, tenant: Any) -> Iterator[Any]:
        with self.app.app_context(), db.tenant_context(tenant.id) as s:
            yield s

    def tenant(self, slug: str, name: str, modules: tuple[str, ...] = ()) -> Any:
        from tenants import services

        with self.app.app_context():
            tenant = services.create_tenant(db.session(), None, slug, name, slug.title())
            db.session.commit()
            tenant_id = tenant.id
        for key in modules:
            self.enable_module(tenant, key)
        with self.app.app_context():
            from tenants.models import Tenant

            return db.session.get(Tenant, tenant_id)

    def enable_module(self, tenant: Any, key: str, on: bool = True) -> None:
        from tenants import services

        with self.as_tenant(tenant) as s:
            services.set_module(s, self.app.extensions["saas.modules"], None, key, on)
            s.commit()

    def unit(self, tenant: Any, kind: str, code: str, parent_code: str | None = None, name: str | None = None) -> Any:
        from tenants import services

        with self.as_tenant(tenant) as s:
            parent = services.org_unit_by_code(s, parent_code) if parent_code else services.district_root(s)
            unit = services.add_org_unit(s, None, kind=kind, code=code, name=name or code, parent=parent)
            s.commit()
            return unit

    def user(self, tenant: Any, role: str | None = "district_admin", unit_code: str | None = None, *,
             name: str = "测试用户", username: str | None = None, phone: str | None = None) -> Any:
        from tenants import services

        with self.as_tenant(tenant) as s:
            user = services.add_staff(s, None, name=name, phone=phone,
                                      username=username or f"u{os.urandom(4).hex()}", password=None,
                                      password_hash=_password_hash())
            if role:
                unit = services.org_unit_by_code(s, unit_code) if unit_code else services.district_root(s)
                services.grant_role(s, self.app.extensions["saas.roles"], None, user, role, unit)
            s.commit()
            s.refresh(user)
            return user

    def token(self, user: Any) -> str:
        from tenants.models import Tenant

        with self.app.app_context():
            tenant = db.session.get(Tenant, user.tenant_id)
        with self.as_tenant(tenant) as s:
            from tenants.models import User

            u = s.scalars(sa.select(User).where(User.id == user.id)).one()
            _row, plain = create_token(u, "test")
            s.commit()
            return plain


@pytest.fixture
def factory(app: Flask) -> Factory:
    return Factory(app)


@pytest.fixture
def tenant_a(factory: Factory) -> Any:
    return factory.tenant("alpha", "甲区", modules=("grid_cases",))


@pytest.fixture
def tenant_b(factory: Factory) -> Any:
    return factory.tenant("beta", "乙区", modules=("grid_cases",))


@pytest.fixture
def login_as(client: FlaskClient) -> Any:
    def login(user: Any) -> FlaskClient:
        with client.session_transaction() as sess:
            sess.clear()
            sess["uid"] = user.id
            sess["tid"] = user.tenant_id
        return client

    return login


@pytest.fixture
def enable_module(factory: Factory) -> Any:
    return factory.enable_module


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def text_of(html: str) -> str:
    """The visible text of a page, tags dropped: enough to assert what a person reads."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


ARTIFACTS = Path(os.environ.get("WGT_TEST_ARTIFACTS", Path(__file__).resolve().parent.parent / "test-artifacts"))


def pytest_configure(config: pytest.Config) -> None:
    """Compile the translation catalogues when a .po is newer than its .mo, so every test sees current Chinese."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in (Path(__file__).resolve().parent.parent / "saas" / "translations").glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as f:
                catalog = read_po(f)
            with mo.open("wb") as f:
                write_mo(f, catalog)
