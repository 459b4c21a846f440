"""The kernel's import contract: every file of rows (the org tree, staff, a module's hotline tickets, supervisor
lists...) is read, checked and written the same way, whichever module declares it.

A kind of import is an `ImportKind` (declared in a module's manifest, `ModuleSpec.imports`, or by the kernel
for its own kinds): its key, label and permission, its columns (`ImportColumn`: Chinese header and aliases),
an optional row schema (marshmallow) that `load_row` feeds each row through, a checker over the whole file
(it asks the database once per file, never once per row) and a writer. The kernel gives every kind:
- reading CSV (UTF-8, UTF-16 or GBK; comma, tab or semicolon) and XLSX (calamine, openpyxl as fallback), with
  refusals in the reader's language for what is not a table (a damaged workbook says so), zip bombs, files
  too large or too long;
- the header found by its Chinese names or aliases within the first rows (`map_columns`);
- a check that names every bad row with its line as a spreadsheet shows it (`RowError`), and writes nothing
  while any row is bad (`Checked.ok`);
- staging between preview and confirmation: the raw rows encrypted (Fernet, from SECRET_KEY) on the server,
  bound to the district, the person and the kind, single-use and expiring (`stage`, `claim`, `discard`);
- `preview` and `confirm`, which the pages and the API of a kind call, so they answer the same.

No request globals below `staging_dir`: sessions, tenants and actors are passed in.
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
import re
import secrets
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple

import marshmallow as ma
import sqlalchemy.orm as so
from cryptography.fernet import Fernet, InvalidToken
from flask_babel import gettext as _

MAX_ROWS = 20_000
MAX_BYTES = 10 * 1024 * 1024
# an XLSX is a zip: refuse one whose sheets unpack to more than this (a "zip bomb" stays a small upload)
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
STAGE_TTL = 3600  # seconds a checked file waits for its confirmation
WORKBOOK_SUFFIXES = ("xlsx", "xlsm")


class ImportFileError(ValueError):
    """The file as a whole cannot be read: wrong type, too large, no header, too many rows."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


# --- columns --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ImportColumn:
    """One column of a kind's file: the row's key, its label (a lazy msgid, for messages), the template's
    Chinese header, other headers people write, and whether a row must fill it."""

    key: str
    label: Any
    header: str
    aliases: tuple[str, ...] = ()
    required: bool = True


_NOTE = re.compile(r"[(（\[【].*?[)）\]】]")
_IGNORABLE = re.compile(r"[\s_\-*＊:：]")


def norm(text: str) -> str:
    """A header or a name as compared: notes in brackets, spaces, underscores and asterisks dropped."""
    return _IGNORABLE.sub("", _NOTE.sub("", text or "")).lower()


def header_index(columns: Iterable[ImportColumn]) -> dict[str, str]:
    index: dict[str, str] = {}
    for col in columns:
        for name in (col.key, col.header, *col.aliases):
            index.setdefault(norm(name), col.key)
    return index


# --- reading a file -------------------------------------------------------------------------------

_NOT_TABULAR = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"Rar!", b"7z\xbc\xaf", b"\x1f\x8b", b"{\\rtf")


def read_table(data: bytes, filename: str = "") -> list[tuple[int, list[str]]]:
    """The file's non-blank rows as (line number as a spreadsheet shows it, cells as trimmed text).

    The bytes decide what the file is; the name only says what it was meant to be, so that a damaged workbook
    is called an unreadable workbook (not a text file in a strange encoding)."""
    if not data or not data.strip():
        raise ImportFileError(_("The file is empty."))
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data)
    meant_xlsx = filename.lower().rsplit(".", 1)[-1] in WORKBOOK_SUFFIXES if "." in filename else False
    if data.startswith(b"\xd0\xcf\x11\xe0") and meant_xlsx:
        # an .xlsx in a compound file is an encrypted (password-protected) workbook
        raise ImportFileError(_("The workbook is protected by a password. Remove the password in Excel, save it as "
                                "XLSX and upload it again."))
    if meant_xlsx:
        raise ImportFileError(_("This is not a readable workbook: the file is damaged or is not an XLSX file. Open "
                                "it in Excel and save it again as XLSX."))
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(_("This is an old Excel file (.xls). Save it as .xlsx or as CSV and upload it again."))
    if data.startswith(_NOT_TABULAR):
        raise ImportFileError(_("This is not a CSV or XLSX file."))
    return _read_csv(data)


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's "Unicode text" is UTF-16 with a BOM
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    elif b"\x00" not in data:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
        try:
            # GB18030 is a superset of GBK, which Excel uses for CSV on Chinese Windows
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise ImportFileError(
                _("The file is neither UTF-8 nor GBK text. Save it again as CSV (UTF-8) or as XLSX.")
            ) from None
    raise ImportFileError(_("This is not a CSV or XLSX file."))


