"""Import of the org tree and of staff from CSV and XLSX: the kernel's two kinds of import (`saas.imports`).

The kernel's contract reads the file, finds the header, stages it and names every bad row; this file holds
what is particular to these two kinds: their columns, their checkers and their writers (`IMPORT_KINDS`).

Every row is checked with the services' own rules (`org_unit_errors`, `staff_errors`, `role_errors`) and
the form schemas' fields (`Phone`, `Text`), fed with what the database already holds. That is loaded
once per file, for the codes, phones and usernames the file names, never once per row. Writing is a
handful of batched flushes in the caller's transaction, with one audit entry for the whole import.

Nothing here reads request globals: the pages, the API and the tests call the same functions, with the
session bound to the tenant, the role book and the actor passed in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from saas import audit
from saas import imports as kernel_imports
from saas.auth import hash_password
from saas.exports import Column as ExportColumn
from saas.exports import ExportBook, write_csv
from saas.ids import new_id
from saas.imports import (  # noqa: F401 - the kernel's contract, named here as the org and staff doors know it
    MAX_BYTES,
    MAX_ROWS,
    MAX_UNPACKED_BYTES,
    STAGE_TTL,
    Checked,
    ImportContext,
    ImportFileError,
    ImportKind,
    RawRow,
    RowError,
    Table,
    claim,
    discard,
    header_index,
    load_row,
    map_columns,
    read_table,
    row_error,
    stage,
)
from saas.imports import ImportColumn as Column
from saas.imports import norm as _norm
from saas.permissions import RoleBook
from saas.schemas import Phone, Schema, Text, mask_phone
from tenants import services
from tenants.models import ORG_KIND_LABELS, ORG_PARENTS, OrgUnit, RoleGrant, User
from tenants.views import OrgUnitForm

KINDS = ("org", "staff")
PERMISSION = {"org": "org.manage", "staff": "people.manage"}
_IN_CHUNK = 500  # values per IN (...) when asking the database what it already holds


# --- columns --------------------------------------------------------------------------------------


COLUMNS: dict[str, tuple[Column, ...]] = {
    "org": (
        Column("kind", _l("Kind"), "类型", ("type", "单位类型", "层级", "级别")),
        Column("code", _l("Code"), "编码", ("代码", "单位编码", "编号")),
        Column("name", _l("Name"), "名称", ("单位名称",)),
        Column("parent_code", _l("Parent code"), "上级编码", ("parent", "上级代码", "上级单位编码", "上级")),
        Column("households", _l("Households"), "户数", ("住户数",), required=False),
    ),
    "staff": (
        Column("name", _l("Name"), "姓名", ("名字",)),
        Column("phone", _l("Mobile number"), "手机号", ("mobile", "手机", "手机号码", "电话", "联系电话"),
               required=False),
        Column("username", _l("Username"), "用户名", ("账号", "登录名", "登录账号"), required=False),
        Column("role", _l("Role"), "角色", ("岗位",)),
        Column("unit_code", _l("Unit code"), "所属单位编码", ("unit", "单位编码", "所属单位代码")),
        Column("password", _l("Password"), "初始密码", ("密码",), required=False),
    ),
}

# what people write for a kind of unit in a district's spreadsheet; the keys themselves always count
KIND_NAMES: dict[str, tuple[str, ...]] = {
    "district": ("区", "县", "区县"),
    "street": ("街道", "乡镇", "镇", "乡", "街道办", "街道办事处"),
    "community": ("社区", "村", "居委会", "村委会"),
    "grid": ("网格",),
    "compound": ("小区", "院落"),
    "building": ("楼栋", "楼", "栋"),
    "unit": ("单元",),
    "department": ("部门", "职能部门"),
    "section": ("科室", "股室"),
}
# the kernel roles' everyday Chinese names; module roles are matched by their names in both languages
ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "district_admin": ("区管理员", "区级管理员", "管理员"),
    "business_office": ("营商办", "营商环境办公室", "营商环境办"),
    "discipline_commission": ("纪委", "纪委监委"),
    "dept_handler": ("部门经办人", "部门办理人", "部门工作人员"),
    "street_officer": ("街道干部", "街道工作人员"),
    "community_cadre": ("社区干部", "社区工作人员", "村干部"),
    "grid_leader": ("网格长",),
    "grid_worker": ("网格员",),
    "supervisor": ("监督员",),
    "rater": ("评议人", "评议员"),
    "resident": ("居民",),
}

def _header_index(kind: str) -> dict[str, str]:
    return header_index(COLUMNS[kind])


def kind_names() -> dict[str, str]:
    index: dict[str, str] = {}
    for key, names in KIND_NAMES.items():
        for name in (key, *names):
            index.setdefault(_norm(name), key)
    return index


def role_names(book: RoleBook) -> dict[str, str]:
    """Every way a role may be written: its key, the kernel's Chinese names, its name in each language."""
    index = {_norm(key): key for key in book.roles}
    for key, names in ROLE_NAMES.items():
        if key in book.roles:
            for name in names:
                index.setdefault(_norm(name), key)
    for locale in ("zh_CN", "en"):
        with force_locale(locale):
            for key, role in book.roles.items():
                index.setdefault(_norm(str(role.name)), key)
    return index


