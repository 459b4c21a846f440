"""Schema migrations (alembic) run as the database owner, then the RLS and grants for the app role."""

from __future__ import annotations

import importlib
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from flask import Flask

from saas.db import apply_security, make_engine

HERE = Path(__file__).resolve().parent


KERNEL = "kernel"


def _module_dirs(app: Flask) -> dict[str, Path]:
    dirs = {}
    for spec in app.extensions["saas.modules"]:
        if spec.models:
            package = importlib.import_module(spec.models.rpartition(".")[0])
            dirs[spec.key] = Path(package.__file__ or "").resolve().parent / "migrations"
    return dirs


def owner_of(app: Flask):  # type: ignore[no-untyped-def]
    keys = sorted(app.extensions["saas.modules"].keys(), key=len, reverse=True)

    def owner(table: str) -> str:
        return next((k for k in keys if table.startswith(k + "_")), KERNEL)

    return owner


def alembic_config(app: Flask) -> Config:
    cfg = Config()
    cfg.attributes["owner_of"] = owner_of(app)
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    locations = [str(HERE / "migrations" / "versions")]
    locations += [str(d) for d in _module_dirs(app).values() if d.is_dir()]
    cfg.set_main_option("version_locations", " ".join(locations))
    cfg.set_main_option("path_separator", "space")
    return cfg


def heads(app: Flask) -> frozenset[str]:
    """The head revision of the kernel's branch and of every installed module's (read once per process)."""
    cached = app.extensions.get("saas.migration_heads")
    if cached is None:
        from alembic.script import ScriptDirectory

        cached = frozenset(ScriptDirectory.from_config(alembic_config(app)).get_heads())
        app.extensions["saas.migration_heads"] = cached
    return cached


def schema_state(app: Flask, conn: sa.Connection) -> str:
    """"ok" when the database is at every branch's head, "missing" when it was never migrated, "behind" when a
    migration (the kernel's or a module's) has not run."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return "missing"
    current = {row[0] for row in conn.execute(sa.text("SELECT version_num FROM alembic_version"))}
    if not current:
        return "missing"
    return "ok" if current == set(heads(app)) else "behind"


def upgrade(app: Flask, revision: str = "heads") -> None:
    engine = make_engine(app.config["MIGRATE_DATABASE_URL"])
    try:
        with engine.begin() as conn:
            cfg = alembic_config(app)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            apply_security(conn, app.config["DATABASE_APP_ROLE"])
    finally:
        engine.dispose()


def revision(app: Flask, message: str, module: str = KERNEL) -> None:
    """Autogenerate a revision on the kernel's branch or on one module's branch (in the module's package)."""
    from alembic.script import ScriptDirectory

    if module != KERNEL:
        _module_dirs(app)[module].mkdir(exist_ok=True)
    engine = make_engine(app.config["MIGRATE_DATABASE_URL"])
    try:
        with engine.begin() as conn:
            cfg = alembic_config(app)
            cfg.attributes["connection"] = conn
            cfg.attributes["target"] = module
            script = ScriptDirectory.from_config(cfg)
            branches = {label for rev in script.walk_revisions() for label in (rev.branch_labels or ())}
            kw: dict[str, object] = {}
            if module in branches:
                kw["head"] = f"{module}@head"
            else:
                kw.update(head="base", branch_label=module)
                if module != KERNEL:
                    kw["depends_on"] = f"{KERNEL}@head"
            if module != KERNEL:
                kw["version_path"] = str(_module_dirs(app)[module])
            command.revision(cfg, message=message, autogenerate=True, **kw)
    finally:
        engine.dispose()


def pending_changes(app: Flask) -> list[object]:
    """What autogenerate would still write: empty when the migrations match the models."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from saas.db import Base

    engine = make_engine(app.config["MIGRATE_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(ctx, Base.metadata))
    finally:
        engine.dispose()


def reset_all(app: Flask) -> None:
    """Drop everything (tests and the demo's --reset only)."""
    engine = make_engine(app.config["MIGRATE_DATABASE_URL"])
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("DROP SCHEMA public CASCADE")
                conn.exec_driver_sql("CREATE SCHEMA public")
            else:
                from saas.db import Base

                Base.metadata.drop_all(conn)
                conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        engine.dispose()
