"""The kernel's import contract (`saas.imports`) with a tiny kind of its own: preview writes nothing, every bad
row is named with its line (in Chinese by default), nothing is written while a row is bad, the staged file
belongs to one district, one person and one kind, a damaged workbook says so, and the kinds are declared."""

from __future__ import annotations

import io
from typing import Any

import marshmallow as ma
import openpyxl
import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from saas import audit
from saas import imports as kernel
from saas.audit import AuditEntry
from saas.imports import Checked, ImportColumn, ImportContext, ImportExpired, ImportFileError, ImportKind, RawRow

COLUMNS = (ImportColumn("name", _l("Name"), "名称", ("单位名称", "name")),
           ImportColumn("count", _l("Households"), "户数", ("数量",), required=False))


class ThingRow(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=2, max=20))
    count = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0, max=100))


def check(session: so.Session, context: ImportContext, raw_rows: list[RawRow]) -> Checked:
    checked = Checked("test.things", raw_rows, [], [])
    # one query for the whole file: the names already imported
    taken = set(session.scalars(sa.select(AuditEntry.object_id).where(AuditEntry.action == "test.thing")))
    seen: set[str] = set()
    for line, raw in raw_rows:
        data, errors = kernel.load_row(ThingRow(), COLUMNS, raw)
        for field, messages in errors.items():
            label = next(c.label for c in COLUMNS if c.key == field)
            checked.errors.append(kernel.row_error(line, label, " ".join(map(str, messages))))
        if errors:
            continue
        if data["name"] in seen or data["name"] in taken:
            checked.errors.append(kernel.row_error(line, COLUMNS[0].label, "重复"))
            continue
        seen.add(data["name"])
        checked.rows.append(data)
    return checked


def write(session: so.Session, context: ImportContext, checked: Checked) -> dict[str, Any]:
    for row in checked.rows:
        audit.record(session, context.actor, "test.thing", "thing", row["name"], after={"count": row["count"]})
    session.flush()
    return {"things": len(checked.rows)}


KIND = ImportKind("test.things", "物品", "org.manage", COLUMNS, check, write, row_schema=ThingRow, max_rows=50)


def things(factory: Any, tenant: Any) -> list[str]:
    with factory.as_tenant(tenant) as s:
        return sorted(s.scalars(sa.select(AuditEntry.object_id).where(AuditEntry.action == "test.thing")))


@pytest.fixture
def world(app, factory, tenant_a, tenant_b, tmp_path):
    admin = factory.user(tenant_a)
    other = factory.user(tenant_a, name="另一位管理员")
    return {"admin": admin, "other": other, "dir": tmp_path, "secret": app.config["SECRET_KEY"]}


def preview(factory: Any, tenant: Any, user: Any, data: bytes, world: dict[str, Any], filename: str = "a.csv"
            ) -> tuple[Checked, str | None]:
    with factory.as_tenant(tenant) as s, force_locale("zh_CN"):
        checked, token = kernel.preview(s, KIND, ImportContext(tenant, user, filename=filename), data,
                                        directory=world["dir"], secret=world["secret"], user_id=user.id)
        s.rollback()
        return checked, token


def confirm(factory: Any, tenant: Any, user: Any, token: str, world: dict[str, Any]) -> tuple[Checked, Any]:
    with factory.as_tenant(tenant) as s, force_locale("zh_CN"):
        checked, summary = kernel.confirm(s, KIND, ImportContext(tenant, user), token, directory=world["dir"],
                                          secret=world["secret"], user_id=user.id)
        if summary is None:
            s.rollback()
        else:
            s.commit()
        return checked, summary


GOOD = "名称,户数,备注\n一号楼,12,x\n二号楼,,\n三号楼,7,\n".encode()


def test_preview_writes_nothing_and_confirm_writes_every_row_once(factory, tenant_a, world):
    checked, token = preview(factory, tenant_a, world["admin"], GOOD, world)
    assert checked.ok
    assert [r["name"] for r in checked.rows] == ["一号楼", "二号楼", "三号楼"]
    assert checked.rows[1]["count"] == 0
    assert checked.ignored_columns == ["备注"]
    assert token
    assert things(factory, tenant_a) == []
    staged = (world["dir"] / f"{token}.import").read_bytes()
    assert "一号楼".encode() not in staged  # encrypted at rest
    _checked, summary = confirm(factory, tenant_a, world["admin"], token, world)
    assert summary == {"things": 3}
    assert things(factory, tenant_a) == ["一号楼", "三号楼", "二号楼"]
    with pytest.raises(ImportExpired):
        confirm(factory, tenant_a, world["admin"], token, world)  # single use


