"""The cross-tenant probe's world and fillers: two districts with real data, B's values, and what to send.

The world is built the way the app builds districts: the kernel's services (through the test `Factory`)
and every module's `demo` hook. Both districts get the same shape (org units of each level, one person
per role of the RoleBook, a citizen, API tokens, notices, a calendar override, a case category, audit
entries) with their own names, codes and phone numbers. B's identifying values are then read back from
the database as the owner, from every tenant table and every column, minus whatever A holds too (the
shared vocabulary: role keys, default categories, settings), so a module's new tables join "B's data"
without anyone listing them.

Fillers say what to put in a URL variable or a form/JSON field of a given name. They are a mapping, so a
route with a new kind of variable needs one entry here; a URL variable nothing fills makes the probe fail
with the route's name.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import re
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask

from saas import auth, db, notice_settings
from saas.db import make_engine, tenant_tables
from saas.notify import Delivery, notify
from saas.schemas import mask_phone
from tenants.models import PlatformOperator, Tenant, User
from tests.plugin import Factory

A_SLUG, B_SLUG = "alpha", "beta"
WRONG_PASSWORD = "probe-wrong-password-1"
MAX_IDS_PER_TABLE = 2  # the first and the last row: a scoping bug is a table's, not a row's


# --- the world ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Identity:
    """Someone who asks: a signed session cookie for pages and/or a bearer token for the API."""

    name: str
    cookie: str | None = None
    token: str | None = None


@dataclasses.dataclass
class District:
    tenant_id: int
    slug: str
    public: frozenset[str]  # slug and names: on the landing page, for anyone to read
    private: set[str]  # every identifying value of its rows, and its tokens in plain
    ids: dict[str, list[int]]  # table -> row ids
    columns: dict[str, list[str]]  # "table.column" and "column" -> the district's own values there
    tokens: list[str]
    module_keys: list[str]

    def values(self, *specs: str) -> list[str]:
        for spec in specs:
            if self.columns.get(spec):
                return self.columns[spec]
        return []


@dataclasses.dataclass
class World:
    app: Flask
    a: District
    b: District
    people: list[Identity]  # who of A asks: one person per role, a citizen, a platform operator, nobody
    b_token: Identity  # B's real token, sent to A's URLs
    owner: sa.Engine
    staged: list[str]  # B's imports waiting for confirmation (files, not rows)
    staged_files: dict[str, bytes] = dataclasses.field(default_factory=dict)

    def _staged_path(self, token: str) -> Path:
        return Path(self.app.config["IMPORT_STAGING_DIR"]) / f"{token}.import"

    def pending(self) -> set[str]:
        """B's staged imports still waiting: what no request of A may take or throw away."""
        if not self.staged_files:
            self.staged_files = {t: self._staged_path(t).read_bytes() for t in self.staged}
        return {t for t in self.staged if self._staged_path(t).exists()}

    def restage(self) -> None:
        """Put back what a request took, so the next route is judged on its own."""
        for token, blob in self.staged_files.items():
            self._staged_path(token).write_bytes(blob)

    def close(self) -> None:
        self.owner.dispose()
        directory = self.app.config.get("IMPORT_STAGING_DIR")
        if self.staged and directory:
            shutil.rmtree(directory, ignore_errors=True)

    def rows(self, tenant_id: int) -> dict[str, list[dict[str, Any]]]:
        return tenant_rows(self.owner, tenant_id)

    def snapshot(self, tenant_id: int) -> dict[str, list[str]]:
        """A district's rows, read as the owner (no RLS, no ORM filter), in a comparable form."""
        rows = self.rows(tenant_id)
        return {t: sorted(json.dumps(r, default=str, sort_keys=True) for r in rs) for t, rs in rows.items()}

    def strings(self, tenant_id: int) -> set[str]:
        return {s for rs in self.rows(tenant_id).values() for r in rs for v in r.values() for s in _leaves(v)}


