"""A district's data as one file: export, delete, import into a fresh deployment, and compare row by row."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from saas import create_app, db, migrate
from saas.db import Base, make_engine
from tenants.transfer import district_tables
from tests.plugin import PG_APP_ROLE, PG_BASE_OWNER_URL, ensure_database, pg_app_url, worker_database_url

PHOTO = bytes(range(256)) * 3  # every byte value, as a photo's would be


def snapshot(owner_url: str, slug: str) -> dict[str, list[dict[str, Any]]]:
    """Every row the district owns, table by table, in primary-key order."""
    tenants = Base.metadata.tables["tenants"]
    engine = make_engine(owner_url)
    try:
        with engine.connect() as conn:
            tenant_id = conn.execute(sa.select(tenants.c.id).where(tenants.c.slug == slug)).scalar()
            if tenant_id is None:
                return {}
            if conn.dialect.name == "postgresql":
                conn.execute(sa.select(sa.func.set_config("app.tenant_id", str(tenant_id), True)))
            found = {}
            for table in district_tables():
                key = table.c.id if table is tenants else table.c.tenant_id
                stmt = sa.select(table).where(key == tenant_id).order_by(*table.primary_key.columns)
                found[table.name] = [dict(row._mapping) for row in conn.execute(stmt)]
            return found
    finally:
        engine.dispose()


def platform_audit(owner_url: str) -> list[tuple[str, str]]:
    table = Base.metadata.tables["platform_audit_entries"]
    engine = make_engine(owner_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(
                sa.select(table.c.action, table.c.district_slug).order_by(table.c.at, table.c.action))]
    finally:
        engine.dispose()


def give_a_photo(owner_url: str, slug: str) -> None:
    """A binary column with every byte value in it, so the round trip carries photos as they are."""
    tenants = Base.metadata.tables["tenants"]
    targets = Base.metadata.tables["cadre_evaluation_targets"]
    engine = make_engine(owner_url)
    try:
        with engine.begin() as conn:
            tenant_id = conn.execute(sa.select(tenants.c.id).where(tenants.c.slug == slug)).scalar_one()
            if conn.dialect.name == "postgresql":
                conn.execute(sa.select(sa.func.set_config("app.tenant_id", str(tenant_id), True)))
            first = conn.execute(sa.select(sa.func.min(targets.c.id)).where(targets.c.tenant_id == tenant_id)).scalar()
            assert first is not None, "the demo has no cadre evaluation targets any more"
            conn.execute(targets.update().where(targets.c.tenant_id == tenant_id, targets.c.id == first)
                         .values(photo=PHOTO, photo_thumb=PHOTO[:100]))
    finally:
        engine.dispose()


@pytest.fixture
def fresh_app(app: Flask, tmp_path: Path) -> Iterator[Flask]:
    """A second, empty deployment on the same backend, migrated to the same revisions."""
    if app.config["BACKEND"] == "sqlite":
        owner_url = app_url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    else:
        owner_url = worker_database_url(PG_BASE_OWNER_URL, "fresh")
        ensure_database(owner_url)
        app_url = pg_app_url(owner_url)
    fresh = create_app({"TESTING": True, "DATABASE_URL": app_url, "MIGRATE_DATABASE_URL": owner_url,
                        "DATABASE_APP_ROLE": PG_APP_ROLE, "REDIS_URL": None, "WTF_CSRF_ENABLED": False,
                        "RATELIMIT_ENABLED": False, "SECRET_KEY": "test-secret", "SERVER_NAME": "localhost"})
    fresh.config["OWNER_URL"] = owner_url
    migrate.reset_all(fresh)
    migrate.upgrade(fresh)
    use(app)  # create_app bound the thread's session to the fresh database: the test starts on its own
    try:
        yield fresh
    finally:
        db.session.remove()
        migrate.reset_all(fresh)


def use(app: Flask) -> None:
    """Bind the thread's session to `app`'s database (two deployments in one test share the scoped session)."""
    db.configure(app.config["DATABASE_URL"])


def run(app: Flask, *args: str) -> Any:
    use(app)
    return app.test_cli_runner().invoke(args=list(args))


def test_round_trip_export_delete_import_into_a_fresh_database(app: Flask, fresh_app: Flask, tmp_path: Path) -> None:
    owner_url = app.config["MIGRATE_DATABASE_URL"]
    seeded = run(app, "demo", "seed")
    assert seeded.exit_code == 0, seeded.output
    give_a_photo(owner_url, "lusong")
    before = snapshot(owner_url, "lusong")
    other_before = snapshot(owner_url, "wanbailin")
    assert len(before["users"]) > 400
    assert any(t["photo"] == PHOTO for t in before["cadre_evaluation_targets"])

    exported = run(app, "tenants", "export", "lusong", "-o", str(tmp_path / "lusong.zip"))
    assert exported.exit_code == 0, exported.output
    assert "个人信息" in exported.output  # the file holds personal data, and the operator is told so
    assert (tmp_path / "lusong.zip").stat().st_mode & 0o077 == 0
    manifest = json.loads(zipfile.ZipFile(tmp_path / "lusong.zip").read("manifest.json"))
    assert manifest["tenant"]["slug"] == "lusong"
    assert {"kernel", "grid_cases", "business_feedback", "cadre_evaluation", "elderly_visits"} <= set(
        manifest["branches"])
    # every table of the kernel and the modules that carries tenant_id, found from the metadata
    assert {t["name"] for t in manifest["tables"]} == {
        t.name for t in Base.metadata.tables.values() if "tenant_id" in t.c} | {"tenants"}

    deleted = run(app, "tenants", "delete", "lusong", "--confirm", "--export-to", str(tmp_path / "last.zip"))
    assert deleted.exit_code == 0, deleted.output
    assert snapshot(owner_url, "lusong") == {}
    assert snapshot(owner_url, "wanbailin") == other_before
    assert platform_audit(owner_url) == [("tenant.export", "lusong"), ("tenant.export", "lusong"),
                                         ("tenant.delete", "lusong")]
    listed = run(app, "platform", "audit")
    assert listed.exit_code == 0, listed.output
    assert "区县及其全部数据已删除" in listed.output
    assert "last.zip" in listed.output

    imported = run(fresh_app, "tenants", "import", str(tmp_path / "last.zip"))
    assert imported.exit_code == 0, imported.output
    after = snapshot(fresh_app.config["OWNER_URL"], "lusong")
    assert after.keys() == before.keys()
    for name, rows in before.items():
        assert after[name] == rows, name
    assert platform_audit(fresh_app.config["OWNER_URL"]) == [("tenant.import", "lusong")]

    # the district works in its new deployment: its admin signs in with the password hash it took along
    use(fresh_app)
    client = fresh_app.test_client()
    login = client.post("/t/lusong/login", data={"login": "admin", "password": "wgt-demo-2026"})
    assert login.status_code == 302, login.get_data(as_text=True)[:500]

    # and it comes back where it was deleted, beside the district that stayed
    back = run(app, "tenants", "import", str(tmp_path / "lusong.zip"))
    assert back.exit_code == 0, back.output
    assert snapshot(owner_url, "lusong") == before


def test_import_refused_when_the_district_is_already_here(app: Flask, factory: Any, tenant_a: Any,
                                                          tmp_path: Path) -> None:
    owner_url = app.config["MIGRATE_DATABASE_URL"]
    path = tmp_path / "a.zip"
    assert run(app, "tenants", "export", tenant_a.slug, "-o", str(path)).exit_code == 0
    before = snapshot(owner_url, tenant_a.slug)

    again = run(app, "tenants", "import", str(path))
    assert again.exit_code != 0
    assert tenant_a.slug in again.output
    assert "未导入" in again.output
    assert snapshot(owner_url, tenant_a.slug) == before
    assert [a for a, _slug in platform_audit(owner_url)] == ["tenant.export"]


def test_import_refused_when_the_slug_is_taken_by_another_district(app: Flask, fresh_app: Flask, factory: Any,
                                                                   tenant_a: Any, tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    assert run(app, "tenants", "export", tenant_a.slug, "-o", str(path)).exit_code == 0
    taken = run(fresh_app, "tenants", "create", tenant_a.slug, "--name", "另一个区")
    assert taken.exit_code == 0, taken.output
    before = snapshot(fresh_app.config["OWNER_URL"], tenant_a.slug)

    refused = run(fresh_app, "tenants", "import", str(path))
    assert refused.exit_code != 0
    assert tenant_a.slug in refused.output
    assert snapshot(fresh_app.config["OWNER_URL"], tenant_a.slug) == before
    assert platform_audit(fresh_app.config["OWNER_URL"]) == []


def _rewrite(path: Path, target: Path, change: Any) -> None:
    """A copy of an export with one member changed by `change(name, data) -> data`."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, change(info.filename, src.read(info.filename)))