def test_every_bad_row_is_named_with_its_line_in_chinese_and_nothing_is_written(factory, tenant_a, world):
    data = "说明行\n名称,户数\n一号楼,12\n甲,3\n二号楼,abc\n一号楼,1\n三号楼,101\n".encode()
    checked, token = preview(factory, tenant_a, world["admin"], data, world)
    assert not checked.ok
    assert token is None
    lines = checked.errors_by_line()
    assert sorted(lines, key=int) == ["4", "5", "6", "7"]  # line 3 is good, the header is found on line 2
    assert lines["4"][0].startswith("第 4 行：名称：")
    assert lines["5"][0].startswith("第 5 行：户数：")
    assert lines["6"] == ["第 6 行：名称：重复"]
    assert lines["7"][0].startswith("第 7 行：户数：")
    assert things(factory, tenant_a) == []


def test_a_row_gone_bad_since_the_preview_writes_nothing(factory, tenant_a, world):
    _checked, token = preview(factory, tenant_a, world["admin"], GOOD, world)
    _first, other_token = preview(factory, tenant_a, world["other"], "名称\n二号楼\n".encode(), world)
    assert confirm(factory, tenant_a, world["other"], other_token, world)[1] == {"things": 1}
    checked, summary = confirm(factory, tenant_a, world["admin"], token, world)
    assert summary is None
    assert [e.line for e in checked.errors] == [3]
    assert things(factory, tenant_a) == ["二号楼"]  # not one row of the file that went bad


def test_the_staged_file_belongs_to_its_person_kind_and_district(factory, tenant_a, tenant_b, world):
    _checked, token = preview(factory, tenant_a, world["admin"], GOOD, world)
    with pytest.raises(ImportExpired):
        confirm(factory, tenant_a, world["other"], token, world)  # another person of the same district
    stranger = factory.user(tenant_b)
    with pytest.raises(ImportExpired):
        confirm(factory, tenant_b, stranger, token, world)  # another district
    assert kernel.claim(world["dir"], world["secret"], token, tenant_id=tenant_a.id, user_id=world["admin"].id,
                        kind="org") is None  # another kind
    assert kernel.claim(world["dir"], "another secret", token, tenant_id=tenant_a.id, user_id=world["admin"].id,
                        kind=KIND.key) is None  # forged or re-keyed
    assert things(factory, tenant_a) == []
    # none of those consumed it: its own person still confirms it
    assert confirm(factory, tenant_a, world["admin"], token, world)[1] == {"things": 3}


def xlsx(rows: list[list[Any]]) -> bytes:
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_xlsx_is_read_and_a_damaged_one_says_it_is_not_a_readable_workbook(factory, tenant_a, world):
    checked, _token = preview(factory, tenant_a, world["admin"], xlsx([["名称", "户数"], ["一号楼", 12.0]]), world,
                              filename="things.xlsx")
    assert checked.rows == [{"name": "一号楼", "count": 12}]
    good = xlsx([["名称"], ["一号楼"]])
    for damaged in (good[: len(good) // 2], b"\x81\x30\xff\xfe\x80\x80" * 10, b"not a workbook at all"):
        with pytest.raises(ImportFileError) as refused:
            preview(factory, tenant_a, world["admin"], damaged, world, filename="things.xlsx")
        assert "不是可读取的工作簿" in refused.value.message or "无法读取" in refused.value.message
        assert "UTF-8" not in refused.value.message
    assert things(factory, tenant_a) == []


def test_too_many_rows_and_missing_columns_are_refused(factory, tenant_a, world):
    many = ("名称\n" + "".join(f"楼{i:03d}\n" for i in range(51))).encode()
    with pytest.raises(ImportFileError) as refused:
        preview(factory, tenant_a, world["admin"], many, world)
    assert "51" in refused.value.message
    with pytest.raises(ImportFileError) as refused:
        preview(factory, tenant_a, world["admin"], "户数\n3\n".encode(), world)
    assert "名称 (name)" in refused.value.message


def test_every_kind_is_declared_the_kernels_and_the_modules(app):
    kinds = kernel.import_kinds(app.extensions["saas.modules"])
    assert {"org", "staff", "grid_cases.hotline"} <= set(kinds)
    hotline = kinds["grid_cases.hotline"]
    assert hotline.permission == "grid_cases.import"
    assert [c.header for c in hotline.columns if c.required] == ["工单号", "诉求内容", "联系电话"]