def _choices(names: dict[str, tuple[str, ...]], keys: Iterable[str]) -> str:
    return ", ".join(f"{names[k][0]}/{k}" if names.get(k) else k for k in keys)


# --- checking -------------------------------------------------------------------------------------


def _label(kind: str, key: str) -> str:
    return str(next(c.label for c in COLUMNS[kind] if c.key == key))


def _load(schema: ma.Schema, kind: str, raw: dict[str, str]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """One row through the form's schema (the kernel's `load_row`)."""
    return load_row(schema, COLUMNS[kind], raw)


def _field_error(line: int, kind: str, field: str, message: str) -> RowError:
    return row_error(line, _label(kind, field), message)


def _in_chunks(session: so.Session, stmt_for: Any, values: Iterable[str]) -> list[Any]:
    values = sorted({v for v in values if v})
    out: list[Any] = []
    for i in range(0, len(values), _IN_CHUNK):
        out.extend(session.execute(stmt_for(values[i:i + _IN_CHUNK])).all())
    return out


class StaffForm(Schema):
    """A staff row: the unit named by its code, as spreadsheets carry it."""

    name = Text(required=True, max_length=80)
    phone = Phone(load_default=None)
    username = Text(load_default="", max_length=64)
    password = Text(load_default="", max_length=128)
    role = Text(required=True, max_length=40)
    unit_code = Text(required=True, max_length=64)


class OrgRow(OrgUnitForm):
    households = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=0, max=10_000_000))


def check_org(session: so.Session, raw_rows: list[RawRow]) -> Checked:
    """Check an org file: kinds, codes unique in the file and the district, parents that exist and fit."""
    schema = OrgRow()
    kinds = kind_names()
    mentioned = [r.get("code", "") for _, r in raw_rows] + [r.get("parent_code", "") for _, r in raw_rows]
    in_db = {
        code: (unit_id, kind, path)
        for code, unit_id, kind, path in _in_chunks(
            session, lambda chunk: sa.select(OrgUnit.code, OrgUnit.id, OrgUnit.kind, OrgUnit.path)
            .where(OrgUnit.code.in_(chunk)), mentioned,
        )
    }
    first_line = {}
    for line, raw in raw_rows:
        first_line.setdefault(raw.get("code", "").strip(), line)
    defined: dict[str, tuple[int, str | None]] = {}  # code -> (line, kind or None when that row's kind is bad)
    rows, errors = [], []
    counts: Counter[str] = Counter()
    for line, raw in raw_rows:
        data, field_errors = _load(schema, "org", raw)
        row_errors = [_field_error(line, "org", f, m) for f, msgs in field_errors.items() for m in msgs]
        kind_text = data.get("kind", raw.get("kind", "").strip())
        kind = kinds.get(_norm(kind_text), kind_text)
        code, name, parent_code = data.get("code", ""), data.get("name", ""), data.get("parent_code", "")
        taken_in_file = code in defined
        if taken_in_file:
            row_errors.append(RowError(line, _('Line %(line)s: code "%(code)s" is already used on line %(other)s.',
                                               line=line, code=code, other=defined[code][0])))
        parent_kind, parent_known = None, True
        if parent_code:
            if parent_code in defined:
                parent_kind = defined[parent_code][1]
                parent_known = parent_kind is not None
            elif parent_code in in_db:
                parent_kind = in_db[parent_code][1]
            elif parent_code in first_line and first_line[parent_code] > line:
                parent_known = False
                row_errors.append(RowError(line, _(
                    'Line %(line)s: parent code "%(code)s" is defined below, on line %(other)s; '
                    "put parents above their children.", line=line, code=parent_code, other=first_line[parent_code])))
            else:
                parent_known = False
                row_errors.append(RowError(line, _('Line %(line)s: parent code "%(code)s" does not exist.',
                                                   line=line, code=parent_code)))
        else:
            parent_known = False
        rules = services.org_unit_errors(kind=kind, code=code, name=name, parent_kind=parent_kind,
                                         code_taken=code in in_db)
        for field, message in rules.items():
            if field in field_errors or (field == "parent" and not parent_known):
                continue
            if field == "kind" and kind not in ORG_PARENTS:
                message = _('Line %(line)s: kind "%(kind)s" is not known; use one of: %(choices)s.', line=line,
                            kind=kind_text, choices=_choices(KIND_NAMES, (k for k in ORG_PARENTS if k != "district")))
                row_errors.append(RowError(line, message))
            elif field == "parent":
                row_errors.append(RowError(line, _(
                    "Line %(line)s: a %(kind)s cannot be placed under a %(parent_kind)s (%(code)s); "
                    "it belongs under: %(allowed)s.", line=line, kind=ORG_KIND_LABELS[kind],
                    parent_kind=ORG_KIND_LABELS.get(parent_kind or "", parent_kind), code=parent_code,
                    allowed=", ".join(str(ORG_KIND_LABELS[k]) for k in ORG_PARENTS[kind]))))
            else:
                row_errors.append(_field_error(line, "org", "parent_code" if field == "parent" else field, message))
        if code and not taken_in_file:
            defined[code] = (line, kind if kind in ORG_PARENTS else None)
        if kind in ORG_PARENTS:
            counts[kind] += 1
        if row_errors:
            errors.extend(row_errors)
            continue
        attrs = {"households": data["households"]} if data.get("households") is not None else {}
        rows.append({"line": line, "kind": kind, "code": code, "name": name, "parent_code": parent_code,
                     "attrs": attrs})
    ordered = {k: counts[k] for k in ORG_PARENTS if counts[k]}
    return Checked("org", raw_rows, rows, errors, ordered, known={"units": in_db})


