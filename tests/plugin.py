"""Test fixtures, shipped as a pytest plugin (`-p tests.plugin`).

Every test that takes `app` runs twice: on the embedded default (SQLite) and on PostgreSQL, where the
app connects as the non-owner role `wgt_app` under row-level security. Tables are emptied after each
test by the owner. Two tenants are always at hand, so isolation is tested by default. A test whose
behaviour cannot depend on the database (a template, a translation, a pure function behind a page) is
marked `one_backend` and runs on the first backend only.

The suite runs in parallel (`pytest -n 2 --dist loadgroup`, as `make test` does): each xdist worker has its
own PostgreSQL database (`TEST_PG_OWNER_URL`'s database name + `_gw0`, created as the owner when missing),
its own Redis database (`redis_url`), its own instance folder and its own temporary files; the browser
journeys share one gunicorn, so they form one xdist group and run on one worker.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

# each worker its own instance folder (the embedded default's secret key, import staging), set before the app's
# configuration is first imported; the worker's id is in the environment from the start of its process
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if WORKER and "WGT_INSTANCE" not in os.environ:
    os.environ["WGT_INSTANCE"] = tempfile.mkdtemp(prefix=f"wgt-instance-{WORKER}-")

from saas import create_app, db, migrate  # noqa: E402
from saas.auth import create_token, hash_password  # noqa: E402
from saas.db import Base, make_engine  # noqa: E402

# whose database: the base name comes from TEST_PG_OWNER_URL (one per person), a worker adds its id to it
PG_BASE_OWNER_URL = os.environ.get("TEST_PG_OWNER_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def worker_database_url(url: str, suffix: str = "") -> str:
    """`url` with the xdist worker's id (and `suffix`) appended to its database name; as it is without a worker."""
    parsed = sa.make_url(url)
    name = "_".join(part for part in (parsed.database, WORKER, suffix) if part)
    return parsed.set(database=name).render_as_string(hide_password=False)


PG_OWNER_URL = worker_database_url(PG_BASE_OWNER_URL)
# Redis for the tests that need a real one (the rate limiter's storage): TEST_REDIS_URL's database, the
# worker's number added to it, so two workers never flush each other's keys
REDIS_BASE_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
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


def ensure_database(owner_url: str) -> None:
    """Create the PostgreSQL database of `owner_url` when it is missing, connected to its server as the owner."""
    target = sa.make_url(owner_url)
    engine = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            found = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database})
            if found.first() is None:
                conn.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
    finally:
        engine.dispose()


def worker_redis_url(base: str = REDIS_BASE_URL) -> str:
    """The worker's own Redis database: the base URL's number plus the worker's (gw0 +0, gw1 +1, ...)."""
    parts = urlsplit(base)
    number = int(parts.path.strip("/") or 0) + (int(WORKER[2:]) if WORKER[2:].isdigit() else 0)
    return parts._replace(path=f"/{number % 16}").geturl()


