"""Database: engine, the scoped session, the tenant filter and row-level security.

Tenant scoping lives here and nowhere else:
- every tenant-owned model inherits `TenantScoped`: `(tenant_id, id)` is its primary key;
- one `do_orm_execute` listener adds `tenant_id = <current tenant>` to every ORM statement that touches a
  tenant-owned model and refuses the statement when no tenant is set (fail closed);
- one `before_flush` listener stamps `tenant_id` on new rows and refuses rows of another tenant;
- on PostgreSQL, `after_begin` binds the transaction to the tenant (`app.tenant_id`) and row-level
  security policies (see `apply_security`) hold the line even for SQL that bypasses the ORM;
- the test suite alone may switch the filter and the flush check off (`TENANT_FILTER_DISABLED`) to prove
  that row-level security holds by itself (tests/probe).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy import event

from saas.ids import new_id

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on PostgreSQL and on SQLite alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime")
            value = value.astimezone(dt.UTC)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


class Base(so.DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012
        int: sa.BigInteger(),
        dt.datetime: UTCDateTime(),
        dict[str, Any]: sa.JSON(),
        list[Any]: sa.JSON(),
    }


class TenantScoped:
    """Mixin of every tenant-owned model: `(tenant_id, id)` is the primary key."""

    tenant_id: so.Mapped[int] = so.mapped_column(sa.BigInteger, sa.ForeignKey("tenants.id"), primary_key=True)
    id: so.Mapped[int] = so.mapped_column(sa.BigInteger, primary_key=True, default=new_id)


class TenantNotSet(RuntimeError):
    """A statement touched tenant-owned rows while no tenant was set."""


class CrossTenantWrite(RuntimeError):
    """A flush tried to write a row that belongs to another tenant."""


session: so.scoped_session[so.Session] = so.scoped_session(so.sessionmaker(expire_on_commit=False))
_engines: dict[str, sa.Engine] = {}


# how many app contexts are open on this thread: the scoped session belongs to the thread, so an app context
# pushed inside another (a job run in-process after a request, a helper's block inside a test's block) shares
# the outer one's session and must not close it under it; the outermost context closes it
_open_contexts = threading.local()


def context_pushed(_app: Any, **_kw: Any) -> None:
    _open_contexts.depth = getattr(_open_contexts, "depth", 0) + 1


def context_popped(_app: Any, **_kw: Any) -> None:
    _open_contexts.depth = max(getattr(_open_contexts, "depth", 1) - 1, 0)


def end_context_session() -> None:
    """At an app context's teardown: close the thread's session when no outer app context still uses it.

    Closing it in an inner context left the outer block holding a session that began a new transaction on
    its next statement and was never closed again: a connection idle in transaction, holding its locks."""
    if getattr(_open_contexts, "depth", 0) <= 1:
        session.remove()


def make_engine(url: str, **kw: Any) -> sa.Engine:
    # a failed statement's error names its SQL, never the values bound to it (a phone, a name): it is logged
    kw.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        kw.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = sa.create_engine(url, **kw)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _rec: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    kw.setdefault("pool_pre_ping", True)
    return sa.create_engine(url, **kw)


def configure(url: str) -> sa.Engine:
    """Bind the scoped session to the engine for `url` (one engine per URL per process)."""
    engine = _engines.get(url)
    if engine is None:
        engine = _engines[url] = make_engine(url)
    session.remove()
    session.configure(bind=engine)
    return engine


def dispose_engines() -> None:
    """Drop pooled connections, as a worker must before it forks."""
    for engine in _engines.values():
        engine.dispose()


def current_tenant_id(s: so.Session | None = None) -> int | None:
    return (s or session()).info.get("tenant_id")


def set_tenant(tenant_id: int | None, s: so.Session | None = None) -> None:
    """Bind the session (and, on PostgreSQL, its open transaction) to one tenant."""
    s = s or session()
    s.info["tenant_id"] = tenant_id
    if s.in_transaction() and _is_pg(s):
        s.execute(sa.select(sa.func.set_config("app.tenant_id", str(tenant_id or ""), True)))


def set_platform(on: bool = True, s: so.Session | None = None) -> None:
    """Let the session (and, on PostgreSQL, its open transaction) act for the platform: only then does row-level
    security show the platform's own tables (operators, their sessions, the platform's audit), let districts be
    created or deleted, and let a district's slug, host name or state change (see `apply_security`).

    Only the platform's doors turn it on: its pages (`/platform`), the operator's command line and a district's
    transfer. A district's request never has it, so there the app role sees its own district's row and no
    operator, whatever SQL it runs.
    """
    s = s or session()
    s.info["platform"] = on
    if s.in_transaction() and _is_pg(s):
        s.execute(sa.select(sa.func.set_config("app.scope", PLATFORM_SCOPE if on else "", True)))


def is_platform(s: so.Session | None = None) -> bool:
    return bool((s or session()).info.get("platform"))


@contextlib.contextmanager
def platform_context() -> Iterator[so.Session]:
    """Run a block for the platform (`set_platform`); what was before is restored afterwards."""
    s = session()
    before = is_platform(s)
    set_platform(True, s)
    try:
        yield s
    finally:
        set_platform(before, s)


@contextlib.contextmanager
def tenant_context(tenant_id: int | None) -> Iterator[so.Session]:
    """Run a block as one tenant; the previous tenant is restored afterwards."""
    s = session()
    before = s.info.get("tenant_id")
    set_tenant(tenant_id, s)
    try:
        yield s
    finally:
        set_tenant(before, s)


def _is_pg(s: so.Session) -> bool:
    bind = s.get_bind()
    return bind.dialect.name == "postgresql"


def _is_tenant_mapper(mapper: so.Mapper[Any]) -> bool:
    return issubclass(mapper.class_, TenantScoped)


_scoped_tables: dict[int, frozenset[Any]] = {}


def _names_tenant_table(statement: Any) -> bool:
    # `select(func.count()).select_from(Model)` has no entity, so `all_mappers` is empty: look at the tables
    mappers = Base.registry.mappers
    scoped = _scoped_tables.get(len(mappers))
    if scoped is None:
        scoped = _scoped_tables[len(mappers)] = frozenset(m.local_table for m in mappers if _is_tenant_mapper(m))
    return any(t in scoped for t in sa.sql.util.find_tables(statement, include_joins=True, include_aliases=True,
                                                             include_crud=True))


def _filter_switched_off() -> bool:
    """The test suite's switch (`TENANT_FILTER_DISABLED`) that proves row-level security alone holds the line.

    Honoured only by an app in testing mode; `create_app` refuses the flag otherwise, and the environment
    cannot set it.
    """
    from flask import current_app, has_app_context

    return has_app_context() and current_app.testing and bool(current_app.config.get("TENANT_FILTER_DISABLED"))


def _inserted_tenants(state: so.ORMExecuteState) -> set[Any]:
    """The tenant ids an ORM INSERT statement names: in its VALUES, and in the parameter sets of a bulk insert."""
    found: set[Any] = set()
    rows: list[Any] = [getattr(state.statement, "_values", None) or {}]
    rows += [row for group in getattr(state.statement, "_multi_values", ()) or () for row in group]
    params = state.parameters
    rows += [params] if isinstance(params, dict) else list(params or [])
    for row in rows:
        for key, value in (row.items() if isinstance(row, dict) else ()):
            if getattr(key, "key", key) == "tenant_id":
                found.add(getattr(value, "value", value))
    return found


@event.listens_for(so.Session, "do_orm_execute")
def _scope_to_tenant(state: so.ORMExecuteState) -> None:
    if state.is_insert:
        # an INSERT statement skips the flush and its check: it may write the session's tenant only
        tenant_id = state.session.info.get("tenant_id")
        if (tenant_id is not None and any(_is_tenant_mapper(m) for m in state.all_mappers)
                and not _filter_switched_off() and _inserted_tenants(state) - {tenant_id}):
            raise CrossTenantWrite("an INSERT of another tenant's rows")
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.execution_options.get("all_tenants"):
        return
    if not (any(_is_tenant_mapper(m) for m in state.all_mappers) or _names_tenant_table(state.statement)):
        return
    if _filter_switched_off():
        return
    tenant_id = state.session.info.get("tenant_id")
    if tenant_id is None:
        raise TenantNotSet("tenant-owned rows were queried with no tenant set")
    state.statement = state.statement.options(
        so.with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tenant_id, include_aliases=True)
    )


@event.listens_for(so.Session, "before_flush")
def _stamp_tenant(s: so.Session, _ctx: Any, _instances: Any) -> None:
    tenant_id = s.info.get("tenant_id")
    checked = not _filter_switched_off()
    for obj in s.new:
        if isinstance(obj, TenantScoped):
            if tenant_id is None and obj.tenant_id is None:
                raise TenantNotSet(f"new {type(obj).__name__} with no tenant set")
            if obj.tenant_id is None:
                obj.tenant_id = tenant_id
            elif checked and tenant_id is not None and obj.tenant_id != tenant_id:
                raise CrossTenantWrite(f"{type(obj).__name__} of tenant {obj.tenant_id} written as {tenant_id}")
    for obj in list(s.dirty) + list(s.deleted):
        if checked and isinstance(obj, TenantScoped):
            history = sa.inspect(obj).attrs.tenant_id.history
            if history.deleted or (tenant_id is not None and obj.tenant_id != tenant_id):
                raise CrossTenantWrite(f"{type(obj).__name__} moved across tenants")


@event.listens_for(so.Session, "after_begin")
def _bind_transaction(s: so.Session, _tx: Any, connection: sa.Connection) -> None:
    if connection.dialect.name == "postgresql":
        # one statement for both settings: a request's statement count is a budget the tests hold
        connection.execute(sa.select(
            sa.func.set_config("app.tenant_id", str(s.info.get("tenant_id") or ""), True),
            sa.func.set_config("app.scope", PLATFORM_SCOPE if s.info.get("platform") else "", True),
        ))


def tenant_tables(metadata: sa.MetaData | None = None) -> list[sa.Table]:
    md = metadata or Base.metadata
    return [t for t in md.sorted_tables if "tenant_id" in t.c]


APPEND_ONLY_TABLES = {"audit_entries", "platform_audit_entries"}
PLATFORM_SCOPE = "platform"
# the platform's own tables: no district's request sees a row of them
PLATFORM_TABLES = ("platform_operators", "operator_sessions", "platform_audit_entries")
_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::bigint"
_PLATFORM = f"coalesce(current_setting('app.scope', true), '') = '{PLATFORM_SCOPE}'"
# a district's slug, host name and state are the platform's to change (a district admin who set the platform's
# own host name on their district would take the operators' pages away; one who reactivated a suspended
# district would undo the platform's decision); the tables' owner (migrations, the operator's own tools) is trusted
_TENANT_GUARD = f"""
CREATE OR REPLACE FUNCTION wgt_tenants_platform_columns() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT ({_PLATFORM}) AND NOT pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID),
      'USAGE') AND (NEW.id IS DISTINCT FROM OLD.id OR NEW.slug IS DISTINCT FROM OLD.slug
      OR NEW.hostname IS DISTINCT FROM OLD.hostname OR NEW.active IS DISTINCT FROM OLD.active) THEN
    RAISE EXCEPTION 'only the platform may change a district''s id, slug, host name or state'
      USING ERRCODE = '42501';
  END IF;
  RETURN NEW;