def check_staff(session: so.Session, book: RoleBook, raw_rows: list[RawRow]) -> Checked:
    """Check a staff file: names, phones and usernames unique in the file and the district, roles, units."""
    schema = StaffForm()
    roles = role_names(book)
    loaded = [(line, raw, *_load(schema, "staff", raw)) for line, raw in raw_rows]
    phones = {p for *_, data, _e in loaded if (p := data.get("phone"))}
    usernames = {u for *_, data, _e in loaded if (u := data.get("username"))}
    unit_codes = {c for *_, data, _e in loaded if (c := data.get("unit_code"))}
    taken_phones = {p for (p,) in _in_chunks(session, lambda c: sa.select(User.phone).where(User.phone.in_(c)), phones)}
    taken_names = {u for (u,) in _in_chunks(
        session, lambda c: sa.select(User.username).where(User.username.in_(c)), usernames)}
    units = {code: (unit_id, kind) for code, unit_id, kind in _in_chunks(
        session, lambda c: sa.select(OrgUnit.code, OrgUnit.id, OrgUnit.kind).where(OrgUnit.code.in_(c)), unit_codes)}
    seen_phone: dict[str, int] = {}
    seen_username: dict[str, int] = {}
    rows, errors = [], []
    counts: Counter[str] = Counter()
    for line, _raw, data, field_errors in loaded:
        row_errors = [_field_error(line, "staff", f, m) for f, msgs in field_errors.items() for m in msgs]
        role_text = data.get("role", "")
        role = roles.get(_norm(role_text), role_text)
        if role_text and services.role_errors(book, role):
            row_errors.append(RowError(line, _('Line %(line)s: role "%(role)s" is not known; use one of: %(choices)s.',
                                               line=line, role=role_text, choices=_choices(ROLE_NAMES, book.roles))))
        unit_code = data.get("unit_code", "")
        if unit_code and unit_code not in units:
            row_errors.append(RowError(line, _('Line %(line)s: unit code "%(code)s" does not exist.', line=line,
                                               code=unit_code)))
        elif unit_code and role in book.roles and (fit := services.role_errors(book, role, units[unit_code][1])):
            row_errors.append(RowError(line, _("Line %(line)s: %(problem)s", line=line, problem=fit["unit"])))
        phone, username, password = data.get("phone"), data.get("username") or None, data.get("password") or None
        if phone and phone in seen_phone:
            row_errors.append(RowError(line, _("Line %(line)s: phone number %(phone)s is already used on line "
                                               "%(other)s.", line=line, phone=phone, other=seen_phone[phone])))
        if username and username in seen_username:
            row_errors.append(RowError(line, _('Line %(line)s: username "%(username)s" is already used on line '
                                               "%(other)s.", line=line, username=username,
                                               other=seen_username[username])))
        rules = services.staff_errors(phone=phone, username=username, password=password,
                                      phone_taken=phone in taken_phones, username_taken=username in taken_names)
        if "phone" in field_errors and not username:
            # a bad number is not a missing one: "give a username or a phone number" would only confuse
            rules.pop("username", None)
        for field, message in rules.items():
            if field not in field_errors:
                row_errors.append(_field_error(line, "staff", field, message))
        if phone:
            seen_phone.setdefault(phone, line)
        if username:
            seen_username.setdefault(username, line)
        if role in book.roles:
            counts[role] += 1
        if row_errors:
            errors.extend(row_errors)
            continue
        rows.append({"line": line, "name": data["name"], "phone": phone, "username": username, "password": password,
                     "role": role, "unit_code": unit_code})
    return Checked("staff", raw_rows, rows, errors, dict(counts), known={"units": units})