def test_import_refused_on_other_schema_revisions(app: Flask, factory: Any, tenant_a: Any, tmp_path: Path) -> None:
    owner_url = app.config["MIGRATE_DATABASE_URL"]
    path, other = tmp_path / "a.zip", tmp_path / "other.zip"
    assert run(app, "tenants", "delete", tenant_a.slug, "--confirm", "--export-to", str(path)).exit_code == 0

    def older_kernel(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        kernel = manifest["branches"]["kernel"]
        manifest["revisions"] = [("0000older000" if r == kernel else r) for r in manifest["revisions"]]
        manifest["branches"]["kernel"] = "0000older000"
        return json.dumps(manifest).encode()

    _rewrite(path, other, older_kernel)
    refused = run(app, "tenants", "import", str(other))
    assert refused.exit_code != 0
    assert "kernel" in refused.output
    assert "0000older000" in refused.output
    assert snapshot(owner_url, tenant_a.slug) == {}
    # the untouched file still imports
    assert run(app, "tenants", "import", str(path)).exit_code == 0


def test_import_refuses_a_damaged_file(app: Flask, factory: Any, tenant_a: Any, tmp_path: Path) -> None:
    owner_url = app.config["MIGRATE_DATABASE_URL"]
    path, damaged = tmp_path / "a.zip", tmp_path / "damaged.zip"
    assert run(app, "tenants", "delete", tenant_a.slug, "--confirm", "--export-to", str(path)).exit_code == 0
    _rewrite(path, damaged, lambda name, data: data.replace(b'"active":true', b'"active":false')
             if name == "tables/tenants.jsonl" else data)
    refused = run(app, "tenants", "import", str(damaged))
    assert refused.exit_code != 0
    assert "tenants" in refused.output
    assert snapshot(owner_url, tenant_a.slug) == {}


def test_delete_without_confirm_changes_nothing(app: Flask, factory: Any, tenant_a: Any, tenant_b: Any,
                                                tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    owner_url = app.config["MIGRATE_DATABASE_URL"]
    monkeypatch.chdir(tmp_path)
    before = snapshot(owner_url, tenant_a.slug)

    asked = run(app, "tenants", "delete", tenant_a.slug)
    assert asked.exit_code != 0
    assert "--confirm" in asked.output
    assert snapshot(owner_url, tenant_a.slug) == before
    assert list(tmp_path.iterdir()) == []
    assert platform_audit(owner_url) == []

    # with --confirm and no --export-to, the export is written first, here, under the district's name
    done = run(app, "tenants", "delete", tenant_a.slug, "--confirm")
    assert done.exit_code == 0, done.output
    [written] = list(tmp_path.iterdir())
    assert written.name.startswith(f"{tenant_a.slug}-")
    assert written.name.endswith(".wgt.zip")
    assert snapshot(owner_url, tenant_a.slug) == {}
    assert snapshot(owner_url, tenant_b.slug) != {}


def test_export_refuses_to_overwrite_a_file(app: Flask, factory: Any, tenant_a: Any, tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    path.write_bytes(b"keep me")
    refused = run(app, "tenants", "export", tenant_a.slug, "-o", str(path))
    assert refused.exit_code != 0
    assert path.read_bytes() == b"keep me"
    unknown = run(app, "tenants", "export", "nowhere", "-o", str(tmp_path / "b.zip"))
    assert unknown.exit_code != 0
    assert "nowhere" in unknown.output


@pytest.mark.one_backend
def test_every_table_that_refers_to_a_district_carries_tenant_id(app: Flask) -> None:
    tables = district_tables()
    assert tables[0].name == "tenants"
    # parents before children: every foreign key points at a table listed earlier (or at itself)
    seen: set[str] = set()
    for table in tables:
        for fk in table.foreign_key_constraints:
            assert fk.referred_table.name in seen | {table.name}, (table.name, fk.referred_table.name)
        seen.add(table.name)
    platform_only = {t.name for t in Base.metadata.tables.values()} - seen
    assert platform_only == {"platform_operators", "operator_sessions", "platform_audit_entries"}


def _set_hostname(owner_url: str, slug: str, hostname: str) -> None:
    tenants = Base.metadata.tables["tenants"]
    engine = make_engine(owner_url)
    try:
        with engine.begin() as conn:
            conn.execute(tenants.update().where(tenants.c.slug == slug).values(hostname=hostname))
    finally:
        engine.dispose()


def test_import_refused_when_the_host_name_is_taken(app: Flask, fresh_app: Flask, factory: Any, tenant_a: Any,
                                                    tmp_path: Path) -> None:
    _set_hostname(app.config["MIGRATE_DATABASE_URL"], tenant_a.slug, "wgt.example.cn")
    path = tmp_path / "a.zip"
    assert run(app, "tenants", "export", tenant_a.slug, "-o", str(path)).exit_code == 0
    assert run(fresh_app, "tenants", "create", "other", "--name", "另一个区").exit_code == 0
    _set_hostname(fresh_app.config["OWNER_URL"], "other", "wgt.example.cn")

    refused = run(fresh_app, "tenants", "import", str(path))
    assert refused.exit_code != 0
    assert "域名" in refused.output
    assert snapshot(fresh_app.config["OWNER_URL"], tenant_a.slug) == {}
