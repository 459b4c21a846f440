"""A district's data as one file: export it, import it into another deployment, delete it.

The file is a zip archive:
- `manifest.json`: the format and its version, the district (id, slug, names), when it was written, the schema
  revisions of the kernel and of every installed module, and each table's row count and SHA-256;
- `tables/<table>.jsonl`: one JSON object per row, for the `tenants` row and every table that carries
  `tenant_id`, found from the metadata and listed in foreign-key order (a module's new table is included without
  anyone listing it).

Values are copied as stored: hashes stay hashes and sealed secrets stay sealed (they open only where the same
`SECRETS_KEY`, or `SECRET_KEY` without it, is set); binary columns (photos, documents) are base64, times ISO 8601
in UTC. The file holds personal data (names, phone numbers, addresses of the elderly, photos).

Everything runs as the database owner (`MIGRATE_DATABASE_URL`: only the owner may delete audit entries), on one
connection and in one transaction, bound to the district for row-level security, and in Core SQL outside the
ORM's tenant filter: every statement names the district's `tenant_id` itself.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import decimal
import hashlib
import json
import os
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_babel import gettext as _

from saas import audit, migrate
from saas.db import PLATFORM_SCOPE, Base, make_engine, utcnow

FORMAT = "wanggetong-district"
VERSION = 1
MANIFEST = "manifest.json"
BATCH = 500


class TransferError(Exception):
    """An export, import or delete refused, with the reason in the operator's language; nothing changed."""


@dataclasses.dataclass
class Outcome:
    manifest: dict[str, Any]
    path: Path
    sha256: str

    @property
    def rows(self) -> int:
        return sum(t["rows"] for t in self.manifest["tables"])


def district_tables(metadata: sa.MetaData | None = None) -> list[sa.Table]:
    """The `tenants` table, then every table that carries `tenant_id`, parents before children.

    A table without `tenant_id` that referenced a district's rows would belong to the district unseen by this
    list: there is none, and a new one is refused here rather than left behind by a delete.
    """
    md = metadata or Base.metadata
    tenants = md.tables["tenants"]
    owned = [t for t in md.sorted_tables if "tenant_id" in t.c]
    members = {tenants, *owned}
    for table in md.sorted_tables:
        if table not in members and any(fk.referred_table in members for fk in table.foreign_key_constraints):
            raise RuntimeError(f"{table.name} refers to a district's rows but has no tenant_id")
    return [tenants, *owned]


def _key(table: sa.Table) -> sa.Column[Any]:
    return table.c.id if table.name == "tenants" else table.c.tenant_id


# --- values ---------------------------------------------------------------------------------------------------


def _kind(column: sa.Column[Any]) -> str:
    kind = column.type
    if isinstance(kind, sa.TypeDecorator):
        kind = kind.impl_instance
    for cls, name in ((sa.LargeBinary, "bytes"), (sa.DateTime, "datetime"), (sa.Date, "date"), (sa.Time, "time"),
                      (sa.Uuid, "uuid"), (sa.Float, "plain"), (sa.Numeric, "decimal")):
        if isinstance(kind, cls):
            return name
    return "plain"


def _encode(kind: str, value: Any) -> Any:
    if value is None or kind == "plain":
        return value
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode("ascii")
    if kind in ("datetime", "date", "time"):
        return value.isoformat()
    return str(value)


def _decode(kind: str, value: Any) -> Any:
    if value is None or kind == "plain":
        return value
    return {
        "bytes": base64.b64decode,
        "datetime": dt.datetime.fromisoformat,
        "date": dt.date.fromisoformat,
        "time": dt.time.fromisoformat,
        "uuid": uuid.UUID,
        "decimal": decimal.Decimal,
    }[kind](value)


# --- connections ------------------------------------------------------------------------------------------------


def _connect(app: Flask) -> sa.Connection:
    """The owner's connection, with a snapshot that holds for the whole transaction: an export of a district in
    use reads every table as of one moment, so its references agree."""
    engine = make_engine(app.config["MIGRATE_DATABASE_URL"])
    conn = engine.connect()
    if conn.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
    conn.begin()
    if conn.dialect.name == "postgresql":
        # a transfer is the platform's act: row-level security lets it create and delete a district's row
        conn.execute(sa.select(sa.func.set_config("app.scope", PLATFORM_SCOPE, True)))
    if conn.dialect.name == "sqlite":
        # pysqlite begins a transaction only before a write: begin it now, so the reads share one snapshot
        conn.exec_driver_sql("BEGIN")
    return conn