def check_rows(session: so.Session, book: RoleBook, kind: str, raw_rows: list[RawRow]) -> Checked:
    return check_org(session, raw_rows) if kind == "org" else check_staff(session, book, raw_rows)


def check_file(session: so.Session, book: RoleBook, kind: str, data: bytes, *, max_rows: int = MAX_ROWS,
               filename: str = "") -> Checked:
    """Read and check a file through the kernel's contract; raises ImportFileError when the file as a whole is
    unusable."""
    if kind not in KINDS:
        raise ValueError(kind)
    return kernel_imports.check_file(session, IMPORT_KINDS[kind], ImportContext(None, None, book, filename), data,
                                     max_rows=max_rows)


def map_rows(kind: str, table: list[tuple[int, list[str]]], *, max_rows: int = MAX_ROWS) -> Table:
    return map_columns(COLUMNS[kind], table, max_rows=max_rows)


# --- writing --------------------------------------------------------------------------------------


def write(session: so.Session, actor: Any, checked: Checked, *, filename: str = "", ip: str | None = None
          ) -> dict[str, Any]:
    """Write every checked row in the caller's transaction, with one audit entry; the caller commits.

    A unique constraint may still refuse a row another admin wrote since the check: the caller rolls
    back and nothing of the file remains.
    """
    if not checked.ok:
        raise ValueError("only a file without errors is written")
    summary = _write_org(session, checked) if checked.kind == "org" else _write_staff(session, checked)
    audit.record(session, actor, f"import.{checked.kind}", "import", checked.kind, ip=ip,
                 after={"file": filename[:200], "rows": len(checked.rows), "counts": checked.counts, **summary})
    session.flush()
    return {"rows": len(checked.rows), "counts": checked.counts, **summary}


def _write_org(session: so.Session, checked: Checked) -> dict[str, Any]:
    places = {code: (unit_id, path) for code, (unit_id, _kind, path) in checked.known["units"].items()}
    units = []
    for row in checked.rows:
        parent_id, parent_path = places[row["parent_code"]]
        unit = services.new_org_unit(kind=row["kind"], code=row["code"], name=row["name"], parent_id=parent_id,
                                     parent_path=parent_path, attrs=row["attrs"])
        places[row["code"]] = (unit.id, unit.path)
        units.append(unit)
    session.add_all(units)
    session.flush()
    return {"units": len(units)}


def _write_staff(session: so.Session, checked: Checked) -> dict[str, Any]:
    units = checked.known["units"]
    hashes: dict[str, str] = {}  # argon2 costs ~30 ms: once per distinct password, not once per row
    users, grants = [], []
    for row in checked.rows:
        password = row["password"]
        if password and password not in hashes:
            hashes[password] = hash_password(password)
        user = User(id=new_id(), name=row["name"], phone=row["phone"], username=row["username"], kind="staff",
                    password_hash=hashes.get(password) if password else None)
        users.append(user)
        grants.append(RoleGrant(user_id=user.id, role=row["role"], org_unit_id=units[row["unit_code"]][0]))
    session.add_all(users)
    session.flush()
    session.add_all(grants)
    session.flush()
    return {"people": len(users), "with_password": sum(1 for r in checked.rows if r["password"])}


# --- preview --------------------------------------------------------------------------------------


def preview_rows(checked: Checked, limit: int = 10) -> list[list[str]]:
    """The first rows as a person should see them: kinds and roles named, phones masked, passwords hidden."""
    out = []
    for _line, raw in checked.raw[:limit]:
        cells = []
        for col in COLUMNS[checked.kind]:
            value = raw.get(col.key, "")
            if col.key == "phone":
                value = mask_phone(value)
            elif col.key == "password":
                value = "••••" if value else ""
            cells.append(value)
        out.append(cells)
    return out


