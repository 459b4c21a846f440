"""Registry import: a district's list of elderly residents from a CSV or XLSX file, all or nothing.

A kind of the kernel's import contract (`saas.imports`, declared in the manifest): the kernel reads the file, finds
its header by Chinese names, stages it between preview and confirmation and refuses a file with any bad row. Each
row goes through the schema the form and the API use (`PersonIn`: a resident ID number with its check digit, a
contact with a phone) and the rules of `register_person` (the ID number agreeing with the birth date and sex, the
age, the grid worker working in the resident's grid); the grids, places, workers and residents already registered
are read once per file. The writer registers each row with `register_person` itself, so a row that went bad
since the preview stops the whole file.
"""

from __future__ import annotations

import re
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from stdnum.cn import ric

from blueprints.elderly_visits import services
from blueprints.elderly_visits.models import CATEGORIES, ElderlyPerson
from blueprints.elderly_visits.schemas import PersonIn
from saas.actors import Actor, Refused, ServiceError
from saas.imports import Checked, ImportColumn, ImportContext, ImportKind, RawRow, RowError, row_error
from saas.schemas import resident_id
from tenants.models import OrgUnit, RoleGrant, User

KIND = "elderly_visits.registry"
MAX_ROWS = 5000
COLUMNS = (
    ImportColumn("name", _l("Name"), "姓名", ("老人姓名", "name")),
    ImportColumn("id_number", _l("Resident ID number"), "身份证号", ("身份证号码", "公民身份号码", "id_number")),
    ImportColumn("sex", _l("Sex"), "性别", ("sex",), required=False),
    ImportColumn("phone", _l("Phone"), "联系电话", ("电话", "手机号", "phone"), required=False),
    ImportColumn("grid", _l("Grid"), "网格", ("网格编码", "所属网格", "grid"), required=True),
    ImportColumn("place", _l("Compound or building"), "小区楼栋编码", ("楼栋编码", "place"), required=False),
    ImportColumn("room", _l("Room"), "房号", ("门牌", "room"), required=False),
    ImportColumn("address", _l("Address"), "地址", ("住址", "address"), required=False),
    ImportColumn("categories", _l("Categories"), "类别", ("人员类别", "categories"), required=False),
    ImportColumn("living", _l("Living situation"), "居住情况", ("living",), required=False),
    ImportColumn("conditions", _l("Health"), "健康状况", ("慢性病", "conditions"), required=False),
    ImportColumn("care_notes", _l("Care notes"), "照护备注", ("备注", "care_notes"), required=False),
    ImportColumn("worker", _l("Grid worker"), "网格员", ("网格员账号", "网格员手机号", "worker")),
    ImportColumn("contact_name", _l("Emergency contact"), "紧急联系人", ("联系人", "contact_name"), required=False),
    ImportColumn("contact_relation", _l("Relation"), "联系人关系", ("关系", "contact_relation"), required=False),
    ImportColumn("contact_phone", _l("Emergency contact's phone"), "紧急联系人电话", ("联系人电话", "contact_phone"),
                 required=False),
    ImportColumn("consent", _l("Consent"), "本人同意", ("同意登记", "consent")),
)
# the words a district's list uses for the categories (the issue's, and the keys)
CATEGORY_WORDS = {"空巢": "empty_nest", "独居": "alone", "高龄": "very_old", "失能": "disabled",
                  "行动不便": "disabled", "失能/行动不便": "disabled", "术后康复": "post_surgery", "低保": "low_income",
                  "特困": "low_income", "低保/特困": "low_income", "重点关注": "watch", **{c: c for c in CATEGORIES}}
SEX_WORDS = {"男": "m", "女": "f", "m": "m", "f": "f"}
YES = {"是", "同意", "已同意", "yes", "y", "1", "true"}
LABELS = {c.key: c.label for c in COLUMNS} | {
    "id_number": _l("Resident ID number"), "grid_code": _l("Grid"), "place_code": _l("Compound or building"),
    "worker_id": _l("Grid worker"), "birth_date": _l("Birth date"), "consent": _l("Consent"),
    "contacts": _l("Emergency contact's phone")}


def _split(text: str) -> list[str]:
    return [w.strip() for w in re.split(r"[、,，;；/\s]+", text) if w.strip()]