def _read_csv(data: bytes) -> list[tuple[int, list[str]]]:
    text = _decode(data)
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",\t;", key=first.count) if any(d in first for d in ",\t;") else ","
    rows = []
    try:
        for line, cells in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), 1):
            values = [c.strip() for c in cells]
            if any(values):
                rows.append((line, values))
    except csv.Error:
        raise ImportFileError(_("The file could not be read as CSV. Save it again from Excel as CSV or XLSX.")
                              ) from None
    return rows


def _read_xlsx(data: bytes) -> list[tuple[int, list[str]]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        raise ImportFileError(_unreadable_workbook()) from None
    if "xl/workbook.xml" not in names:
        raise ImportFileError(_("This is not a CSV or XLSX file."))
    if unpacked > MAX_UNPACKED_BYTES:
        raise ImportFileError(_("The workbook is too large to import at once. Split it into smaller files."))
    try:
        values = _xlsx_values(data)
    except Exception:  # both readers raise many kinds of errors on a damaged file
        raise ImportFileError(_unreadable_workbook()) from None
    rows = []
    for line, cells in enumerate(values, 1):
        texts = [_cell_text(c) for c in cells]
        if any(texts):
            rows.append((line, texts))
    return rows


def _unreadable_workbook() -> str:
    return _("The workbook could not be read. Open it in Excel and save it again as XLSX.")


def _xlsx_values(data: bytes) -> list[Iterable[Any]]:
    """The first sheet's rows from row 1 (so line numbers match Excel's), with calamine when it is installed."""
    try:
        from python_calamine import CalamineWorkbook
    except ImportError:  # pragma: no cover - calamine is a dependency; openpyxl is the slower fallback
        CalamineWorkbook = None
    if CalamineWorkbook is not None and not _FORCE_OPENPYXL:
        with CalamineWorkbook.from_filelike(io.BytesIO(data)) as workbook:
            return list(workbook.get_sheet_by_index(0).to_python(skip_empty_area=False))
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        return list(workbook.worksheets[0].iter_rows(min_row=1, values_only=True))
    finally:
        workbook.close()


_FORCE_OPENPYXL = False  # tests flip it to cover the fallback reader


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        # Excel keeps phone numbers and numeric codes as floats: 13812345678.0
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value).strip()


# --- header and rows ------------------------------------------------------------------------------

RawRow = tuple[int, dict[str, str]]


@dataclasses.dataclass
class Table:
    rows: list[RawRow]
    ignored_columns: list[str]


def column_list(cols: Iterable[ImportColumn]) -> str:
    return ", ".join(f"{c.header} ({c.key})" for c in cols)


def map_columns(columns: tuple[ImportColumn, ...], table: list[tuple[int, list[str]]], *, max_rows: int = MAX_ROWS,
                header_rows: int = 10) -> Table:
    """Find the header (the first row naming the required columns, within the first `header_rows`) and key each
    row by it."""
    if not table:
        raise ImportFileError(_("The file is empty."))
    index = header_index(columns)
    required = [c for c in columns if c.required]
    header_at, mapping, ignored = None, {}, []
    for position, (_line, cells) in enumerate(table[:header_rows]):
        found = {i: index[norm(c)] for i, c in enumerate(cells) if norm(c) in index}
        if all(c.key in found.values() for c in required):
            header_at, mapping = position, found
            ignored = [c for i, c in enumerate(cells) if c and i not in found]
            break
    if header_at is None:
        cells = table[0][1]
        present = {index.get(norm(c)) for c in cells}
        missing = [c for c in required if c.key not in present]
        raise ImportFileError(
            _("Columns missing: %(columns)s. The first row must name the columns, as in the template.",
              columns=column_list(missing))
        )
    seen: dict[str, int] = {}
    for position, key in mapping.items():
        if key in seen:
            column = next(c for c in columns if c.key == key)
            raise ImportFileError(_("The column %(column)s appears twice.", column=column_list([column])))
        seen[key] = position
    body = table[header_at + 1:]
    if not body:
        raise ImportFileError(_("The file has a header row but no data rows."))
    if len(body) > max_rows:
        raise ImportFileError(_("The file has %(rows)s rows; at most %(max)s can be imported at once. "
                                "Split it into smaller files.", rows=len(body), max=max_rows))
    rows = [(line, {key: (cells[i] if i < len(cells) else "") for key, i in seen.items()}) for line, cells in body]
    return Table(rows=rows, ignored_columns=ignored)


# --- checking -------------------------------------------------------------------------------------


class RowError(NamedTuple):
    """A bad row: its line as the spreadsheet shows it, and what is wrong, in the reader's language."""

    line: int
    message: str


