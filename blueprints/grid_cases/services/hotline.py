"""Hotline import: tickets of the 12345 hotline (or any call centre) from a CSV or XLSX export become cases.

The file is read with the kernel's import reader (`tenants.imports.read_table`: UTF-8 or GBK CSV, XLSX), its
header found by Chinese or English names, and every row checked with the same schema a staff report uses
(`CaseIn`) and the same rules (`report_case`): a row that fails names its line, and then nothing is written.
A ticket already imported (the same ticket number, kept as the case's `source_ref`) is skipped, so the same
export can be imported again after a failed or partial day without doubling a case.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from blueprints.grid_cases.models import CaseCategory, GridCase
from blueprints.grid_cases.schemas import CaseIn
from blueprints.grid_cases.services.base import MODULE, Actor, Refused, ServiceError
from saas import audit
from tenants.imports import ImportFileError, read_table
from tenants.models import OrgUnit, Tenant

MAX_ROWS = 2000
MAX_BYTES = 5 * 1024 * 1024  # a file larger than this is refused before it is read (page and API)


@dataclasses.dataclass(frozen=True)
class Column:
    key: str
    label: Any
    names: tuple[str, ...]  # the header's names, Chinese first
    required: bool = False


COLUMNS = (
    Column("ticket", _l("Ticket number"), ("工单号", "工单编号", "ticket"), required=True),
    Column("category", _l("Category"), ("问题分类", "分类", "类别", "category")),
    Column("location", _l("Location code"), ("位置编码", "网格编码", "地点编码", "location")),
    Column("address", _l("Address"), ("地址", "事发地址", "address")),
    Column("description", _l("Description"), ("诉求内容", "问题描述", "内容", "description"), required=True),
    Column("name", _l("Caller"), ("来电人", "联系人", "姓名", "name")),
    Column("phone", _l("Phone"), ("联系电话", "来电号码", "手机号", "phone"), required=True),
    Column("urgency", _l("Urgency"), ("紧急程度", "urgency")),
)
URGENT_WORDS = {"紧急", "加急", "急", "urgent", "yes", "1"}


@dataclasses.dataclass
class Checked:
    rows: list[tuple[int, dict[str, Any]]]  # (line, CaseIn data) ready to report
    skipped: list[tuple[int, str]]  # (line, ticket) already imported
    errors: list[tuple[int, str]]  # (line, message)

    @property
    def ok(self) -> bool:
        return not self.errors


def _header(table: list[tuple[int, list[str]]]) -> tuple[int, dict[str, int]]:
    """The first of the first five rows that names every required column: its line and the column positions."""
    wanted = {name.strip().lower(): c.key for c in COLUMNS for name in c.names}
    for index, (_line, cells) in enumerate(table[:5]):
        found = {wanted[cell.strip().lower()]: i for i, cell in enumerate(cells) if cell.strip().lower() in wanted}
        if all(c.key in found for c in COLUMNS if c.required):
            return index, found
    names = "、".join(str(c.names[0]) for c in COLUMNS if c.required)
    raise ImportFileError(_("No header row names the columns %(names)s.", names=names))


def read_file(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """The export's ticket rows as (line, {column key: text}); raises ImportFileError for an unreadable file."""
    table = read_table(data)
    index, positions = _header(table)
    body = table[index + 1:]
    if len(body) > MAX_ROWS:
        raise ImportFileError(_("At most %(n)s tickets at once. Split the file.", n=MAX_ROWS))
    return [(line, {key: (cells[pos].strip() if pos < len(cells) else "") for key, pos in positions.items()})
            for line, cells in body]


def check_file(session: so.Session, data: bytes) -> tuple[list[tuple[int, dict[str, str]]], Checked]:
    raw_rows = read_file(data)
    return raw_rows, check_rows(session, raw_rows)