def _close(conn: sa.Connection) -> None:
    engine = conn.engine
    conn.close()
    engine.dispose()


def _bind(conn: sa.Connection, tenant_id: int) -> None:
    """Row-level security is forced on the owner too: bind the transaction to the district, as the app does."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.set_config("app.tenant_id", str(tenant_id), True)))


def revisions(conn: sa.Connection) -> list[str]:
    return sorted(row[0] for row in conn.execute(sa.text("SELECT version_num FROM alembic_version")))


def _branches(app: Flask, revs: list[str]) -> dict[str, str]:
    """Each revision under the name of its branch ("kernel" or a module's key), for messages and the manifest."""
    from alembic.script import ScriptDirectory
    from alembic.script.revision import RevisionError

    script = ScriptDirectory.from_config(migrate.alembic_config(app))
    named: dict[str, str] = {}
    for rev in revs:
        try:
            labels = sorted(script.get_revision(rev).branch_labels or ())  # type: ignore[union-attr]
        except RevisionError:  # a revision this code does not know is named by itself
            labels = []
        named[labels[0] if labels else rev] = rev
    return named


def find_tenant(conn: sa.Connection, slug: str) -> sa.Row[Any]:
    tenants = Base.metadata.tables["tenants"]
    row = conn.execute(sa.select(tenants).where(tenants.c.slug == slug)).first()
    if row is None:
        raise TransferError(_("There is no district with the slug %(slug)s.", slug=slug))
    return row


# --- export -----------------------------------------------------------------------------------------------------


def _rows(conn: sa.Connection, table: sa.Table, tenant_id: int) -> Iterator[dict[str, Any]]:
    kinds = [(c, _kind(c)) for c in table.c]
    stmt = sa.select(table).where(_key(table) == tenant_id).order_by(*table.primary_key.columns)
    for row in conn.execute(stmt.execution_options(yield_per=BATCH)):
        yield {c.name: _encode(kind, row._mapping[c]) for c, kind in kinds}


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_export(app: Flask, conn: sa.Connection, tenant: sa.Row[Any], path: Path) -> Outcome:
    """Write the district's file on the transaction's snapshot; the file appears whole or not at all."""
    if path.exists():
        raise TransferError(_("%(path)s already exists; name a new file.", path=str(path)))
    _bind(conn, tenant.id)
    revs = revisions(conn)
    part = path.with_name(path.name + ".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # personal data: the owner's eyes only
    tables = []
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
            for table in district_tables():
                digest, count = hashlib.sha256(), 0
                with zf.open(f"tables/{table.name}.jsonl", "w", force_zip64=True) as out:
                    for row in _rows(conn, table, tenant.id):
                        line = (json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
                        digest.update(line)
                        out.write(line)
                        count += 1
                tables.append({"name": table.name, "rows": count, "sha256": digest.hexdigest()})
            manifest = {
                "format": FORMAT,
                "version": VERSION,
                "written_at": utcnow().isoformat(),
                "tenant": {"id": tenant.id, "slug": tenant.slug, "name_zh": tenant.name_zh,
                           "hostname": tenant.hostname},
                "revisions": revs,
                "branches": _branches(app, revs),
                "personal_data": True,
                "secrets": "copied as stored: hashes, and values sealed with the deployment's SECRETS_KEY",
                "tables": tables,
            }
            zf.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2))
        part.replace(path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return Outcome(manifest, path, _file_sha256(path))


def export_district(app: Flask, slug: str, path: Path, actor: Any) -> Outcome:
    conn = _connect(app)
    try:
        tenant = find_tenant(conn, slug)
        outcome = write_export(app, conn, tenant, path)
        conn.rollback()  # the snapshot's transaction wrote nothing; the audit entry gets its own
        conn.begin()
        _record(conn, actor, "tenant.export", tenant.id, slug, outcome)
        conn.commit()
        return outcome
    finally:
        _close(conn)


def _record(conn: sa.Connection, actor: Any, action: str, tenant_id: int, slug: str, outcome: Outcome) -> None:
    audit.record_platform(conn, actor, action, district_id=tenant_id, district_slug=slug, details={
        "file": outcome.path.name, "sha256": outcome.sha256, "rows": outcome.rows})


# --- reading a file ---------------------------------------------------------------------------------------------


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        with zipfile.ZipFile(path) as zf:
            manifest = json.loads(zf.read(MANIFEST))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        raise TransferError(_("%(path)s is not a district export file.", path=str(path))) from None
    if manifest.get("format") != FORMAT:
        raise TransferError(_("%(path)s is not a district export file.", path=str(path)))
    if manifest.get("version") != VERSION:
        raise TransferError(_("The file is of format version %(found)s; this code reads version %(version)s.",
                              found=manifest.get("version"), version=VERSION))
    return manifest


def verify(path: Path) -> dict[str, Any]:
    """The manifest, after every table's rows were counted and hashed against it (a damaged file is refused)."""
    manifest = read_manifest(path)
    with zipfile.ZipFile(path) as zf:
        for entry in manifest["tables"]:
            digest, count = hashlib.sha256(), 0
            try:
                with zf.open(f"tables/{entry['name']}.jsonl") as f:
                    for line in f:
                        digest.update(line)
                        count += 1
            except (KeyError, zipfile.BadZipFile, OSError):
                count = -1
            if count != entry["rows"] or digest.hexdigest() != entry["sha256"]:
                raise TransferError(_("The file is damaged: table %(table)s does not match its manifest.",
                                      table=entry["name"]))
    return manifest


def _file_rows(zf: zipfile.ZipFile, table: sa.Table) -> Iterator[dict[str, Any]]:
    kinds = {c.name: (c.key, _kind(c)) for c in table.c}
    with zf.open(f"tables/{table.name}.jsonl") as f:
        for line in f:
            row = json.loads(line)
            yield {kinds[name][0]: _decode(kinds[name][1], value) for name, value in row.items()}


def _parents_first(table: sa.Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of a table that refers to itself (the org tree), each after the row it refers to."""
    fks = [[(e.parent.key, e.column.key) for e in fk.elements]
           for fk in table.foreign_key_constraints if fk.referred_table is table]
    if not fks:
        return rows
    placed: list[set[tuple[Any, ...]]] = [set() for _ in fks]
    ordered: list[dict[str, Any]] = []
    pending = rows
    while pending:
        waiting = []
        for row in pending:
            ready = True
            for pairs, seen in zip(fks, placed, strict=True):
                parent = tuple(row[local] for local, _ in pairs)
                if None not in parent and parent != tuple(row[ref] for _, ref in pairs) and parent not in seen:
                    ready = False
            if ready:
                ordered.append(row)
                for pairs, seen in zip(fks, placed, strict=True):
                    seen.add(tuple(row[ref] for _, ref in pairs))
            else:
                waiting.append(row)
        if len(waiting) == len(pending):
            raise TransferError(_("The file is damaged: table %(table)s refers to rows it does not hold.",
                                  table=table.name))
        pending = waiting
    return ordered


# --- import -----------------------------------------------------------------------------------------------------


def _check_target(app: Flask, conn: sa.Connection, manifest: dict[str, Any]) -> None:
    here, there = revisions(conn), sorted(manifest["revisions"])
    if here != there:
        ours, theirs = _branches(app, here), manifest.get("branches") or {r: r for r in there}
        differ = sorted(k for k in {*ours, *theirs} if ours.get(k) != theirs.get(k))
        raise TransferError(_(
            "The file was written at other schema revisions than this deployment's (%(parts)s). Import it into a "
            "deployment of the same version with the same modules installed.",
            parts="；".join(f"{k}：{theirs.get(k, '-')} → {ours.get(k, '-')}" for k in differ)))
    expected = {t.name for t in district_tables()}
    if {t["name"] for t in manifest["tables"]} != expected:
        raise TransferError(_("The file's tables differ from this deployment's."))
    tenant = manifest["tenant"]
    tenants = Base.metadata.tables["tenants"]
    same = [tenants.c.id == tenant["id"], tenants.c.slug == tenant["slug"]]
    if tenant.get("hostname"):
        same.append(tenants.c.hostname == tenant["hostname"])
    clash = conn.execute(sa.select(tenants.c.slug).where(sa.or_(*same))).first()
    if clash is not None:
        raise TransferError(_("District %(slug)s (or its id or host name) is already here; nothing was imported.",
                              slug=tenant["slug"]))
    _bind(conn, tenant["id"])
    for table in district_tables()[1:]:
        if conn.execute(sa.select(sa.literal(1)).where(table.c.tenant_id == tenant["id"]).limit(1)).first():
            raise TransferError(_("Rows of district %(slug)s are already here (%(table)s); nothing was imported.",
                                  slug=tenant["slug"], table=table.name))


def _reset_sequences(conn: sa.Connection, tables: list[sa.Table]) -> None:
    """Ids are made by the application, but a serial column's sequence must still pass the rows now present."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        for column in table.primary_key.columns:
            seq = conn.execute(sa.select(sa.func.pg_get_serial_sequence(table.name, column.name))).scalar()
            if seq:
                top = conn.execute(sa.select(sa.func.max(column)).select_from(table)).scalar() or 0
                conn.execute(sa.text(
                    f"SELECT setval(CAST(:seq AS regclass), GREATEST(:top, (SELECT last_value FROM {seq})))"  # noqa: S608 - seq is the catalogue's name
                ), {"seq": seq, "top": top})


def import_district(app: Flask, path: Path, actor: Any) -> Outcome:
    """Restore a district from its file into this deployment, ids and references intact, or refuse and change
    nothing: another schema revision, a damaged file, or the district (its id, slug or host name) already here."""
    manifest = verify(path)
    conn = _connect(app)
    try:
        _check_target(app, conn, manifest)
        tenant_id, counts = manifest["tenant"]["id"], {t["name"]: t["rows"] for t in manifest["tables"]}
        tables = district_tables()
        with zipfile.ZipFile(path) as zf:
            for table in tables:
                rows: Iterator[dict[str, Any]] | list[dict[str, Any]] = _file_rows(zf, table)
                if any(fk.referred_table is table for fk in table.foreign_key_constraints):
                    rows = _parents_first(table, list(rows))
                written, batch = 0, []
                for row in rows:
                    if row.get("tenant_id", row.get("id")) != tenant_id:
                        raise TransferError(_("The file is damaged: table %(table)s holds another district's rows.",
                                              table=table.name))
                    batch.append(row)
                    if len(batch) >= BATCH:
                        conn.execute(table.insert(), batch)
                        written, batch = written + len(batch), []
                if batch:
                    conn.execute(table.insert(), batch)
                    written += len(batch)
                if written != counts[table.name]:
                    raise TransferError(_("The file is damaged: table %(table)s does not match its manifest.",
                                          table=table.name))
        _reset_sequences(conn, tables)
        outcome = Outcome(manifest, path, _file_sha256(path))
        _record(conn, actor, "tenant.import", tenant_id, manifest["tenant"]["slug"], outcome)
        conn.commit()
        return outcome
    except BaseException:
        conn.rollback()
        raise
    finally:
        _close(conn)


# --- delete -----------------------------------------------------------------------------------------------------


def count_rows(app: Flask, slug: str) -> dict[str, int]:
    """What a delete would remove, table by table (tables without rows left out)."""
    conn = _connect(app)
    try:
        tenant = find_tenant(conn, slug)
        _bind(conn, tenant.id)
        counts = {}
        for table in district_tables():
            n = conn.execute(sa.select(sa.func.count()).select_from(table).where(_key(table) == tenant.id)).scalar()
            if n:
                counts[table.name] = int(n or 0)
        return counts
    finally:
        conn.rollback()
        _close(conn)


def delete_district(app: Flask, slug: str, export_to: Path, actor: Any) -> Outcome:
    """Export the district, check the file, then remove every row of it, children first, in one transaction.

    The export and the delete share one transaction: on PostgreSQL (repeatable read) a row changed or added
    after the export was read makes the delete fail rather than go unsaved; on both databases the rows deleted
    must be the rows exported, table by table, or nothing is deleted.
    """
    conn = _connect(app)
    outcome = None
    try:
        tenant = find_tenant(conn, slug)
        outcome = write_export(app, conn, tenant, export_to)
        verify(export_to)
        exported = {t["name"]: t["rows"] for t in outcome.manifest["tables"]}
        _bind(conn, tenant.id)
        for table in reversed(district_tables()):
            deleted = conn.execute(sa.delete(table).where(_key(table) == tenant.id)).rowcount
            if deleted != exported[table.name]:
                raise TransferError(_(
                    "District %(slug)s changed while it was exported (%(table)s); nothing was deleted. Suspend it "
                    "and try again.", slug=slug, table=table.name))
        _record(conn, actor, "tenant.export", tenant.id, slug, outcome)
        _record(conn, actor, "tenant.delete", tenant.id, slug, outcome)
        conn.commit()
        return outcome
    except BaseException:
        conn.rollback()
        if outcome is not None:  # the file was written and stays: the export is recorded though the delete was not
            conn.begin()
            _record(conn, actor, "tenant.export", outcome.manifest["tenant"]["id"], slug, outcome)
            conn.commit()
        raise
    finally:
        _close(conn)