def count_labels(checked: Checked, book: RoleBook) -> list[tuple[str, int]]:
    if checked.kind == "org":
        return [(str(ORG_KIND_LABELS[k]), n) for k, n in checked.counts.items()]
    return [(str(book.roles[k].name), n) for k, n in checked.counts.items()]


# --- templates ------------------------------------------------------------------------------------


def template_rows(kind: str, district_code: str) -> tuple[list[str], list[list[str]]]:
    """The template's Chinese headers and two example rows that import as they are."""
    headers = [c.header for c in COLUMNS[kind]]
    if kind == "org":
        return headers, [["街道", "demo-s1", "示范街道", district_code, ""],
                         ["社区", "demo-s1-c1", "示范社区", "demo-s1", "1200"],
                         ["网格", "demo-s1-c1-g1", "示范第一网格", "demo-s1-c1", ""]]
    return headers, [["张伟", "13800138000", "zhangwei", "网格员", "demo-s1-c1-g1", ""],
                     ["李娜", "13912345678", "lina", "社区干部", "demo-s1-c1", "change-me-2026"]]


def _template_columns(kind: str) -> list[ExportColumn]:
    # as text, so Excel keeps 13812345678 whole and codes like 001 keep their zeros
    text_columns = {"code", "parent_code", "phone", "username", "unit_code", "password"}
    return [ExportColumn(str(i), c.header, 16, number_format="@" if c.key in text_columns else None)
            for i, c in enumerate(COLUMNS[kind])]


def template_csv(kind: str, district_code: str) -> bytes:
    """The template as CSV, through the kernel's export writer (UTF-8 with a BOM, cells never read as formulas)."""
    _headers, rows = template_rows(kind, district_code)
    columns = _template_columns(kind)
    return write_csv(columns, [{c.key: v for c, v in zip(columns, row, strict=True)} for row in rows],
                     tz="Asia/Shanghai", reveal_personal=True)


def template_xlsx(kind: str, district_code: str, book: RoleBook) -> bytes:
    """The template as XLSX, through the kernel's export writer, with the text columns formatted as text and the
    kinds of unit offered as a list."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    _headers, rows = template_rows(kind, district_code)
    export = ExportBook("Asia/Shanghai", reveal_personal=True)  # example rows: nobody's personal data
    columns = _template_columns(kind)
    sheet = export.sheet("组织架构" if kind == "org" else "人员", columns)
    for i, column in enumerate(columns, 1):
        if column.number_format:
            sheet.ws.column_dimensions[get_column_letter(i)].number_format = column.number_format
    sheet.extend(rows)
    if kind == "org":
        names = ",".join(KIND_NAMES[k][0] for k in ORG_PARENTS if k != "district")
        check = DataValidation(type="list", formula1=f'"{names}"', allow_blank=False)
        check.add("A2:A20001")
        sheet.ws.data_validations.append(check)
    notes = export.sheet("说明", ["列", "说明"], [18, 80])
    for col in COLUMNS[kind]:
        notes.append([col.header, ("必填" if col.required else "选填") + f"；也可写作 {col.key}"])
    if kind == "org":
        notes.append(["类型", "、".join(f"{KIND_NAMES[k][0]}（{k}）" for k in ORG_PARENTS if k != "district")])
        notes.append(["上级编码", "上级单位须已在系统中，或写在本表的上方"])
    else:
        notes.append(["角色", "、".join(f"{ROLE_NAMES[k][0]}（{k}）" if k in ROLE_NAMES else k for k in book.roles)])
        notes.append(["手机号/用户名", "至少填写一项，用于登录"])
        notes.append(["初始密码", "选填，至少 8 位；不填则由管理员稍后设置"])
    return export.save()


# --- the kernel's kinds -----------------------------------------------------------------------------


def _check_org_kind(session: so.Session, context: ImportContext, raw_rows: list[RawRow]) -> Checked:
    return check_org(session, raw_rows)


def _check_staff_kind(session: so.Session, context: ImportContext, raw_rows: list[RawRow]) -> Checked:
    return check_staff(session, context.book, raw_rows)


def _write_kind(session: so.Session, context: ImportContext, checked: Checked) -> dict[str, Any]:
    return write(session, context.actor, checked, filename=context.filename, ip=context.ip)


IMPORT_KINDS = {
    "org": kernel_imports.register_kernel_kind(ImportKind(
        "org", _l("Org tree"), PERMISSION["org"], COLUMNS["org"], _check_org_kind, _write_kind, row_schema=OrgRow)),
    "staff": kernel_imports.register_kernel_kind(ImportKind(
        "staff", _l("Staff"), PERMISSION["staff"], COLUMNS["staff"], _check_staff_kind, _write_kind,
        row_schema=StaffForm)),
}