def check_rows(session: so.Session, raw_rows: list[tuple[int, dict[str, str]]]) -> Checked:
    """Every row checked against the district as it is now (one query per kind of look-up, not per row)."""
    active = list(session.scalars(sa.select(CaseCategory).where(CaseCategory.active)))
    categories = {c.code: c.code for c in active} | {c.name: c.code for c in active}
    tickets = [raw.get("ticket", "") for _line, raw in raw_rows]
    existing: set[str | None] = set()
    for start in range(0, len(tickets), 500):
        chunk = [t for t in tickets[start:start + 500] if t]
        existing |= set(session.scalars(sa.select(GridCase.source_ref).where(
            GridCase.source == "hotline", GridCase.source_ref.in_(chunk))))
    codes = {raw["location"] for _line, raw in raw_rows if raw.get("location")}
    known_codes = set(session.scalars(sa.select(OrgUnit.code).where(OrgUnit.code.in_(codes)))) if codes else set()
    checked = Checked([], [], [])
    seen: set[str] = set()
    labels = {"reporter_phone": _l("Phone"), "description": _l("Description"), "source_ref": _l("Ticket number"),
              "address": _l("Address"), "reporter_name": _l("Caller")}
    for line, raw in raw_rows:
        ticket = raw.get("ticket", "")
        if ticket and ticket in existing:
            checked.skipped.append((line, ticket))
            continue
        if ticket in seen:
            checked.errors.append((line, _("Ticket %(ticket)s appears twice in the file.", ticket=ticket)))
            continue
        seen.add(ticket)
        # a ticket without a category goes to 其他 (other) when the district keeps that category
        category = categories.get(raw.get("category") or "other", "")
        if not category:
            checked.errors.append((line, _("Unknown category “%(name)s”.", name=raw.get("category") or "")))
            continue
        if raw.get("location") and raw["location"] not in known_codes:
            checked.errors.append((line, _("No grid, compound or building has the code %(code)s.",
                                           code=raw["location"])))
            continue
        values = {"category_code": category, "location_code": raw.get("location") or None,
                  "address": raw.get("address", ""), "description": raw.get("description", ""),
                  "reporter_name": raw.get("name", ""), "reporter_phone": raw.get("phone") or None,
                  "urgency": "urgent" if raw.get("urgency", "").lower() in URGENT_WORDS else "normal",
                  "source": "hotline", "source_ref": ticket or None}
        try:
            data = CaseIn().load(values)
        except ma.ValidationError as err:
            for field, messages in err.messages.items():  # type: ignore[union-attr]
                text = " ".join(map(str, messages)) if isinstance(messages, list) else str(messages)
                checked.errors.append((line, f"{labels.get(field, field)}: {text}"))
            continue
        if not data.get("source_ref"):
            checked.errors.append((line, _("The ticket number is missing.")))
            continue
        checked.rows.append((line, data))
    return checked


def import_rows(session: so.Session, tenant: Tenant, actor: Actor, checked: Checked, *, filename: str = ""
                ) -> list[GridCase]:
    """Report every checked row as a hotline case, in the caller's transaction: all or nothing."""
    from blueprints.grid_cases.services.cases import report_case

    if not actor.may("grid_cases.import"):
        raise Refused(_("You may not import hotline tickets."), 403)
    if not checked.ok:
        raise ServiceError({"file": _("Fix the file first: nothing was imported.")})
    cases = []
    for line, data in checked.rows:
        try:
            cases.append(report_case(session, tenant, actor, data, source="hotline", source_ref=data["source_ref"]))
        except ServiceError as err:
            message = "; ".join(f"{v}" for v in err.errors.values())
            raise ServiceError({"file": _("Line %(line)s: %(message)s", line=line, message=message)}) from None
    audit.record(session, actor.user, "grid_cases.hotline.import", "grid_cases_import", filename[:60],
                 after={"cases": len(cases), "skipped": len(checked.skipped)}, module=MODULE)
    return cases