def build_world(app: Flask) -> World:
    factory = Factory(app)
    a_people = _build_district(factory, A_SLUG, "甲区", "甲", "1381234", "2031-05-06")
    b_people = _build_district(factory, B_SLUG, "乙区", "乙", "1397654", "2031-05-07")
    with app.app_context():
        op = PlatformOperator(username="probe-operator", name="探针运营", password_hash=auth.hash_password("x" * 12))
        db.session.add(op)
        db.session.commit()
        operator_id = op.id
    owner = make_engine(app.config["MIGRATE_DATABASE_URL"])
    a_rows, b_rows = tenant_rows(owner, a_people.tenant_id), tenant_rows(owner, b_people.tenant_id)
    a = _district(a_people, a_rows, b_rows)
    b = _district(b_people, b_rows, a_rows)
    people = [Identity(role, _cookie(app, {"uid": uid, "tid": a.tenant_id}), token)
              for role, (uid, token) in a_people.people.items()]
    people += [Identity("platform_operator", _cookie(app, {"operator": operator_id})), Identity("anonymous")]
    b_admin = Identity("B's admin", _cookie(app, {"uid": b_people.people["district_admin"][0], "tid": b.tenant_id}))
    staged = _stage_import(app, b.slug, b_admin)
    b.tokens[:0] = staged
    b.private |= set(staged)
    return World(app, a, b, people, Identity("B's token", token=b_people.people["district_admin"][1]), owner,
                 staged)


def _stage_import(app: Flask, slug: str, admin: Identity) -> list[str]:
    """B's admin uploads a file and leaves it waiting for confirmation: B's pending work, named by a token."""
    if "imports.preview" not in app.view_functions:
        return []
    staging = tempfile.mkdtemp(prefix="wgt-probe-imports-")
    app.config["IMPORT_STAGING_DIR"] = staging
    upload = csv_upload({"kind": "street", "code": f"{slug}-staged", "name": "乙秘待导入街道", "parent_code": slug})
    response = app.test_client(use_cookies=False).post(
        f"/t/{slug}/admin/import/org", data={"file": (io.BytesIO(upload), "staged.csv")},
        headers={"Cookie": f"{app.config['SESSION_COOKIE_NAME']}={admin.cookie}"})
    found = re.search(r'name="token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="token"', response.get_data(True))
    assert response.status_code == 200, f"B's admin could not stage an import ({response.status_code})"
    assert found, "B's staged import shows no token"
    return [found.group(1) or found.group(2)]


@dataclasses.dataclass
class _Built:
    tenant_id: int
    slug: str
    names: tuple[str, str]
    people: dict[str, tuple[int, str]]  # role (or "citizen") -> (user id, plain token)
    module_keys: list[str]
    secrets: list[str]  # kept encrypted in the database, so looked for in plain


def _build_district(factory: Factory, slug: str, name_zh: str, mark: str, phone_head: str, day: str) -> _Built:
    """One district with the same shape as the other: only names, codes, phones and the override day differ."""
    app = factory.app
    registry, book = app.extensions["saas.modules"], app.extensions["saas.roles"]
    tenant = factory.tenant(slug, name_zh, modules=tuple(registry.keys()))
    with factory.as_tenant(tenant) as s:
        for spec in registry:
            if spec.demo is not None:
                spec.demo(s, tenant)
        s.commit()
    for kind, code, parent, name in (
        ("street", f"{slug}-street", None, f"{mark}秘街道"),
        ("community", f"{slug}-community", f"{slug}-street", f"{mark}秘社区"),
        ("grid", f"{slug}-grid", f"{slug}-community", f"{mark}秘网格"),
        ("compound", f"{slug}-compound", f"{slug}-grid", f"{mark}秘小区"),
        ("department", f"{slug}-dept", None, f"{mark}秘水务局"),
        ("section", f"{slug}-section", f"{slug}-dept", f"{mark}秘供水科"),
    ):
        factory.unit(tenant, kind, code, parent, name=name)
    users = {role: factory.user(tenant, role, name=f"{mark}秘人员{i:02d}", username=f"{slug}-{role}",
                                phone=f"{phone_head}{i:04d}") for i, role in enumerate(book.roles)}
    with factory.as_tenant(tenant) as s:
        citizen = auth.citizen_for_phone(f"{phone_head}9999")
        auth.issue_phone_code(f"{phone_head}9999")
        s.commit()
        users["citizen"] = citizen
    people = {role: (u.id, factory.token(u)) for role, u in users.items()}
    secret = f"{slug}-sms-secret-{phone_head}"
    with factory.as_tenant(tenant) as s:
        admin = s.scalars(sa.select(User).where(User.id == users["district_admin"].id)).one()
        # a gateway that refuses at once (the discard port): notices sent in-process fail fast and offline
        notice_settings.save_channel(s, admin, "sms", {"url": f"http://127.0.0.1:9/{slug}-sms", "secret": secret,
                                                       "sign_name": f"{mark}秘签名"}, True)
        for i, role in enumerate(("district_admin", "grid_worker", "citizen")):
            notify(s, users[role].id, "auth.phone_code", {"code": f"{mark}秘通知{i}"})
        from tenants import district

        s.flush()
        for delivery in s.scalars(sa.select(Delivery).limit(1)):
            delivery.status, delivery.last_error = "dead", f"{mark}秘投递失败"
        district.add_calendar_day(s, admin, {"date": day, "is_workday": False, "note": f"{mark}秘调休"})
        if "grid_cases" in registry:
            from blueprints.grid_cases import services as grid_cases

            grid_cases.add_category(s, admin, {"code": f"{slug}-cat", "name": f"{mark}秘类别", "deadline_days": 4,
                                               "department_code": f"{slug}-dept"})
        s.commit()
    return _Built(tenant.id, slug, (tenant.name_zh, tenant.name_en), people, list(registry.keys()), [secret])


