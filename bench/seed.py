"""Seed the bench database at a chosen size, in seconds: PostgreSQL COPY as the owner, ids made here.

    .venv/bin/python -m bench.seed --tenants 100 --big-staff 2000 --big-audit 100000 --reset

One tenant (`bench-big`) is big, the others small. The database (`wgt_bench` unless BENCH_OWNER_URL says
otherwise) is created if missing and migrated with `saas.migrate.upgrade`, so the app's role, grants and
row-level security are exactly the production ones. Rows are written with COPY by the owner (a superuser,
so RLS does not apply to the seeding itself); `tenant_id` is set on every row, org units carry their
materialized paths, ids follow the layout of `saas.ids` (time-ordered, so the audit log's keyset order is
its time order).

The kernel seeds itself; each module seeds its own tables through the `SEEDERS` table below, keyed by
module key. Running the command again with the same sizes keeps the data; other sizes or `--reset` rebuild.
The credentials the load runs need (sign-in, API tokens, a deep audit cursor) go to bench/out/seed.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import psycopg
import sqlalchemy as sa

from bench import common
from saas import ids as saas_ids
from saas.db import Base
from saas.ids import new_id

BIG_SLUG = "bench-big"
BIG_STREETS = ["建设街道", "贺家土街道", "庆云街道", "建宁街道", "枫溪街道", "龙泉街道", "白关镇"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅建国志文海燕晓东春雪慧"
DEPARTMENTS = [
    ("dept-water", "区水务局"), ("dept-housing", "区住建局"), ("dept-urban", "区城管局"),
    ("dept-market", "区市场监管局"), ("dept-civil", "区民政局"), ("dept-health", "区卫健局"),
    ("dept-admin-approval", "区行政审批局"),
]


@dataclasses.dataclass(frozen=True)
class Plan:
    tenants: int = 100
    big_grids: int = 288
    big_compounds_per_grid: int = 2
    big_staff: int = 2000
    big_audit: int = 100_000
    big_categories: int = 40
    big_cases: int = 1_000_000
    small_cases: int = 200
    small_grids: int = 8
    small_staff: int = 20
    small_audit: int = 100


@dataclasses.dataclass
class TenantSeed:
    id: int
    slug: str
    big: bool
    root_id: int = 0
    units: dict[str, list[tuple[int, str, str]]] = dataclasses.field(default_factory=dict)  # kind -> (id, path, code)
    admin_id: int = 0
    staff_ids: list[int] = dataclasses.field(default_factory=list)
    token: str | None = None
    audit_deep_before: int | None = None
    extra: dict[str, str] = dataclasses.field(default_factory=dict)  # module seeders' cursors and ids for the load

    def of_kind(self, kind: str) -> list[tuple[int, str, str]]:
        return self.units.get(kind, [])


class IdMaker:
    """Ids in the layout of `saas.ids` for rows dated in the past: 41 bits of ms, 12 node bits, 10 sequence bits.

    Calls must come in ascending time for one maker (one maker per tenant); the key is (tenant_id, id).
    """

    def __init__(self) -> None:
        self.node = secrets.randbits(12)
        self.ms = -1
        self.seq = 0

    def at(self, when_ms: int) -> int:
        ms = when_ms - saas_ids._EPOCH_MS
        if ms <= self.ms:
            ms, self.seq = self.ms, self.seq + 1
            if self.seq >= 1024:
                ms, self.seq = ms + 1, 0
        else:
            self.seq = 0
        self.ms = ms
        return (ms << 22) | (self.node << 10) | self.seq


@dataclasses.dataclass
class SeedContext:
    """What a module's seeder gets: the owner's cursor, the plan, every tenant's units and people, a COPY helper."""

    cur: psycopg.Cursor[Any]
    plan: Plan
    tenants: list[TenantSeed]
    now: dt.datetime
    counts: Counter[str] = dataclasses.field(default_factory=Counter)
    notes: list[str] = dataclasses.field(default_factory=list)

    def copy(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        n = copy_rows(self.cur, Base.metadata.tables[table], columns, rows)
        self.counts[table] += n
        return n


def copy_rows(cur: psycopg.Cursor[Any], table: sa.Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """COPY rows into `table`; a column the caller leaves out gets its model default, evaluated once.

    So a column a model gains later does not break the seeding, as long as it has a default or is nullable.
    """
    extra_cols: list[str] = []
    extra_vals: list[Any] = []
    for col in table.c:
        if col.name in columns:
            continue
        default = col.default
        if default is not None and getattr(default, "is_scalar", False):
            extra_cols.append(col.name)
            extra_vals.append(default.arg)
        elif default is not None and getattr(default, "is_callable", False):
            try:
                value = default.arg(None)
            except TypeError:
                value = default.arg()
            extra_cols.append(col.name)
            extra_vals.append(value)
        elif not (col.nullable or col.server_default is not None):
            raise SystemExit(f"{table.name}.{col.name} has no default: its seeder must set it")
    names = [*columns, *extra_cols]
    # binary COPY with the columns' real types: about twice as fast as text, where the server parses every value
    oids = dict(cur.execute("SELECT attname, atttypid::int FROM pg_attribute WHERE attrelid = %s::regclass "
                            "AND attnum > 0 AND NOT attisdropped", (table.name,)).fetchall())
    # json and jsonb columns take Python objects (dicts, lists, None): psycopg's dumper for the type encodes them
    tail = tuple(extra_vals)
    quoted = ", ".join(f'"{n}"' for n in names)
    n = 0
    with cur.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN (FORMAT BINARY)') as cp:
        cp.set_types([oids[name] for name in names])
        for row in rows:
            cp.write_row((*row, *tail) if tail else row)
            n += 1
    return n


def person_name(i: int) -> str:
    return SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)] + GIVEN[(i * 13 + 5) % len(GIVEN)]


