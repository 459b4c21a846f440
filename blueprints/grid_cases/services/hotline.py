"""Hotline import: tickets of the 12345 hotline (or any call centre) from a CSV or XLSX export become cases.

A kind of the kernel's import contract (`saas.imports`, `HOTLINE` declared in the manifest): the kernel reads
the file (UTF-8 or GBK CSV, XLSX), finds its header by Chinese or English names and stages it; every row is
checked with the same schema a staff report uses (`CaseIn`) and the same rules (`report_case`): a row that
fails names its line, and then nothing is written.
A ticket already imported (the same ticket number, kept as the case's `source_ref`) is skipped, so the same
export can be imported again after a failed or partial day without doubling a case.
"""

from __future__ import annotations

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
from saas import imports as kernel_imports
from saas.imports import Checked, ImportColumn, ImportContext, ImportKind, RawRow, RowError
from tenants.models import OrgUnit, Tenant

MAX_ROWS = 2000
MAX_BYTES = 5 * 1024 * 1024  # a file larger than this is refused before it is read (page and API)


KIND = "grid_cases.hotline"
COLUMNS = (
    ImportColumn("ticket", _l("Ticket number"), "工单号", ("工单编号", "ticket")),
    ImportColumn("category", _l("Category"), "问题分类", ("分类", "类别", "category"), required=False),
    ImportColumn("location", _l("Location code"), "位置编码", ("网格编码", "地点编码", "location"), required=False),
    ImportColumn("address", _l("Address"), "地址", ("事发地址", "address"), required=False),
    ImportColumn("description", _l("Description"), "诉求内容", ("问题描述", "内容", "description")),
    ImportColumn("name", _l("Caller"), "来电人", ("联系人", "姓名", "name"), required=False),
    ImportColumn("phone", _l("Phone"), "联系电话", ("来电号码", "手机号", "phone")),
    ImportColumn("urgency", _l("Urgency"), "紧急程度", ("urgency",), required=False),
)
URGENT_WORDS = {"紧急", "加急", "急", "urgent", "yes", "1"}


def check_file(session: so.Session, data: bytes, filename: str = "") -> tuple[list[RawRow], Checked]:
    """Read and check an export through the kernel's contract: (its raw rows, the check)."""
    checked = kernel_imports.check_file(session, HOTLINE, ImportContext(None, None, filename=filename), data,
                                        max_rows=MAX_ROWS)
    return checked.raw, checked


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
    checked = Checked(KIND, raw_rows, [], [])
    seen: set[str] = set()
    labels = {"reporter_phone": _l("Phone"), "description": _l("Description"), "source_ref": _l("Ticket number"),
              "address": _l("Address"), "reporter_name": _l("Caller")}
    for line, raw in raw_rows:
        ticket = raw.get("ticket", "")
        if ticket and ticket in existing:
            checked.skipped.append((line, ticket))
            continue
        if ticket in seen:
            checked.errors.append(RowError(line, _("Ticket %(ticket)s appears twice in the file.", ticket=ticket)))
            continue
        seen.add(ticket)
        # a ticket without a category goes to 其他 (other) when the district keeps that category
        category = categories.get(raw.get("category") or "other", "")
        if not category:
            checked.errors.append(RowError(line, _("Unknown category “%(name)s”.", name=raw.get("category") or "")))
            continue
        if raw.get("location") and raw["location"] not in known_codes:
            checked.errors.append(RowError(line, _("No grid, compound or building has the code %(code)s.",
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
                checked.errors.append(RowError(line, f"{labels.get(field, field)}: {text}"))
            continue
        if not data.get("source_ref"):
            checked.errors.append(RowError(line, _("The ticket number is missing.")))
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


def _check_kind(session: so.Session, context: ImportContext, raw_rows: list[RawRow]) -> Checked:
    return check_rows(session, raw_rows)


def _write_kind(session: so.Session, context: ImportContext, checked: Checked) -> dict[str, Any]:
    cases = import_rows(session, context.tenant, context.actor, checked, filename=context.filename)
    return {"cases": [c.number for c in cases], "skipped": len(checked.skipped)}


HOTLINE = ImportKind(KIND, _l("Hotline tickets"), "grid_cases.import", COLUMNS, _check_kind, _write_kind,
                     row_schema=CaseIn, max_rows=MAX_ROWS, max_bytes=MAX_BYTES, header_rows=5)