@dataclasses.dataclass
class Checked:
    """A file checked against the rules and the database: clean rows to write, or every error by line.

    `rows` are what the kind's writer takes (for most kinds, the rows its schema loaded); `skipped` are rows
    the kind leaves out on purpose (a ticket imported before), as (line, what); `known` carries the database
    facts the checker read, for the writer."""

    kind: str
    raw: list[RawRow]
    rows: list[Any]
    errors: list[RowError]
    counts: dict[str, int] = dataclasses.field(default_factory=dict)
    ignored_columns: list[str] = dataclasses.field(default_factory=list)
    known: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)
    skipped: list[tuple[int, str]] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows or self.skipped)

    def errors_by_line(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for err in self.errors:
            out.setdefault(str(err.line), []).append(err.message)
        return out


def load_row(schema: ma.Schema, columns: Iterable[ImportColumn], raw: dict[str, str]
             ) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """One row through a kind's row schema: empty optional cells count as not given. Returns (valid data,
    messages by field)."""
    columns = list(columns)
    required = {c.key for c in columns if c.required}
    given = {k: v for k, v in raw.items() if v or k in required}
    for col in columns:
        if col.required:
            given.setdefault(col.key, "")
    try:
        return schema.load(given), {}
    except ma.ValidationError as err:
        messages = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
        valid = err.valid_data if isinstance(err.valid_data, dict) else {}
        return valid, {k: (v if isinstance(v, list) else [v]) for k, v in messages.items()}


def row_error(line: int, label: Any, message: str) -> RowError:
    """A row's error as every kind words it: `第 3 行：手机号：……`."""
    return RowError(line, _("Line %(line)s: %(column)s: %(message)s", line=line, column=str(label), message=message))


# --- staging between preview and confirmation -----------------------------------------------------

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")


def _fernet(secret: str) -> Fernet:
    # the staged file holds names, phones and maybe passwords: encrypted at rest, and tamper-evident
    key = hashlib.sha256(b"wanggetong.import-staging:" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def stage(directory: Path, secret: str, *, tenant_id: int, user_id: int, kind: str, filename: str,
          raw_rows: list[RawRow]) -> str:
    """Keep a checked file's rows on the server for its confirmation; returns the token that names them."""
    directory.mkdir(parents=True, exist_ok=True)
    _sweep(directory)
    token = secrets.token_urlsafe(24)
    payload = {"tenant_id": tenant_id, "user_id": user_id, "kind": kind, "filename": filename,
               "rows": [[line, raw] for line, raw in raw_rows]}
    blob = _fernet(secret).encrypt(zlib.compress(json.dumps(payload, ensure_ascii=False).encode()))
    path = directory / f"{token}.import"
    path.write_bytes(blob)
    path.chmod(0o600)
    return token


def _owned(directory: Path, secret: str, token: str, *, tenant_id: int, user_id: int, kind: str,
           ttl: int = STAGE_TTL) -> dict[str, Any] | None:
    """The staged payload if it is this person's, of this district and kind, and unexpired; else None."""
    if not _TOKEN.match(token or ""):
        return None
    try:
        payload = json.loads(zlib.decompress(_fernet(secret).decrypt((directory / f"{token}.import").read_bytes(),
                                                                     ttl=ttl)))
    except (OSError, InvalidToken, ValueError, zlib.error):
        return None
    if (payload.get("tenant_id"), payload.get("user_id"), payload.get("kind")) != (tenant_id, user_id, kind):
        return None
    return payload


def claim(directory: Path, secret: str, token: str, *, tenant_id: int, user_id: int, kind: str,
          ttl: int = STAGE_TTL) -> tuple[str, list[RawRow]] | None:
    """Take the staged rows once: (filename, rows), or None when missing, expired, used, or someone else's.

    Someone else's file (another district's, another person's) is left where it is: a token sent from the
    wrong place must not consume it.
    """
    payload = _owned(directory, secret, token, tenant_id=tenant_id, user_id=user_id, kind=kind, ttl=ttl)
    if payload is None:
        return None
    claimed = directory / f"{token}.claimed"
    try:
        # a rename is atomic: of two confirmations racing, one wins and the other finds nothing
        (directory / f"{token}.import").rename(claimed)
    except OSError:
        return None
    claimed.unlink(missing_ok=True)
    return payload["filename"], [(int(line), dict(raw)) for line, raw in payload["rows"]]


def discard(directory: Path, secret: str, token: str, *, tenant_id: int, user_id: int, kind: str) -> None:
    """Throw away one's own staged file; someone else's stays (an expired one goes with the next sweep)."""
    if _owned(directory, secret, token, tenant_id=tenant_id, user_id=user_id, kind=kind) is not None:
        (directory / f"{token}.import").unlink(missing_ok=True)


def _sweep(directory: Path) -> None:
    cutoff = time.time() - STAGE_TTL
    for path in directory.glob("*.import"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        except OSError:
            continue


# --- kinds ------------------------------------------------------------------------------------------


@dataclasses.dataclass
class ImportContext:
    """Who imports where: the district, the actor the kind's services take (a User, or a module's Actor), the
    role book, the file's name and the address (for the audit log)."""

    tenant: Any
    actor: Any
    book: Any = None
    filename: str = ""
    ip: str | None = None


@dataclasses.dataclass(frozen=True)
class ImportKind:
    """A kind of import (see the module's docstring). `check(session, context, raw_rows) -> Checked` and
    `write(session, context, checked) -> summary` are the kind's; everything else is the kernel's."""

    key: str
    label: Any
    permission: str
    columns: tuple[ImportColumn, ...]
    check: Callable[[so.Session, ImportContext, list[RawRow]], Checked]
    write: Callable[[so.Session, ImportContext, Checked], dict[str, Any]]
    row_schema: type[ma.Schema] | None = None
    max_rows: int = MAX_ROWS
    max_bytes: int = MAX_BYTES
    header_rows: int = 10
    # whether the kernel's import page and API (`/admin/import/modules/<key>`) offer the kind: False for a kind
    # whose rows need more than the district to land in (a campaign's targets), which keeps its own door
    door: bool = True


KERNEL_KINDS: dict[str, ImportKind] = {}  # the kernel's own kinds (the org tree, staff), registered by their package


def register_kernel_kind(kind: ImportKind) -> ImportKind:
    KERNEL_KINDS[kind.key] = kind
    return kind


def import_kinds(registry: Any = None) -> dict[str, ImportKind]:
    """Every kind: the kernel's, then each module's (`ModuleSpec.imports`) in the registry's order."""
    kinds = dict(KERNEL_KINDS)
    for spec in (registry if registry is not None else ()):
        for declared in getattr(spec, "imports", ()):
            kind = declared if isinstance(declared, ImportKind) else declared()
            kinds[kind.key] = kind
    return kinds


def check_file(session: so.Session, kind: ImportKind, context: ImportContext, data: bytes, *,
               max_rows: int | None = None) -> Checked:
    """Read and check a file of `kind`; raises ImportFileError when the file as a whole is unusable.
    Writes nothing (the caller rolls back whatever the checker's queries began)."""
    if len(data) > kind.max_bytes:
        raise ImportFileError(_("The file is larger than %(mb)s MB. Split it into smaller files.",
                                mb=kind.max_bytes // (1024 * 1024)))
    table = map_columns(kind.columns, read_table(data, context.filename), max_rows=max_rows or kind.max_rows,
                        header_rows=kind.header_rows)
    checked = kind.check(session, context, table.rows)
    checked.ignored_columns = table.ignored_columns
    return checked


def preview(session: so.Session, kind: ImportKind, context: ImportContext, data: bytes, *, directory: Path,
            secret: str, user_id: int, max_rows: int | None = None) -> tuple[Checked, str | None]:
    """Check a file and, when every row is good, stage it for its confirmation: (checked, token or None)."""
    checked = check_file(session, kind, context, data, max_rows=max_rows)
    token = None
    if checked.ok and checked.rows:
        token = stage(directory, secret, tenant_id=context.tenant.id, user_id=user_id, kind=kind.key,
                      filename=context.filename, raw_rows=checked.raw)
    return checked, token


class ImportExpired(Exception):
    """The staged file is missing, expired, already used, or someone else's."""


def confirm(session: so.Session, kind: ImportKind, context: ImportContext, token: str, *, directory: Path,
            secret: str, user_id: int) -> tuple[Checked, dict[str, Any] | None]:
    """Claim the staged rows once, check them again against the district as it is now, and write them all in
    the caller's transaction: (checked, the writer's summary), or (checked, None) when a row went bad since
    the preview. The caller commits, or rolls back on an error. Raises ImportExpired."""
    claimed = claim(directory, secret, token, tenant_id=context.tenant.id, user_id=user_id, kind=kind.key)
    if claimed is None:
        raise ImportExpired
    context.filename, raw_rows = claimed
    checked = kind.check(session, context, raw_rows)
    if not checked.ok:
        return checked, None
    return checked, kind.write(session, context, checked)


def staging_dir() -> Path:
    """Where staged files wait: IMPORT_STAGING_DIR, or the instance folder's `imports`."""
    from flask import current_app

    configured = current_app.config.get("IMPORT_STAGING_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "imports"


__all__ = ["MAX_BYTES", "MAX_ROWS", "STAGE_TTL", "Checked", "ImportColumn", "ImportContext", "ImportExpired",
           "ImportFileError", "ImportKind", "RawRow", "RowError", "Table", "check_file", "claim", "confirm",
           "discard", "import_kinds", "load_row", "map_columns", "preview", "read_table", "register_kernel_kind",
           "row_error", "stage", "staging_dir"]