# --- the kernel -----------------------------------------------------------------------------------


def seed_kernel(ctx: SeedContext, registry_keys: list[str], password_hash: str) -> None:
    now = ctx.now
    plan = ctx.plan
    ctx.copy("tenants", ["id", "slug", "name_zh", "name_en", "timezone", "hostname", "active", "created_at"],
             ((t.id, t.slug, "压测大区" if t.big else f"压测{t.slug[-3:]}区", t.slug, "Asia/Shanghai", None, True, now)
              for t in ctx.tenants))
    units: list[tuple[Any, ...]] = []
    users: list[tuple[Any, ...]] = []
    grants: list[tuple[Any, ...]] = []
    for t in ctx.tenants:
        _org_tree(t, plan, units)
        _people(t, plan, users, grants, password_hash, now)
    ctx.copy("org_units", ["tenant_id", "id", "parent_id", "kind", "code", "name", "path", "attrs"], units)
    ctx.copy("users", ["tenant_id", "id", "name", "phone", "username", "password_hash", "kind", "active",
                       "created_at"], users)
    ctx.copy("role_grants", ["tenant_id", "id", "user_id", "role", "org_unit_id"], grants)
    ctx.copy("module_switches", ["tenant_id", "id", "module_key", "enabled", "settings", "updated_at"],
             ((t.id, new_id(), key, True, {}, now) for t in ctx.tenants for key in registry_keys))
    from saas.auth import TOKEN_PREFIX, _token_hash

    tokens = []
    for t in ctx.tenants:
        t.token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        tokens.append((t.id, new_id(), t.admin_id, "bench", t.token[:10], _token_hash(t.token), now, now, None))
    ctx.copy("api_tokens", ["tenant_id", "id", "user_id", "name", "prefix", "token_hash", "created_at",
                            "last_used_at", "revoked_at"], tokens)
    ctx.copy("audit_entries", ["tenant_id", "id", "at", "actor_id", "actor_name", "action", "module", "object_type",
                               "object_id", "before", "after", "ip"], _audit_rows(ctx))