def _cookie(app: Flask, data: dict[str, Any]) -> str:
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    assert serializer is not None
    return serializer.dumps(data)


_EXISTING: dict[str, set[str]] = {}


def tenant_rows(owner: sa.Engine, tenant_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every row of one tenant, from every tenant table and the tenants table, read as the owner."""
    out: dict[str, list[dict[str, Any]]] = {}
    with owner.connect() as conn:
        key = str(owner.url)
        if key not in _EXISTING:
            _EXISTING[key] = set(sa.inspect(conn).get_table_names())
        for table in tenant_tables():
            if table.name in _EXISTING[key]:
                q = sa.select(table).where(table.c.tenant_id == tenant_id).order_by(*table.primary_key.columns)
                out[table.name] = [dict(r) for r in conn.execute(q).mappings()]
        t = Tenant.__table__
        out["tenants"] = [dict(r) for r in conn.execute(sa.select(t).where(t.c.id == tenant_id)).mappings()]
    return out


def _leaves(value: Any) -> Iterator[str]:
    """The identifying text in a value: strings, id-sized integers, and whatever JSON holds."""
    if isinstance(value, str):
        if value:
            yield value
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if value >= 10**12:  # ids are 63-bit and time-ordered: 18 digits and more
            yield str(value)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _leaves(v)


_DAY = re.compile(r"\d{4}-\d\d-\d\d")


def _identifying(text: str) -> bool:
    # short ASCII words are vocabulary ("on", "zh"), a two-character Chinese name is not; a day is anyone's
    return len(text) >= (4 if text.isascii() else 2) and not _DAY.fullmatch(text)


def _district(built: _Built, own: dict[str, list[dict[str, Any]]], other: dict[str, list[dict[str, Any]]]) -> District:
    others = {s for rs in other.values() for r in rs for v in r.values() for s in _leaves(v)}
    public = frozenset(x for x in (built.slug, *built.names) if x)
    private: set[str] = set()
    ids: dict[str, list[int]] = defaultdict(list)
    columns: dict[str, list[str]] = defaultdict(list)
    phones: set[str] = set()
    for table, rs in own.items():
        for row in rs:
            for col, value in row.items():
                if col == "id" and isinstance(value, int):
                    ids[table].append(value)
                if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                    columns[f"{table}.{col}"].append(value.isoformat())
                    columns[col].append(value.isoformat())
                    continue
                for text in _leaves(value):
                    if text in others or not _identifying(text):
                        continue
                    private.add(text)
                    if col != "tenant_id":
                        columns[f"{table}.{col}"].append(text)
                        columns[col].append(text)
                if col == "phone" and value:
                    phones.add(value)
    other_masks = {mask_phone(p) for rs in other.values() for r in rs for p in [r.get("phone")] if p}
    private |= {mask_phone(p) for p in phones} - other_masks
    tokens = [token for _uid, token in built.people.values()]
    private |= set(tokens) | {t[:10] for t in tokens} | set(built.secrets)
    private.add(str(built.tenant_id))
    # a district's own codes and names first: its slug (the root unit's code) is public
    columns = {k: sorted(dict.fromkeys(v), key=lambda x: x in public) for k, v in columns.items()}
    return District(built.tenant_id, built.slug, public, private - public, dict(ids), columns, tokens,
                    built.module_keys)


# --- fillers --------------------------------------------------------------------------------------

# (B, variable or field name, endpoint) -> the values to try, best first
Filler = Callable[[District, str, str], list[Any]]

# an endpoint's words that name a table when a variable's own name does not ("item_id" in "shell.inbox_read")
ENDPOINT_TABLES: dict[str, tuple[str, ...]] = {
    "inbox": ("notifications",),
}


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _table_words(table: str) -> set[str]:
    parts = table.split("_")
    return {_singular(p) for p in parts} | set(parts)


def guess_tables(b: District, name: str, endpoint: str) -> list[str]:
    """The tables a variable's ids come from: by its name (`grant_id`), then the endpoint; [] when unsure."""
    stem = _singular(name.removesuffix("_id").removesuffix("id").strip("_"))
    if stem:
        hits = [t for t in b.ids if stem in _table_words(t)]
        if hits:
            return hits
    words = [w for w in re.split(r"[._\-]", endpoint) if w]
    for word in words:
        if word in ENDPOINT_TABLES:
            return [t for t in ENDPOINT_TABLES[word] if t in b.ids]
    hits = [t for t in b.ids if any(_singular(w) in _table_words(t) for w in words if len(w) > 3)]
    return hits


def _sample(ids: list[int]) -> list[int]:
    return list(dict.fromkeys([ids[0], ids[-1]]))[:MAX_IDS_PER_TABLE] if ids else []


def row_ids(*tables: str) -> Filler:
    """B's row ids: of the named tables, else of the tables the name suggests, else one or two of every table."""

    def fill(b: District, name: str, endpoint: str) -> list[Any]:
        chosen = [t for t in tables if t in b.ids] or guess_tables(b, name, endpoint) or sorted(b.ids)
        return [i for t in chosen for i in _sample(b.ids[t])]

    return fill


def column(*specs: str) -> Filler:
    """B's own values of a column ("table.column" or "column"), the first spec that has any."""
    return lambda b, _name, _endpoint: b.values(*specs)[:2]


def fixed(*values: Any) -> Filler:
    """Values that are no one's in particular (a role key, a boolean) but make the request plausible."""
    return lambda _b, _name, _endpoint: list(values)


def module_keys(b: District, _name: str, _endpoint: str) -> list[Any]:
    return list(b.module_keys)


def tokens(b: District, _name: str, _endpoint: str) -> list[Any]:
    return b.tokens[:1]


def channels(_b: District, _name: str, _endpoint: str) -> list[Any]:
    from saas.notify import CHANNELS

    return list(CHANNELS)


FILLERS: dict[str, Filler] = {
    # ids and keyset cursors
    "id": row_ids(),
    "*_id": row_ids(),
    "before": row_ids("audit_entries"),
    "after": row_ids("org_units"),
    # codes and keys
    "code": column("org_units.code", "code"),
    "*_code": column("org_units.code", "code"),
    "key": module_keys,
    "channel": channels,
    "module": module_keys,
    "slug": lambda b, _n, _e: [b.slug],
    # a case number: B's own when it has cases, else a well-formed one of nobody's
    "number": lambda b, _n, _e: b.values("grid_cases_cases.number")[:2] or ["XD-20310506-0001"],
    # people
    "phone": column("users.phone"),
    "mobile": column("users.phone"),
    "username": column("users.username"),
    "login": column("users.username"),
    "password": fixed(WRONG_PASSWORD),
    "token": tokens,
    "name": column("users.name"),
    "name_zh": column("org_units.name"),
    "name_en": column("org_units.name"),
    "actor": column("users.name"),
    "q": column("users.name"),
    "title": column("notifications.title", "name"),
    "body": column("notifications.body", "name"),
    "note": column("calendar_days.note", "name"),
    # days
    "day": column("calendar_days.day"),
    "date": column("calendar_days.day"),
    "start": column("calendar_days.day"),
    "since": column("calendar_days.day"),
    "until": column("calendar_days.day"),
    # vocabulary, so a request gets past its schema to the look-ups
    "role": fixed("grid_worker"),
    "kind": fixed("community"),
    "action": fixed("org.create"),
    "enabled": fixed(True),
    "is_workday": fixed(True),
    "active": fixed(True),
    "all": fixed(True),
    "dry_run": fixed(True),
    "until_office_close": fixed(False),
    "timezone": fixed("Asia/Shanghai"),
    "lang": fixed("en"),
    "year": fixed(2031),
    "month": fixed(5),
    "limit": fixed(50),
    "days": fixed(3),
    "deadline_days": fixed(5),
    "settings": fixed({}),
}
# fields a page's form may carry that the probe leaves alone
SKIP_FIELDS = {"csrf_token", "next", "view_year", "view_month"}
# what a form the probe found no template for gets, and the columns of an uploaded file: every field the fillers
# know by name, and the usual references to B's things
SAMPLE_FIELDS = (*(k for k in FILLERS if "*" not in k and k != "mobile"), "parent_code", "unit_code",
                 "department_code", "user_id", "org_unit_id")


def sample(b: District, endpoint: str) -> dict[str, str]:
    return {k: as_form(field_value(b, k, endpoint)) for k in SAMPLE_FIELDS if k != "settings"}


def filler_for(name: str) -> Filler | None:
    if name in FILLERS:
        return FILLERS[name]
    for pattern, fill in FILLERS.items():
        if pattern.startswith("*") and name.endswith(pattern[1:]):
            return fill
    return None


def field_value(b: District, name: str, endpoint: str, kind: str = "string") -> Any:
    """One value for a form or JSON field: B's where the name says what it is, else by type."""
    fill = filler_for(name)
    values = fill(b, name, endpoint) if fill else []
    if values:
        return values[0]
    if kind == "integer":
        return row_ids()(b, "id", endpoint)[0]
    if kind == "boolean":
        return True
    if kind == "array":
        return [str(i) for i in row_ids()(b, "id", endpoint)[:2]]
    if kind == "object":
        return {}
    return b.values("org_units.code")[0]


def as_form(value: Any) -> str:
    if value is True:
        return "1"
    if value is False:
        return "0"
    return str(value)


def csv_upload(fields: dict[str, str]) -> bytes:
    """A file for upload fields: a header of field names and one row of B's values (codes, phones, names)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(fields)
    writer.writerow(fields.values())
    return buf.getvalue().encode("utf-8")


def leaves_sent(value: Any) -> Iterable[str]:
    """Everything a request carries as text, so an answer that echoes it is not counted as a leak."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from leaves_sent(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from leaves_sent(v)
    elif isinstance(value, bytes):
        yield from re.split(r"[,\r\n]+", value.decode("utf-8", "replace"))
    elif value is not None:
        yield str(value)


# --- the app's own forms --------------------------------------------------------------------------


class FormFields(HTMLParser):
    """The forms of a page: their method, target and field names (with the input's type)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._current: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            method = "post" if a.get("hx-post") else (a.get("method") or "get").lower()
            target = a.get("hx-post") or a.get("hx-get") or a.get("action") or ""
            self._current = {"method": method, "action": target, "fields": {}}
            self.forms.append(self._current)
        elif tag in ("input", "select", "textarea", "button") and self._current is not None and a.get("name"):
            kind = a.get("type", "text") if tag == "input" else tag
            self._current["fields"].setdefault(a["name"], kind)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def forms_of(html: str, page_path: str) -> list[tuple[str, str, dict[str, str]]]:
    """(method, path, fields) of every form of a page; a form without a target posts to the page itself."""
    parser = FormFields()
    parser.feed(html)
    return [(f["method"].upper(), urlsplit(f["action"]).path or page_path, f["fields"]) for f in parser.forms]
