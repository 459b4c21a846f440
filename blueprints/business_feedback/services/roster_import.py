"""A batch of supervisors from CSV/XLSX through the kernel's import contract (`saas.imports`, the kind `SUPERVISORS`
declared in the manifest; the kernel's import page and API are its doors).

Each row names a person (name and mobile number: a new account, or the district's person who already has that
number), the kind (the district's list, by name or code), the source group (by its Chinese name), and optionally
sector, area (a street or community, by name or code), batch and term. The check asks the database once per file
and names every bad row; the writer appoints every row through `roster.appoint_supervisor`, the one way a
supervisor is appointed (role, certificate number, audit), in the caller's transaction: all rows or none.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from blueprints.business_feedback.models import Supervisor
from blueprints.business_feedback.schemas import SupervisorIn
from blueprints.business_feedback.services import roster
from blueprints.business_feedback.services.base import settings, today
from blueprints.business_feedback.services.lists import list_kinds
from saas.actors import ServiceError
from saas.imports import Checked, ImportColumn, ImportContext, ImportKind, RawRow, load_row, row_error
from tenants.models import OrgUnit, User

KIND = "business_feedback.supervisors"
MAX_ROWS = 1000
COLUMNS = (
    ImportColumn("name", _l("Full name"), "姓名", ("名字", "name")),
    ImportColumn("phone", _l("Mobile number"), "手机号", ("手机", "手机号码", "电话", "phone")),
    ImportColumn("kind_code", _l("Kind"), "类别", ("监督员类别", "类型", "kind")),
    ImportColumn("source_group", _l("Source group"), "来源", ("界别", "来源群体", "source_group")),
    ImportColumn("sector", _l("Sector"), "行业", ("所在行业", "sector"), required=False),
    ImportColumn("area_code", _l("Area"), "区域", ("所在区域", "街道社区", "area"), required=False),
    ImportColumn("batch", _l("Batch"), "批次", ("batch",), required=False),
    ImportColumn("term_start", _l("Term starts"), "任期开始", ("聘期开始", "term_start"), required=False),
    ImportColumn("term_end", _l("Term ends"), "任期结束", ("聘期结束", "term_end"), required=False),
)


def _lookup(rows: list[tuple[str, str]]) -> dict[str, str]:
    """Names and codes, as written in a file, to codes."""
    found: dict[str, str] = {}
    for code, name in rows:
        found.setdefault(name.strip(), code)
        found.setdefault(code.strip().lower(), code)
    return found


def check_rows(session: so.Session, context: ImportContext, raw_rows: list[RawRow]) -> Checked:
    """Each row through the supervisor schema, with kind, source group and area read by their names; a phone
    given twice in the file, or of a person already in a term covering these dates, is refused by line."""
    checked = Checked(KIND, raw_rows, [], [])
    labels = {c.key: c.label for c in COLUMNS}
    kinds = _lookup([(k.code, k.name) for k in list_kinds(session, active_only=True)])
    groups = _lookup([(key, str(label)) for key, label in roster.SOURCE_GROUP_LABELS.items()])
    areas = _lookup([(u.code, u.name) for u in session.scalars(sa.select(OrgUnit).where(
        OrgUnit.kind.in_(("district", "street", "community"))))])
    staff = {u.phone: u.id for u in session.scalars(sa.select(User).where(User.kind == "staff",
                                                                          User.phone.is_not(None)))}
    residents = set(session.scalars(sa.select(User.phone).where(User.kind != "staff", User.phone.is_not(None))))
    day, years = today(session, context.tenant), settings(session)["term_years"]
    terms: dict[int, list[tuple[Any, Any]]] = {}
    for user_id, start, end in session.execute(sa.select(Supervisor.user_id, Supervisor.term_start, Supervisor.term_end)
                                               .where(Supervisor.dismissed_on.is_(None))):
        terms.setdefault(user_id, []).append((start, end))
    seen: dict[str, int] = {}
    schema = SupervisorIn()
    for line, raw in raw_rows:
        raw = dict(raw)
        problems: list[tuple[str, str]] = []
        for key, lookup, message in (
                ("kind_code", kinds, _("Not one of the district's kinds of supervisor.")),
                ("source_group", groups, _("Not one of the source groups: %(list)s.", list="、".join(
                    str(v) for v in roster.SOURCE_GROUP_LABELS.values()))),
                ("area_code", areas, _("No street or community of the district has this name or code."))):
            value = (raw.get(key) or "").strip()
            if value:
                code = lookup.get(value) or lookup.get(value.lower())
                if code is None:
                    problems.append((key, message))
                raw[key] = code or value
        data, errors = load_row(schema, COLUMNS, raw)
        problems += [(key, " ".join(map(str, messages))) for key, messages in errors.items()
                     if key not in {k for k, _m in problems}]
        if data is not None and not problems:
            phone = data.get("phone")
            start = data.get("term_start") or day
            end = data.get("term_end") or roster.term_end_for(start, years)
            if phone is None:
                problems.append(("phone", _("A new supervisor signs in with their mobile number.")))
            elif phone in seen:
                problems.append(("phone", _("The same number is on line %(line)s.", line=seen[phone])))
            elif phone in residents:
                problems.append(("phone", _("This number belongs to a resident's account, not to staff.")))
            elif end < start:
                problems.append(("term_end", _("The term cannot end before it starts.")))
            elif any(s <= end and e >= start for s, e in terms.get(staff.get(phone, -1), ())):
                problems.append(("phone", _("This person already has a term in these dates.")))
            else:
                seen[phone] = line
                if phone in staff:  # the district's person already: appointed, not made again
                    data = {**data, "user_id": staff[phone]}
        for key, message in problems:
            checked.errors.append(row_error(line, labels.get(key, key), message))
        if not problems and data is not None:
            checked.rows.append((line, data))
    checked.counts = {"supervisors": len(checked.rows)}
    return checked


def write_rows(session: so.Session, context: ImportContext, checked: Checked) -> dict[str, Any]:
    """Every checked row appointed (each audited, each with the next certificate number): all or nothing."""
    appointed = []
    for line, data in checked.rows:
        try:
            appointed.append(roster.appoint_supervisor(session, context.tenant, context.actor, data))
        except ServiceError as err:
            # the district changed between the check and the write: name the line, write nothing
            raise ServiceError({"file": _("Line %(line)s: %(message)s", line=line,
                                          message=" ".join(str(v) for v in err.errors.values()))}) from err
    return {"supervisors": len(appointed), "ids": [str(s.id) for s in appointed]}


SUPERVISORS = ImportKind(KIND, _l("Supervisors (a batch)"), "business_feedback.roster", COLUMNS, check_rows,
                         write_rows, row_schema=SupervisorIn, max_rows=MAX_ROWS, max_bytes=2 * 1024 * 1024,
                         header_rows=5)