def _org_tree(t: TenantSeed, plan: Plan, out: list[tuple[Any, ...]]) -> None:
    def add(kind: str, code: str, name: str, parent: tuple[int, str, str] | None, **attrs: Any) -> tuple[int, str, str]:
        uid = new_id()
        path = f"{parent[1] if parent else '/'}{uid}/"
        out.append((t.id, uid, parent[0] if parent else None, kind, code, name, path, attrs or {}))
        unit = (uid, path, code)
        t.units.setdefault(kind, []).append(unit)
        return unit

    root = add("district", t.slug, t.slug, None)
    t.root_id = root[0]
    streets = BIG_STREETS if t.big else ["第一街道", "第二街道"]
    per_street = 6 if t.big else 2
    n_grids = plan.big_grids if t.big else plan.small_grids
    communities = []
    for s, street_name in enumerate(streets):
        street = add("street", f"{t.slug}-s{s + 1}", street_name, root)
        for c in range(per_street):
            code, name = f"{t.slug}-s{s + 1}-c{c + 1}", f"{street_name[:2]}第{c + 1}社区"
            communities.append(add("community", code, name, street))
    for n in range(n_grids):
        community = communities[n * len(communities) // n_grids]
        grid = add("grid", f"{t.slug}-g{n + 1:04d}", f"第{n + 1:03d}网格", community)
        for k in range(plan.big_compounds_per_grid if t.big else 0):
            add("compound", f"{t.slug}-g{n + 1:04d}-cp{k + 1}", f"第{n + 1:03d}网格{k + 1}号院", grid,
                households=300 + (n * 37 + k * 11) % 400)
    for code, name in DEPARTMENTS:
        dept = add("department", code, name, root)
        add("section", f"{code}-office", f"{name}办公室", dept)


def _people(t: TenantSeed, plan: Plan, users: list[tuple[Any, ...]], grants: list[tuple[Any, ...]],
            password_hash: str, now: dt.datetime) -> None:
    t.admin_id = new_id()
    users.append((t.id, t.admin_id, "区网格中心管理员", "13800000000", "admin", password_hash, "staff", True, now))
    grants.append((t.id, new_id(), t.admin_id, "district_admin", t.root_id))
    streets, communities, grids = t.of_kind("street"), t.of_kind("community"), t.of_kind("grid")
    for i in range(plan.big_staff if t.big else plan.small_staff):
        uid = new_id()
        users.append((t.id, uid, person_name(i), f"139{i:08d}", None, password_hash, "staff", True, now))
        if i < len(streets):
            role, unit = "street_officer", streets[i]
        elif i < len(streets) + len(communities):
            role, unit = "community_cadre", communities[i - len(streets)]
        else:
            role, unit = "grid_worker", grids[i % len(grids)]
        grants.append((t.id, new_id(), uid, role, unit[0]))
        t.staff_ids.append(uid)


AUDIT_KINDS = [
    ("auth.login", None, "user", None, None),
    ("org.create", None, "org_unit", None, {"kind": "grid", "code": "g-0001", "name": "第001网格"}),
    ("user.create", None, "user", None, {"name": "王伟", "username": None}),
    ("role.grant", None, "user", None, {"role": "grid_worker", "org_unit": "g-0001"}),
    ("module.settings", "grid_cases", "module", {"reminder_hours": 24}, {"reminder_hours": 12}),
    ("grid_cases.category.create", "grid_cases", "grid_cases_category", None,
     {"code": "water", "name": "供水", "deadline_days": 3}),
]


def _audit_rows(ctx: SeedContext) -> Iterable[tuple[Any, ...]]:
    """Each tenant's history over the past year, oldest first, so ids and times rise together."""
    year_ms = 365 * 24 * 3600 * 1000
    now_ms = int(ctx.now.timestamp() * 1000)
    for t in ctx.tenants:
        n = ctx.plan.big_audit if t.big else ctx.plan.small_audit
        maker = IdMaker()
        actors = [t.admin_id, *t.staff_ids[:50]]
        names = [person_name(i) for i in range(len(actors))]
        deep_at = n - int(n * 0.9)  # the cursor that opens the page 90% deep into the log
        for k in range(n):
            when_ms = now_ms - year_ms + (k * year_ms) // max(n, 1)
            entry_id = maker.at(when_ms)
            if k == deep_at:
                t.audit_deep_before = entry_id
            action, module, object_type, before, after = AUDIT_KINDS[k % len(AUDIT_KINDS)]
            a = k % len(actors)
            at = dt.datetime.fromtimestamp(when_ms / 1000, dt.UTC)
            yield (t.id, entry_id, at, actors[a], names[a], action, module, object_type, str(actors[a]), before,
                   after, "127.0.0.1")


# --- modules: one seeder per module key -----------------------------------------------------------


CASE_TEXTS = [
    ("{b}号楼地下室水管漏水，楼道积水", "water"), ("小区路灯不亮，晚上出行不便", "streetlight"),
    ("{b}号楼下水道堵塞，污水外溢", "drainage"), ("楼道堆放杂物，存在消防隐患", "hazard"),
    ("绿化带树木生虫，枝叶枯黄", "greenery"), ("小区门口垃圾未及时清运", "sanitation"),
    ("{b}号楼顶违章搭建彩钢棚", "illegal-building"), ("楼上住户装修噪音扰民", "dispute"),
    ("单元门禁损坏，物业长期未修", "property"), ("小区停电，电表箱冒烟", "power"),
]
OPEN_CYCLE = ["reported", "accepted", "escalated", "dispatched", "in_progress", "extension_requested", "resolved",
              "verified", "closed", "rated"]
RATING_CYCLE = ["satisfied"] * 16 + ["basically"] * 3 + ["unsatisfied"]
DAY = dt.timedelta(days=1)


def seed_grid_cases(ctx: SeedContext) -> None:
    """Case categories for every district (each with a default department); in `bench-big` `big_cases` cases over
    the past 13 months (the older ones closed and rated, the last 30 days in every open state), in the others
    `small_cases`; one timeline entry each, and the day counters that the next case number continues."""
    from blueprints.grid_cases.services import DEFAULT_CATEGORIES

    rows = []
    categories: dict[int, list[tuple[int, str, int | None, int]]] = {}
    for t in ctx.tenants:
        departments = t.of_kind("department")
        wanted = max(ctx.plan.big_categories, len(DEFAULT_CATEGORIES)) if t.big else len(DEFAULT_CATEGORIES)
        for pos in range(wanted):
            if pos < len(DEFAULT_CATEGORIES):
                code, name, days, hours, public = DEFAULT_CATEGORIES[pos]
            else:
                code, name, days, hours, public = f"extra-{pos}", f"其他类别{pos}", 5 + pos % 10, 8, True
            dept = departments[pos % len(departments)][0] if departments else None
            cid = new_id()
            rows.append((t.id, cid, code, name, dept, days, hours, public, True, pos))
            categories.setdefault(t.id, []).append((cid, code, dept, days))
    ctx.copy("grid_cases_categories", ["tenant_id", "id", "code", "name", "department_id", "deadline_days",
                                       "urgent_hours", "public", "active", "position"], rows)
    cases: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    counters: list[tuple[Any, ...]] = []

    def flush() -> None:
        ctx.copy("grid_cases_cases", CASE_COLUMNS, cases)
        ctx.copy("grid_cases_events", EVENT_COLUMNS, events)
        cases.clear()
        events.clear()

    for t in ctx.tenants:
        n = ctx.plan.big_cases if t.big else ctx.plan.small_cases
        days = _grid_cases_of(ctx, t, categories[t.id], n, cases, events)
        counters += [(t.id, new_id(), day, last) for day, last in sorted(days.items())]
        if len(cases) >= 50_000:
            flush()
    flush()
    ctx.copy("grid_cases_counters", ["tenant_id", "id", "day", "last"], counters)


CASE_COLUMNS = ["tenant_id", "id", "number", "source", "category_id", "urgency", "street_id", "community_id",
                "grid_id", "compound_id", "address", "description", "reporter_name", "reporter_phone",
                "reported_by_id", "state", "level_unit_id", "department_id", "deadline_at", "resolve_by",
                "reopened", "result", "resolved_at", "resolved_on_time", "closed_at", "rating", "rated_at",
                "created_at", "updated_at", "version"]
EVENT_COLUMNS = ["tenant_id", "id", "case_id", "at", "actor_id", "actor_name", "actor_role", "action", "from_state",
                 "to_state", "note", "public", "data"]


def _grid_cases_of(ctx: SeedContext, t: TenantSeed, categories: list[tuple[int, str, int | None, int]], n: int,
                   cases: list[tuple[Any, ...]], events: list[tuple[Any, ...]]) -> Counter[dt.date]:
    """`n` cases of one district, oldest first (so ids and times rise together); the count of each local day."""
    span_ms = 395 * 24 * 3600 * 1000
    now_ms = int(ctx.now.timestamp() * 1000) - 3600 * 1000
    grids = t.of_kind("grid")
    compounds: dict[int, list[int]] = {}
    for cid, path, _code in t.of_kind("compound"):
        compounds.setdefault(int(path.strip("/").split("/")[-2]), []).append(cid)
    by_code = {c[1]: c for c in categories}
    staff = t.staff_ids or [t.admin_id]
    maker = IdMaker()
    per_day: Counter[dt.date] = Counter()
    local = dt.timedelta(hours=8)  # Asia/Shanghai, the districts' zone in the seed
    deep_at = n - int(n * 0.9)
    for k in range(n):
        when_ms = now_ms - span_ms + (k * span_ms) // max(n, 1)
        created = dt.datetime.fromtimestamp(when_ms / 1000, dt.UTC)
        case_id = maker.at(when_ms)
        day = (created + local).date()
        per_day[day] += 1
        number = f"XD-{day:%Y%m%d}-{per_day[day]:04d}"
        grid_id, grid_path, grid_code = grids[(k * 7919) % len(grids)]
        _root, street_id, community_id, _grid = (int(p) for p in grid_path.strip("/").split("/"))
        in_grid = compounds.get(grid_id, [])
        compound_id = in_grid[k % len(in_grid)] if in_grid and k % 3 else None
        text, code = CASE_TEXTS[k % len(CASE_TEXTS)]
        category_id, _code, dept, days = by_code.get(code) or categories[k % len(categories)]
        age = ctx.now - created
        state = (["rated"] * 12 + ["closed"] * 6 + ["rejected", "closed"])[k % 20] if age > 30 * DAY \
            else OPEN_CYCLE[k % len(OPEN_CYCLE)]
        at_grid = state in ("reported", "accepted")
        to_department = state not in ("reported", "accepted", "escalated", "rejected")
        level = grid_id if at_grid else community_id if state == "escalated" else street_id
        resolve_by = created + days * DAY if to_department else None
        finished = state in ("resolved", "verified", "closed", "rated")
        resolved_at = created + (k % (days + 3)) * DAY + dt.timedelta(hours=2) if finished else None
        on_time = resolved_at <= resolve_by if resolved_at and resolve_by else None
        closed_at = (resolved_at + DAY if resolved_at else created + dt.timedelta(hours=3)) \
            if state in ("closed", "rated", "rejected") else None
        deadline = None if closed_at else resolve_by if to_department and state != "dispatched" else created + DAY
        rating = RATING_CYCLE[k % len(RATING_CYCLE)] if state == "rated" else None
        resident = k % 4 == 0
        reporter = staff[k % len(staff)]
        cases.append((
            t.id, case_id, number, "web" if resident else "patrol", category_id, "urgent" if k % 25 == 0 else "normal",
            street_id, community_id, grid_id, compound_id, f"{grid_code} {k % 30 + 1}号楼",
            text.format(b=k % 30 + 1), "居民" if resident else "", f"137{k % 10**8:08d}" if resident else None,
            None if resident else reporter, state, level, dept if to_department else None, deadline, resolve_by, 0,
            "已处理完毕" if finished else None, resolved_at, on_time, closed_at, rating,
            closed_at + dt.timedelta(hours=1) if rating else None, created, closed_at or created, 1,
        ))
        events.append((t.id, maker.at(when_ms), case_id, created, None if resident else reporter,
                       "" if resident else "网格员", "resident" if resident else "grid_worker", "report", None,
                       "reported", "", True, {"source": "web" if resident else "patrol"}))
        if k == deep_at:
            t.extra["case_deep_before"] = str(case_id)
        if k == n - n // 2:
            t.extra.update(case_id=str(case_id), case_number=number)
    return per_day


# module key -> seeder; a module without an entry still runs, with no rows of its own
SEEDERS: dict[str, Callable[[SeedContext], None]] = {
    "grid_cases": seed_grid_cases,
}


# --- the command ----------------------------------------------------------------------------------


def ensure_database(owner: sa.URL) -> None:
    admin = owner.set(database="postgres")
    with psycopg.connect(common.libpq_url(admin), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (owner.database,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{owner.database}"')
            print(f"created database {owner.database}")


def read_state() -> dict[str, Any] | None:
    try:
        return json.loads(common.STATE.read_text())
    except (OSError, ValueError):
        return None


def already_seeded(owner: sa.URL, plan: Plan) -> bool:
    state = read_state()
    if not state or state.get("plan") != dataclasses.asdict(plan) or state.get("database") != owner.database:
        return False
    with psycopg.connect(common.libpq_url(owner)) as conn:
        try:
            row = conn.execute("SELECT count(*) FROM tenants WHERE slug LIKE 'bench-%%'").fetchone()
        except psycopg.errors.UndefinedTable:
            return False
    return bool(row and row[0] == plan.tenants)


def _migrated_to_heads(app: Any, owner: sa.URL) -> bool:
    from alembic.script import ScriptDirectory

    from saas import migrate

    heads = set(ScriptDirectory.from_config(migrate.alembic_config(app)).get_heads())
    with psycopg.connect(common.libpq_url(owner)) as conn:
        current = {row[0] for row in conn.execute("SELECT version_num FROM alembic_version")}
    return current == heads


def seed(plan: Plan, *, reset: bool = False) -> dict[str, Any]:
    from saas import create_app, migrate
    from saas.auth import hash_password

    owner = common.checked_owner_url()
    ensure_database(owner)
    started = time.perf_counter()
    app = create_app(common.app_config(owner))
    if not reset and already_seeded(owner, plan) and _migrated_to_heads(app, owner):
        print(f"{owner.database} already holds this plan at the latest migrations; nothing to do (--reset rebuilds)")
        state = read_state()
        assert state is not None
        return state
    migrate.reset_all(app)
    migrate.upgrade(app)
    migrated = time.perf_counter()
    registry = app.extensions["saas.modules"]
    tenants = [TenantSeed(id=new_id(), slug=BIG_SLUG, big=True)]
    tenants += [TenantSeed(id=new_id(), slug=f"bench-{i:03d}", big=False) for i in range(1, plan.tenants)]
    with psycopg.connect(common.libpq_url(owner)) as conn, conn.cursor() as cur:
        # the rows are made consistent here, so the per-row foreign-key triggers (most of COPY's time) are
        # skipped for this transaction; the owner is a superuser and the setting ends with the connection
        cur.execute("SET LOCAL session_replication_role = replica")
        ctx = SeedContext(cur=cur, plan=plan, tenants=tenants, now=dt.datetime.now(dt.UTC))
        seed_kernel(ctx, registry.keys(), hash_password(common.BENCH_PASSWORD))
        for spec in registry:
            seeder = SEEDERS.get(spec.key)
            if seeder is None:
                ctx.notes.append(f"{spec.key}: no seeder in bench/seed.py SEEDERS, so no rows of its own")
            else:
                seeder(ctx)
        # a JSON value sent as a Python str would arrive as a JSON string, not an object: check one of each
        kinds = cur.execute("SELECT (SELECT json_typeof(settings) FROM module_switches LIMIT 1), "
                            "(SELECT json_typeof(attrs) FROM org_units LIMIT 1)").fetchone()
        if kinds is not None and set(kinds) - {"object", None}:
            raise SystemExit(f"JSON columns were written as {kinds}, not objects")
        conn.commit()
    copied = time.perf_counter()
    with psycopg.connect(common.libpq_url(owner), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    done = time.perf_counter()
    big, small = tenants[0], tenants[1] if len(tenants) > 1 else tenants[0]
    state = {
        "database": owner.database,
        "plan": dataclasses.asdict(plan),
        "rows": dict(sorted(ctx.counts.items())),
        "notes": ctx.notes,
        "seconds": {"migrate": round(migrated - started, 2), "copy": round(copied - migrated, 2),
                    "vacuum_analyze": round(done - copied, 2), "total": round(done - started, 2)},
        "login": "admin",
        "password": common.BENCH_PASSWORD,
        "tenants": {
            role: {"slug": t.slug, "token": t.token, "audit_deep_before": str(t.audit_deep_before or ""), **t.extra}
            for role, t in (("big", big), ("small", small))
        },
    }
    common.OUT.mkdir(parents=True, exist_ok=True)
    common.STATE.write_text(json.dumps(state, ensure_ascii=False, indent=2))
    common.STATE.chmod(0o600)
    return state


def main(argv: list[str] | None = None) -> None:
    defaults = Plan()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for field in dataclasses.fields(Plan):
        parser.add_argument("--" + field.name.replace("_", "-"), type=int, default=getattr(defaults, field.name))
    parser.add_argument("--reset", action="store_true", help="rebuild the database even if it holds this plan")
    args = parser.parse_args(argv)
    plan = Plan(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Plan)})
    if plan.tenants < 1:
        parser.error("--tenants must be at least 1")
    state = seed(plan, reset=args.reset)
    print(json.dumps({k: state[k] for k in ("database", "rows", "seconds", "notes")}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