def check_rows(session: so.Session, context: ImportContext, raw_rows: list[RawRow]) -> Checked:
    """Every row against the schema, the identity rules and the district as it is now (a few queries per file)."""
    actor: Actor = context.actor
    today = services.today_in(context.tenant)
    grid_words = {raw.get("grid", "") for _line, raw in raw_rows} - {""}
    grids = {}
    if grid_words:
        for unit in session.scalars(sa.select(OrgUnit).where(
                OrgUnit.kind == "grid", sa.or_(OrgUnit.code.in_(grid_words), OrgUnit.name.in_(grid_words)))):
            grids[unit.code] = grids[unit.name] = unit
    place_codes = {raw.get("place", "") for _line, raw in raw_rows} - {""}
    places = {u.code: u for u in session.scalars(sa.select(OrgUnit).where(OrgUnit.code.in_(place_codes)))} \
        if place_codes else {}
    worker_words = {raw.get("worker", "") for _line, raw in raw_rows} - {""}
    workers: dict[str, int] = {}
    if worker_words:
        for user_id, username, phone in session.execute(sa.select(User.id, User.username, User.phone).where(
                User.active.is_(True), sa.or_(User.username.in_(worker_words), User.phone.in_(worker_words)))):
            for word in (username, phone):
                if word:
                    workers[word] = user_id
    roles = services.roles_with(actor, "elderly_visits.visit")
    grid_ids = {u.id for u in grids.values()}
    visitors: set[tuple[int, int]] = {(unit, user) for unit, user in session.execute(
        sa.select(RoleGrant.org_unit_id, RoleGrant.user_id).where(
            RoleGrant.org_unit_id.in_(grid_ids), RoleGrant.role.in_(roles)))} if grid_ids else set()
    numbers = {n for n in (resident_id(raw.get("id_number", "")) for _line, raw in raw_rows) if n}
    registered = set(session.scalars(sa.select(ElderlyPerson.id_number).where(
        ElderlyPerson.id_number.in_(numbers)))) if numbers else set()

    checked = Checked(KIND, raw_rows, [], [])
    seen: dict[str, int] = {}
    for line, raw in raw_rows:
        errors: list[RowError] = []

        def bad(key: str, message: str, line: int = line, errors: list[RowError] = errors) -> None:
            errors.append(row_error(line, LABELS.get(key, key), message))

        number = resident_id(raw.get("id_number", ""))
        grid = grids.get(raw.get("grid", ""))
        if grid is None:
            bad("grid", _("No grid in this district is called or coded “%(grid)s”.", grid=raw.get("grid", "")))
        elif not actor.may("elderly_visits.manage", grid):
            bad("grid", _("You may not register residents in this grid."))
        worker_id = workers.get(raw.get("worker", ""))
        if worker_id is None:
            bad("worker", _("No active staff member has the username or phone “%(who)s”.", who=raw.get("worker", "")))
        elif grid is not None and (grid.id, worker_id) not in visitors:
            bad("worker", _("Choose a grid worker of the resident's grid."))
        place = raw.get("place", "")
        if place and (place not in places or places[place].kind not in services.PLACE_KINDS
                      or grid is None or not places[place].path.startswith(grid.path)):
            bad("place", _("Choose a compound, building or unit of the resident's grid."))
        categories = []
        for word in _split(raw.get("categories", "")):
            if word not in CATEGORY_WORDS:
                bad("categories", _("Unknown category “%(name)s”.", name=word))
            else:
                categories.append(CATEGORY_WORDS[word])
        sex = SEX_WORDS.get(raw.get("sex", "").strip().lower(), "") if raw.get("sex") else (
            services.sex_of(number) if number else "")
        if raw.get("sex") and not sex:
            bad("sex", _("Write 男 or 女."))
        contact = {k: raw.get(f"contact_{k}", "") for k in ("name", "relation", "phone")}
        if (contact["name"] or contact["relation"]) and not contact["phone"]:
            bad("contact_phone", _("An emergency contact needs a phone number."))
        values: dict[str, Any] = {
            "name": raw.get("name", ""), "sex": sex or "f", "id_number": raw.get("id_number", ""),
            "birth_date": ric.get_birth_date(number).isoformat() if number else "2000-01-01",
            "phone": raw.get("phone") or None, "grid_code": grid.code if grid else "x",
            "place_code": place, "room": raw.get("room", ""), "address": raw.get("address", ""),
            "categories": categories, "living": raw.get("living", ""), "conditions": raw.get("conditions", ""),
            "care_notes": raw.get("care_notes", ""), "worker_id": str(worker_id or 1),
            "consent": raw.get("consent", "").strip().lower() in YES,
            "contacts": [contact] if any(contact.values()) else []}
        try:
            data = PersonIn().load(values)
        except ma.ValidationError as err:
            data = None
            for field, messages in err.messages.items():  # type: ignore[union-attr]
                if field == "contacts" and isinstance(messages, dict):
                    flat = [str(m) for fields in messages.values() for ms in
                            (fields.values() if isinstance(fields, dict) else [fields]) for m in
                            (ms if isinstance(ms, list) else [ms])]
                    if not any(e.message.endswith(str(_("An emergency contact needs a phone number.")))
                               for e in errors):
                        bad("contact_phone", " ".join(flat))
                    continue
                bad(field, " ".join(map(str, messages)) if isinstance(messages, list) else str(messages))
        if number:
            for key, message in services.identity_errors(number, ric.get_birth_date(number), sex or "",
                                                         today).items():
                if key == "sex" and not raw.get("sex"):
                    continue
                bad("id_number" if key == "birth_date" else key, message)
            if number in registered:
                bad("id_number", _("This resident is already on the registry."))
            elif number in seen:
                bad("id_number", _("The same resident is on line %(line)s too.", line=seen[number]))
            seen.setdefault(number, line)
        if errors or data is None:
            checked.errors.extend(errors)
            continue
        data["backup_worker_id"] = None
        data["frequency_days"] = None
        checked.rows.append((line, data))
    return checked


def write_rows(session: so.Session, context: ImportContext, checked: Checked) -> dict[str, Any]:
    """Register every checked row in the caller's transaction, through `register_person`: all or nothing."""
    if not context.actor.may("elderly_visits.manage"):
        raise Refused(_("You may not register residents."), 403)
    if not checked.ok:
        raise ServiceError({"file": _("Fix the file first: nothing was imported.")})
    people = []
    for line, data in checked.rows:
        try:
            people.append(services.register_person(session, context.tenant, context.actor, data))
        except ServiceError as err:
            message = "; ".join(str(v) for v in err.errors.values())
            raise ServiceError({"file": _("Line %(line)s: %(message)s", line=line, message=message)}) from None
    return {"people": len(people), "ids": [str(p.id) for p in people]}


REGISTRY = ImportKind(KIND, _l("Elderly residents"), "elderly_visits.manage", COLUMNS, check_rows, write_rows,
                      max_rows=MAX_ROWS, header_rows=5)
