"""The kernel's one writer for every list and report a person downloads (XLSX, and CSV where asked).

Every module writes its files through `ExportBook` (or `write_csv`), which holds the rules once:
- times are the district's local wall-clock time (Excel has no time zones), dates stay dates;
- personal data is masked unless the caller says the reader may see it: a `Column` names what it holds
  (`personal="phone"`, `"id_number"` or `"text"` for free text, masked by `saas.masking.mask_personal`),
  and the book is opened with `reveal_personal=` the reader's right;
- every text cell is neutralised against formula injection (OWASP's rule: a value that starts with `=`, `+`,
  `-`, `@`, a tab or a carriage return gets a leading `'`), so a resident's `=HYPERLINK(...)` or a crafted
  `?q==...` comes out as text; numbers stay numbers; characters a workbook cannot hold are dropped;
- openpyxl's write-only mode (rows stream to a temporary file, not a workbook in memory);
- a list holds at most `EXPORT_MAX_ROWS` rows: `check_row_count` refuses more with `TooManyRows`, whose
  message asks for narrower filters, so a file is always the whole list it names, never its first part.

No request globals: the caller gives the district's time zone and the reader's right.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from saas.masking import mask_personal
from saas.schemas import mask_id_number, mask_phone

EXPORT_MAX_ROWS = 10_000
DATE_FORMAT = "yyyy-mm-dd hh:mm"
PERCENT_FORMAT = "0.0%"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv; charset=utf-8"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
MASKS: dict[str, Callable[[str], str]] = {"phone": mask_phone, "id_number": mask_id_number, "text": mask_personal}
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


class TooManyRows(Exception):
    """More rows match than one file holds (the kernel's cap): the person narrows the filters."""

    def __init__(self, cap: int = EXPORT_MAX_ROWS, message: str | None = None):
        self.cap = cap
        self.message = message or _("More than %(n)s rows match these filters: narrow them (a shorter period, "
                                    "one state or one area) and export again.", n=f"{cap:,}")
        super().__init__(self.message)


def check_row_count(count: int, cap: int = EXPORT_MAX_ROWS) -> None:
    """Refuse a list longer than `cap`: read `cap + 1` rows and pass their count here."""
    if count > cap:
        raise TooManyRows(cap)


@dataclass(frozen=True)
class Column:
    """One column of a sheet: the row's key, its header (a lazy msgid), its width, what personal data it holds
    (None, "phone", "id_number", "text") and a number format ("0.0%", DATE_FORMAT)."""

    key: str
    label: Any
    width: int = 14
    personal: str | None = None
    number_format: str | None = None

    def __post_init__(self) -> None:
        if self.personal is not None and self.personal not in MASKS:
            raise ValueError(f"unknown kind of personal data: {self.personal!r}")


def neutralise(text: str) -> str:
    """Text as a spreadsheet cell may hold it: no character a workbook refuses, never read as a formula."""
    text = ILLEGAL_CHARACTERS_RE.sub("", text)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def plain_value(value: Any, tz: ZoneInfo, personal: str | None = None, reveal: bool = False) -> Any:
    """A Python value as a cell holds it (see the module's docstring); text always comes back as a string."""
    if value is None or value == "":
        return None
    if isinstance(value, bool | int | float | decimal.Decimal):
        return value
    if isinstance(value, dt.datetime):
        # an aware time is shown in the district's zone; a naive one is the database's UTC
        aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(tz).replace(tzinfo=None)
    if isinstance(value, dt.date | dt.time):
        return value
    text = str(value)  # lazy strings too
    if personal is not None and not reveal:
        text = MASKS[personal](text)
    return neutralise(text)


def _sheet_title(text: str, taken: set[str]) -> str:
    title = _SHEET_BAD.sub(" ", ILLEGAL_CHARACTERS_RE.sub("", text)).strip().strip("'")[:31] or "Sheet"
    base, n = title, 2
    while title.lower() in taken:
        suffix = f" {n}"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(title.lower())
    return title


class Styled:
    """A value with a number format, for a cell of a row given as a list (`sheet.append([..., Styled(x, f)])`)."""

    __slots__ = ("number_format", "value")

    def __init__(self, value: Any, number_format: str):
        self.value, self.number_format = value, number_format


class ExportSheet:
    """One sheet of an `ExportBook`: a bold header row frozen above the rows, widths set."""

    def __init__(self, book: ExportBook, ws: Any, columns: Sequence[Column]):
        self.book, self.ws, self.columns = book, ws, list(columns)
        self.rows = 0

    def _cell(self, value: Any, column: Column | None) -> Any:
        if isinstance(value, Styled):
            fmt, value = value.number_format, value.value
        else:
            fmt = column.number_format if column is not None else None
        personal = column.personal if column is not None else None
        plain = plain_value(value, self.book.tz, personal, self.book.reveal_personal)
        if fmt is None or plain is None:
            return plain  # a plain value costs half a styled cell: 10,000 rows in about 3 s
        cell = WriteOnlyCell(self.ws, value=plain)
        cell.number_format = fmt
        return cell

    def append(self, row: Mapping[str, Any] | Sequence[Any]) -> None:
        """A row, as a mapping by the columns' keys or as values in the columns' order."""
        if isinstance(row, Mapping):
            cells = [self._cell(row.get(c.key), c) for c in self.columns]
        else:
            cols: list[Column | None] = [*self.columns, *[None] * max(0, len(row) - len(self.columns))]
            cells = [self._cell(v, c) for v, c in zip(row, cols, strict=False)]
        self.ws.append(cells)
        self.rows += 1

    def extend(self, rows: Iterable[Mapping[str, Any] | Sequence[Any]]) -> int:
        for row in rows:
            self.append(row)
        return self.rows


class ExportBook:
    """A write-only XLSX workbook whose every cell goes through the kernel's rules.

    `tz` is the district's time zone name; `reveal_personal` whether the reader may see personal data in full.
    """

    def __init__(self, tz: str, *, reveal_personal: bool = False):
        self.tz = ZoneInfo(tz)
        self.reveal_personal = reveal_personal
        self.wb = Workbook(write_only=True)
        self.titles: set[str] = set()

    def sheet(self, title: Any, columns: Sequence[Column | Any], widths: Sequence[int] | None = None
              ) -> ExportSheet:
        """A new sheet; `columns` are `Column`s, or plain headers (with `widths`) for a sheet of positional rows."""
        cols = [c if isinstance(c, Column) else Column(key=str(i), label=c,
                                                         width=widths[i] if widths and i < len(widths) else 14)
                for i, c in enumerate(columns)]
        ws = self.wb.create_sheet(_sheet_title(str(title), self.titles))
        for i, col in enumerate(cols, start=1):
            ws.column_dimensions[get_column_letter(i)].width = col.width
        ws.freeze_panes = "A2"
        bold = Font(bold=True)
        header = []
        for col in cols:
            cell = WriteOnlyCell(ws, value=neutralise(str(col.label)))
            cell.font = bold
            header.append(cell)
        ws.append(header)
        return ExportSheet(self, ws, cols)

    def save(self) -> bytes:
        out = io.BytesIO()
        self.wb.save(out)
        return out.getvalue()


def write_csv(columns: Sequence[Column], rows: Iterable[Mapping[str, Any]], *, tz: str,
              reveal_personal: bool = False) -> bytes:
    """The same rules as a CSV file: UTF-8 with a byte-order mark (Excel on Chinese Windows reads it as such),
    local times written `YYYY-MM-DD HH:MM`."""
    zone = ZoneInfo(tz)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(str(c.label)) for c in columns])
    for row in rows:
        values = []
        for c in columns:
            value = plain_value(row.get(c.key), zone, c.personal, reveal_personal)
            if isinstance(value, dt.datetime):
                value = value.strftime("%Y-%m-%d %H:%M")
            values.append("" if value is None else value)
        writer.writerow(values)
    return out.getvalue().encode("utf-8")


def download(body: bytes, filename: str, mimetype: str = XLSX_MIMETYPE, *, personal_rows: int | None = None,
             module: str | None = None) -> Any:
    """A Flask response that downloads `body` and is never cached (it may hold personal data).

    A file with personal data says how many rows it holds (`personal_rows`): it is then recorded in the
    district's audit log (`export.personal`: who, when, from which address, which file, how many rows, with
    which query) before it leaves, whether the personal data in it is masked or not.
    """
    from flask import g, make_response, request

    if personal_rows is not None:
        from saas import audit, db

        audit.record(db.session(), g.get("user"), "export.personal", "export", filename[:64], module=module,
                     after={"file": filename, "rows": personal_rows, "query": request.query_string.decode()[:500]},
                     ip=request.remote_addr)
        db.session.commit()

    response = make_response(body)
    response.headers["Content-Type"] = mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


__all__ = ["CSV_MIMETYPE", "DATE_FORMAT", "EXPORT_MAX_ROWS", "PERCENT_FORMAT", "XLSX_MIMETYPE", "Column",
           "ExportBook", "ExportSheet", "Styled", "TooManyRows", "check_row_count", "download", "neutralise",
           "plain_value", "write_csv"]