END $$"""  # noqa: S608 (built from constants only)


def apply_security(conn: sa.Connection, app_role: str) -> None:
    """Create the application role, grant it data access only, and force RLS on every tenant table.

    Idempotent; runs as the owner after each migration. Driven by the metadata, so a module's new
    tables are covered without anyone remembering to.
    """
    if conn.dialect.name != "postgresql":
        return
    role = sa.sql.quoted_name(app_role, quote=True)
    q = conn.dialect.identifier_preparer.quote
    exists = conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": app_role}).first()
    if not exists:
        conn.exec_driver_sql(f"CREATE ROLE {q(role)} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE")
    conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {q(role)}")
    if sa.inspect(conn).has_table("alembic_version"):  # the readiness check reads how far the schema is
        conn.exec_driver_sql(f"GRANT SELECT ON alembic_version TO {q(role)}")
    expr = f"tenant_id = {_TENANT}"
    for table in Base.metadata.sorted_tables:
        name = q(table.name)
        if table.name in APPEND_ONLY_TABLES:
            conn.exec_driver_sql(f"REVOKE ALL ON {name} FROM {q(role)}")
            conn.exec_driver_sql(f"GRANT SELECT, INSERT ON {name} TO {q(role)}")
        else:
            conn.exec_driver_sql(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {name} TO {q(role)}")
        if "tenant_id" not in table.c:
            continue
        conn.exec_driver_sql(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY")
        conn.exec_driver_sql(f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY")
        conn.exec_driver_sql(f"DROP POLICY IF EXISTS tenant_isolation ON {name}")
        conn.exec_driver_sql(
            f"CREATE POLICY tenant_isolation ON {name} USING ({expr}) WITH CHECK ({expr})"
        )
    _secure_platform_tables(conn)


def _secure_platform_tables(conn: sa.Connection) -> None:
    """Row-level security on the tables above the districts (`set_platform` says who acts for the platform).

    `tenants`: a district's transaction sees and updates its own row only; a transaction bound to no district
    reads every row (a request finds its district by slug or host name before it is bound to it; jobs list the
    active districts), but creates, deletes or updates none; the platform does everything, and alone changes a
    slug, host name or state (a trigger). The platform's own tables: the platform only.
    """
    inspector = sa.inspect(conn)
    if inspector.has_table("tenants"):
        own = f"id = {_TENANT}"
        conn.exec_driver_sql("ALTER TABLE tenants ENABLE ROW LEVEL SECURITY")
        conn.exec_driver_sql("ALTER TABLE tenants FORCE ROW LEVEL SECURITY")
        policies = {
            "tenants_read": f"FOR SELECT USING ({_PLATFORM} OR {_TENANT} IS NULL OR {own})",
            "tenants_update": f"FOR UPDATE USING ({_PLATFORM} OR {own}) WITH CHECK ({_PLATFORM} OR {own})",
            "tenants_insert": f"FOR INSERT WITH CHECK ({_PLATFORM})",
            "tenants_delete": f"FOR DELETE USING ({_PLATFORM})",
        }
        conn.exec_driver_sql("DROP POLICY IF EXISTS tenant_isolation ON tenants")
        for policy, rule in policies.items():
            conn.exec_driver_sql(f"DROP POLICY IF EXISTS {policy} ON tenants")
            conn.exec_driver_sql(f"CREATE POLICY {policy} ON tenants {rule}")
        conn.exec_driver_sql(_TENANT_GUARD)
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS tenants_platform_columns ON tenants")
        conn.exec_driver_sql("CREATE TRIGGER tenants_platform_columns BEFORE UPDATE ON tenants "
                             "FOR EACH ROW EXECUTE FUNCTION wgt_tenants_platform_columns()")
    for name in PLATFORM_TABLES:
        if not inspector.has_table(name):
            continue
        conn.exec_driver_sql(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY")
        conn.exec_driver_sql(f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY")
        conn.exec_driver_sql(f"DROP POLICY IF EXISTS platform_only ON {name}")
        conn.exec_driver_sql(f"CREATE POLICY platform_only ON {name} USING ({_PLATFORM}) WITH CHECK ({_PLATFORM})")


# the statement collectors open in this context (a request, a test's block): one listener on every engine feeds
# them, so a request counts its own statements and never another thread's
_collectors: contextvars.ContextVar[tuple[list[str], ...]] = contextvars.ContextVar("wgt_statements", default=())


@event.listens_for(sa.Engine, "before_cursor_execute")
def _collect_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    for seen in _collectors.get():
        seen.append(statement)


def collect_statements() -> tuple[list[str], contextvars.Token[tuple[list[str], ...]]]:
    """Start collecting the SQL statements this context sends; `stop_collecting(token)` ends it (saas.logs)."""
    seen: list[str] = []
    return seen, _collectors.set((*_collectors.get(), seen))


def stop_collecting(token: contextvars.Token[tuple[list[str], ...]]) -> None:
    _collectors.reset(token)


@contextlib.contextmanager
def statements() -> Iterator[list[str]]:
    """Every SQL statement this context sends while the block runs (the query-count tests, bench/sqlcount and
    each request's count in its log line and metrics)."""
    seen, token = collect_statements()
    try:
        yield seen
    finally:
        stop_collecting(token)