WORKER_REDIS_URL = worker_redis_url()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis database of this worker's own (TEST_REDIS_URL, default database 15, plus the worker's number)."""
    return WORKER_REDIS_URL


@pytest.fixture(scope="session", params=backends())
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A migrated database per backend: {'name', 'owner_url', 'app_url'}."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "test.sqlite"
        urls = {"name": "sqlite", "owner_url": f"sqlite:///{path}", "app_url": f"sqlite:///{path}"}
    else:
        ensure_database(PG_OWNER_URL)
        urls = {"name": "postgres", "owner_url": PG_OWNER_URL, "app_url": pg_app_url()}
    bootstrap = create_app({"TESTING": True, "DATABASE_URL": urls["app_url"], "MIGRATE_DATABASE_URL": urls["owner_url"],
                            "DATABASE_APP_ROLE": PG_APP_ROLE, "REDIS_URL": None})
    migrate.reset_all(bootstrap)
    migrate.upgrade(bootstrap)
    return urls


@pytest.fixture(scope="session")
def pg_backend(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """PostgreSQL only, for what SQLite does not have (row-level security, roles)."""
    ensure_database(PG_OWNER_URL)
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


LEFT_OPEN = """SELECT pid, usename, left(query, 300) FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid()
                  AND state IN ('idle in transaction', 'idle in transaction (aborted)')"""


def _end_left_open(conn: sa.Connection) -> list[str]:
    """Connections of this database still in a transaction after the test (waited for a few seconds): a session
    nobody closes, whose locks would hold the TRUNCATE forever. They are ended, and named."""
    deadline = time.monotonic() + 5
    while (rows := conn.exec_driver_sql(LEFT_OPEN).all()) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid, _user, _query in rows:
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    return [f"{user}: {query}" for _pid, user, query in rows]


def empty_tables(owner_url: str) -> None:
    engine = make_engine(owner_url)
    left_open: list[str] = []
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            left_open = _end_left_open(conn)
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            conn.exec_driver_sql(f"TRUNCATE {names}")
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
    engine.dispose()
    assert not left_open, "the test left sessions in a transaction (never closed):\n" + "\n".join(left_open)


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

        with self.app.app_context(), db.platform_context():
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
        from tenants.models import RoleGrant

        with self.as_tenant(tenant) as s:
            user = services.add_staff(s, None, name=name, phone=phone,
                                      username=username or f"u{os.urandom(4).hex()}", password=None,
                                      password_hash=_password_hash())
            if role:
                # any role on any unit, as a world under test may need it: the service's rule that a role fits its
                # kind of unit (grant_role) is tested on its own
                unit = services.org_unit_by_code(s, unit_code) if unit_code else services.district_root(s)
                assert role in self.app.extensions["saas.roles"].roles, role
                s.add(RoleGrant(user_id=user.id, role=role, org_unit_id=unit.id))
                s.flush()
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


def session_data(app: Flask, user: Any) -> dict[str, Any]:
    """What a signed-in browser's cookie holds for `user`, with its session opened on the server."""
    from saas.auth import start_session

    with app.app_context(), db.tenant_context(user.tenant_id) as s:
        secret = start_session(user, s)
        s.commit()
    return {"uid": user.id, "tid": user.tenant_id, "sid": secret}


def operator_session_data(app: Flask, operator_id: int) -> dict[str, Any]:
    """What a platform operator's cookie holds, with the session opened on the server."""
    import secrets as _secrets

    from saas.auth import _session_hash
    from tenants.models import OperatorSession

    secret = _secrets.token_urlsafe(32)
    with app.app_context(), db.platform_context():
        db.session.add(OperatorSession(operator_id=operator_id, token_hash=_session_hash(secret)))
        db.session.commit()
    return {"operator": operator_id, "osid": secret}


@pytest.fixture
def login_as(client: FlaskClient) -> Any:
    def login(user: Any) -> FlaskClient:
        data = session_data(client.application, user)
        with client.session_transaction() as sess:
            sess.clear()
            sess.update(data)
        return client

    return login


class PhoneCodes:
    """The phone codes the app issues, as the resident's phone would receive them: the newest per number.

    Read where they are made (saas.auth.issue_phone_code), because no table or log holds a code in clear.
    """

    def __init__(self) -> None:
        self.issued: list[tuple[str, str]] = []

    def last(self, phone: str) -> str:
        codes = [code for number, code in self.issued if number == phone]
        assert codes, f"no code was issued for {phone}"
        return codes[-1]


@pytest.fixture
def phone_codes(monkeypatch: pytest.MonkeyPatch) -> PhoneCodes:
    import saas.auth

    codes = PhoneCodes()
    issue = saas.auth.issue_phone_code

    def recording(phone: str) -> Any:
        row, code = issue(phone)
        codes.issued.append((phone, code))
        return row, code

    monkeypatch.setattr(saas.auth, "issue_phone_code", recording)
    return codes


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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The browser journeys share one gunicorn and database: one xdist group, so one worker runs them all
    (with `--dist loadgroup`). A `one_backend` test runs on the first backend only: its behaviour does not
    depend on the database, so a second run costs time and catches nothing."""
    first = backends()[0] if backends() else None
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        if item.get_closest_marker("browser") is not None:
            item.add_marker(pytest.mark.xdist_group("browser"))
        params = getattr(getattr(item, "callspec", None), "params", {})
        if item.get_closest_marker("one_backend") is not None and params.get("backend", first) != first:
            dropped.append(item)
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
