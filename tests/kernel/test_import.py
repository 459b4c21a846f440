"""Import of the org tree and of staff from CSV and XLSX: preview, all or nothing, errors by line, the API."""

from __future__ import annotations

import csv
import html
import io
import re
import time
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa

from saas import imports as kernel_imports
from saas.audit import AuditEntry
from saas.db import statements
from tenants.models import OrgUnit, RoleGrant, User
from tests.plugin import bearer, text_of

ORG_HEADER = ["kind", "code", "name", "parent_code", "households"]
ORG_HEADER_ZH = ["类型", "编码", "名称", "上级编码", "户数"]
STAFF_HEADER = ["name", "phone", "username", "role", "unit_code", "password"]
STAFF_HEADER_ZH = ["姓名", "手机号", "用户名", "角色", "所属单位编码", "初始密码"]


@pytest.fixture
def app_overrides(tmp_path: Any) -> dict[str, Any]:
    return {"IMPORT_STAGING_DIR": str(tmp_path / "imports")}


def csv_bytes(rows: list[list[Any]], encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def org_rows(root: str = "alpha") -> list[list[Any]]:
    return [
        ORG_HEADER,
        ["street", "s1", "建设街道", root, ""],
        ["community", "s1-c1", "建设第一社区", "s1", "1200"],
        ["grid", "s1-c1-g1", "第一网格", "s1-c1", ""],
        ["compound", "cp1", "和平苑", "s1-c1-g1", "652"],
        ["department", "d-water", "区水务局", root, ""],
        ["section", "d-water-1", "办公室", "d-water", ""],
    ]


def page_text(response: Any) -> str:
    return html.unescape(text_of(response.get_data(as_text=True)))


def english(client: Any) -> None:
    with client.session_transaction() as sess:
        sess["lang"] = "en"


def upload(client: Any, kind: str, data: bytes, filename: str, slug: str = "alpha") -> Any:
    return client.post(f"/t/{slug}/admin/import/{kind}", data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def token_of(html: str) -> str:
    match = re.search(r'name="token" value="([^"]+)"', html)
    assert match, "no confirmation form on the preview"
    return match.group(1)


def api_import(client: Any, token: str, kind: str, data: bytes, filename: str, dry_run: bool,
               slug: str = "alpha") -> Any:
    return client.post(f"/api/v1/t/{slug}/admin/import/{kind}?dry_run={'true' if dry_run else 'false'}",
                       data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data",
                       headers={**bearer(token), "Accept-Language": "en"})


def units(factory: Any, tenant: Any) -> dict[str, OrgUnit]:
    with factory.as_tenant(tenant) as s:
        return {u.code: u for u in s.scalars(sa.select(OrgUnit))}


def staff(factory: Any, tenant: Any) -> dict[str, User]:
    with factory.as_tenant(tenant) as s:
        return {u.name: u for u in s.scalars(sa.select(User).where(User.kind == "staff"))}


def audit_actions(factory: Any, tenant: Any) -> list[str]:
    with factory.as_tenant(tenant) as s:
        return list(s.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


# --- pages: preview, then all or nothing ----------------------------------------------------------


def test_csv_preview_writes_nothing_and_confirm_imports_everything(client, factory, tenant_a, login_as):
    login_as(factory.user(tenant_a))
    english(client)
    response = upload(client, "org", csv_bytes(org_rows()), "tree.csv")
    assert response.status_code == 200
    page = page_text(response)
    assert "6 data rows" in page
    assert "Every row is valid" in page
    assert set(units(factory, tenant_a)) == {"alpha"}, "the preview wrote something"
    assert "import.org" not in audit_actions(factory, tenant_a)

    token = token_of(response.get_data(as_text=True))
    response = client.post("/t/alpha/admin/import/org/confirm", data={"token": token})
    assert response.status_code == 200
    assert "Imported 6 units" in page_text(response)
    got = units(factory, tenant_a)
    assert set(got) == {"alpha", "s1", "s1-c1", "s1-c1-g1", "cp1", "d-water", "d-water-1"}
    assert got["s1-c1-g1"].parent_id == got["s1-c1"].id
    chain = ["alpha", "s1", "s1-c1", "s1-c1-g1", "cp1"]
    assert got["cp1"].path == "/" + "".join(f"{got[c].id}/" for c in chain)
    assert got["s1-c1"].attrs == {"households": 1200}
    assert audit_actions(factory, tenant_a).count("import.org") == 1
    with factory.as_tenant(tenant_a) as s:
        entry = s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "import.org")).one()
        assert entry.after["rows"] == 6
        assert entry.after["counts"] == {"street": 1, "community": 1, "grid": 1, "compound": 1, "department": 1,
                                         "section": 1}


def test_confirmation_is_used_once(client, factory, tenant_a, login_as):
    login_as(factory.user(tenant_a))
    token = token_of(upload(client, "org", csv_bytes(org_rows()), "tree.csv").get_data(as_text=True))
    assert client.post("/t/alpha/admin/import/org/confirm", data={"token": token}).status_code == 200
    again = client.post("/t/alpha/admin/import/org/confirm", data={"token": token})
    assert again.status_code == 422
    assert len(units(factory, tenant_a)) == 7


def test_confirmation_belongs_to_the_person_who_uploaded(client, factory, tenant_a, login_as):
    login_as(factory.user(tenant_a))
    token = token_of(upload(client, "org", csv_bytes(org_rows()), "tree.csv").get_data(as_text=True))
    login_as(factory.user(tenant_a, name="另一位管理员"))
    response = client.post("/t/alpha/admin/import/org/confirm", data={"token": token})
    assert response.status_code == 422
    assert set(units(factory, tenant_a)) == {"alpha"}


def test_cancel_discards_the_staged_file(client, factory, tenant_a, login_as):
    login_as(factory.user(tenant_a))
    token = token_of(upload(client, "org", csv_bytes(org_rows()), "tree.csv").get_data(as_text=True))
    assert client.post("/t/alpha/admin/import/org/cancel", data={"token": token}).status_code == 200
    assert client.post("/t/alpha/admin/import/org/confirm", data={"token": token}).status_code == 422
    assert set(units(factory, tenant_a)) == {"alpha"}


def test_confirm_checks_again_what_changed_since_the_preview(client, factory, tenant_a, login_as):
    login_as(factory.user(tenant_a))
    english(client)
    token = token_of(upload(client, "org", csv_bytes(org_rows()), "tree.csv").get_data(as_text=True))
    factory.unit(tenant_a, "street", "s1")  # someone adds the same code meanwhile
    response = client.post("/t/alpha/admin/import/org/confirm", data={"token": token})
    assert response.status_code == 422
    assert "Line 2:" in page_text(response)
    assert set(units(factory, tenant_a)) == {"alpha", "s1"}


def test_one_bad_row_imports_nothing_and_names_its_line(client, factory, tenant_a, login_as):
    login_as(factory.user(tenant_a))
    english(client)
    rows = org_rows()
    rows[4][3] = "ls-s9"  # line 5: the compound's parent does not exist
    response = upload(client, "org", csv_bytes(rows), "tree.csv")
    assert response.status_code == 422
    page = page_text(response)
    assert 'Line 5: parent code "ls-s9" does not exist.' in page
    assert "1 problem found" in page
    assert 'name="token"' not in response.get_data(as_text=True)
    assert set(units(factory, tenant_a)) == {"alpha"}


def test_xlsx_staff_with_chinese_headers_roles_and_numbers(client, factory, tenant_a, login_as):
    factory.unit(tenant_a, "street", "s1")
    factory.unit(tenant_a, "community", "s1-c1", "s1")
    factory.unit(tenant_a, "grid", "g1", "s1-c1")
    login_as(factory.user(tenant_a))
    data = xlsx_bytes([
        ["芦淞区人员导入表"],  # a title row above the header, as district spreadsheets have
        STAFF_HEADER_ZH,
        ["王伟", 13812345678, "wangwei", "网格员", "g1", ""],
        ["李娜", "139-1234-5679", "", "社区干部", "s1-c1", 12345678],
        ["赵强", "", "zhaoqiang", "street_officer", "s1", "long-enough-1"],
    ])
    response = upload(client, "staff", data, "人员.xlsx")
    assert response.status_code == 200, page_text(response)
    assert "138****5678" in response.get_data(as_text=True), "phones are masked in the preview"
    assert "13812345678" not in response.get_data(as_text=True)
    client.post("/t/alpha/admin/import/staff/confirm", data={"token": token_of(response.get_data(as_text=True))})
    people = staff(factory, tenant_a)
    assert people["王伟"].phone == "13812345678"
    assert people["王伟"].password_hash is None
    assert people["李娜"].phone == "13912345679"
    assert people["李娜"].username is None
    assert people["赵强"].phone is None
    assert (people["赵强"].password_hash or "").startswith("$argon2")
    got = units(factory, tenant_a)
    with factory.as_tenant(tenant_a) as s:
        grants = {(g.user_id, g.role, g.org_unit_id) for g in s.scalars(sa.select(RoleGrant))}
    assert (people["王伟"].id, "grid_worker", got["g1"].id) in grants
    assert (people["李娜"].id, "community_cadre", got["s1-c1"].id) in grants
    assert (people["赵强"].id, "street_officer", got["s1"].id) in grants
    assert audit_actions(factory, tenant_a).count("import.staff") == 1


def test_gbk_csv_with_chinese_headers_and_kind_names(client, factory, tenant_a, login_as):
    login_as(factory.user(tenant_a))
    rows = [ORG_HEADER_ZH, ["街道", "s1", "建设街道", "alpha", ""], ["社区", "s1-c1", "建设第一社区", "s1", "800"],
            ["网格", "s1-c1-g1", "第一网格", "s1-c1", ""], ["小区", "cp1", "和平苑", "s1-c1-g1", ""],
            ["楼栋", "cp1-b1", "1号楼", "cp1", ""], ["单元", "cp1-b1-u1", "1单元", "cp1-b1", ""],
            ["部门", "d1", "区水务局", "alpha", ""], ["科室", "d1-s1", "办公室", "d1", ""]]
    data = csv_bytes(rows, "gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    response = upload(client, "org", data, "组织.csv")
    assert response.status_code == 200, page_text(response)
    client.post("/t/alpha/admin/import/org/confirm", data={"token": token_of(response.get_data(as_text=True))})
    got = units(factory, tenant_a)
    assert got["s1-c1"].name == "建设第一社区"
    assert {u.kind for u in got.values()} == {"district", "street", "community", "grid", "compound", "building",
                                                "unit", "department", "section"}


def test_utf8_csv_with_bom_and_semicolons(client, factory, tenant_a, login_as):
    login_as(factory.user(tenant_a))
    data = "\ufeff类型;编码;名称;上级编码\n街道;s1;建设街道;alpha\n".encode()
    response = upload(client, "org", data, "tree.csv")
    assert response.status_code == 200, page_text(response)


def test_openpyxl_reads_when_calamine_is_not_used(client, factory, tenant_a, login_as, monkeypatch):
    monkeypatch.setattr(kernel_imports, "_FORCE_OPENPYXL", True)
    login_as(factory.user(tenant_a))
    response = upload(client, "org", xlsx_bytes(org_rows()), "tree.xlsx")
    assert response.status_code == 200, page_text(response)


def test_every_kind_of_bad_org_row_is_reported_by_line(client, factory, tenant_a, login_as):
    factory.unit(tenant_a, "street", "old-street")
    token = factory.token(factory.user(tenant_a))
    rows = [
        ORG_HEADER,
        ["street", "s1", "建设街道", "alpha", ""],              # 2 fine
        ["street", "s1", "重复街道", "alpha", ""],              # 3 code twice in the file
        ["street", "old-street", "旧街道", "alpha", ""],        # 4 code already in the district
        ["grid", "g1", "网格", "s1", ""],                       # 5 a grid under a street
        ["community", "c1", "社区", "nowhere", ""],            # 6 unknown parent
        ["castle", "x1", "城堡", "alpha", ""],                  # 7 unknown kind
        ["community", "", "", "s1", ""],                       # 8 empty code and name
        ["community", "c2", "社区二", "c3", ""],                # 9 parent defined below
        ["community", "c3", "社区三", "s1", "many"],            # 10 households not a number
        ["district", "d2", "又一个区", "alpha", ""],             # 11 a second district
    ]
    response = api_import(client, token, "org", csv_bytes(rows), "bad.csv", dry_run=True)
    assert response.status_code == 422
    errors = response.json["errors"]
    assert set(errors) == {"3", "4", "5", "6", "7", "8", "9", "10", "11"}
    assert 'Line 3: code "s1" is already used on line 2.' in errors["3"]
    assert "Code old-street is already used." in errors["4"][0]
    assert "cannot be placed under" in errors["5"][0]
    assert errors["6"] == ['Line 6: parent code "nowhere" does not exist.']
    assert 'kind "castle" is not known' in errors["7"][0]
    assert len(errors["8"]) == 2
    assert all(m.startswith("Line 8: ") for m in errors["8"])
    assert "defined below, on line 10" in errors["9"][0]
    assert errors["10"][0].startswith("Line 10: Households: ")
    assert errors["11"][0].startswith("Line 11: ")
    assert set(units(factory, tenant_a)) == {"alpha", "old-street"}


def test_every_kind_of_bad_staff_row_is_reported_by_line(client, factory, tenant_a, login_as):
    factory.unit(tenant_a, "street", "s1")
    factory.user(tenant_a, phone="13900000001", username="taken")
    token = factory.token(factory.user(tenant_a))
    rows = [
        STAFF_HEADER,
        ["王一", "13800000001", "w1", "street_officer", "s1", ""],     # 2 fine
        ["王二", "12345", "w2", "street_officer", "s1", ""],           # 3 bad phone
        ["王三", "13800000001", "w3", "street_officer", "s1", ""],     # 4 phone twice in the file
        ["王四", "13900000001", "w4", "street_officer", "s1", ""],     # 5 phone already in the district
        ["王五", "13800000005", "w1", "street_officer", "s1", ""],     # 6 username twice in the file
        ["王六", "13800000006", "taken", "street_officer", "s1", ""],  # 7 username already in the district
        ["王七", "13800000007", "w7", "国王", "s1", ""],            # 8 unknown role
        ["王八", "13800000008", "w8", "street_officer", "nowhere", ""],  # 9 unknown unit
        ["", "13800000009", "w9", "street_officer", "s1", ""],         # 10 no name
        ["王十", "", "", "street_officer", "s1", ""],                   # 11 neither phone nor username
        ["王十一", "13800000011", "w11", "street_officer", "s1", "short"],  # 12 password too short
        ["王十二", "13800000012", "w12", "grid_worker", "s1", ""],  # 13 a grid worker on a street
    ]
    response = api_import(client, token, "staff", csv_bytes(rows), "bad.csv", dry_run=False)
    assert response.status_code == 422
    errors = response.json["errors"]
    assert set(errors) == {str(n) for n in range(3, 14)}
    assert errors["3"][0].startswith("Line 3: Mobile number: ")
    assert errors["4"] == ["Line 4: phone number 13800000001 is already used on line 2."]
    assert "already registered in this district" in errors["5"][0]
    assert errors["6"] == ['Line 6: username "w1" is already used on line 2.']
    assert "already taken in this district" in errors["7"][0]
    assert 'role "国王" is not known' in errors["8"][0]
    assert errors["9"] == ['Line 9: unit code "nowhere" does not exist.']
    assert errors["10"][0].startswith("Line 10: Name: ")
    assert "username or a phone number" in errors["11"][0]
    assert errors["12"][0].startswith("Line 12: Password: ")
    assert errors["13"] == ["Line 13: A Grid worker is appointed on a grid, not on a street."]
    assert "王一" not in staff(factory, tenant_a), "a file with a bad row imported its good rows"


@pytest.mark.parametrize(("data", "needle"), [
    (b"", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV or XLSX"),
    (b"%PDF-1.7\n1 0 obj", "not a CSV or XLSX"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, ".xls"),
    (b"PK\x03\x04" + b"\x00" * 64, "could not be read"),
    (b"\x81\x30\xff\xfe\x80\x80", "neither UTF-8 nor GBK"),
    ("名字,电话\n张三,138\n".encode(), "Columns missing"),
    ("类型,编码,名称,上级编码\n".encode(), "no data rows"),
    ("类型,编码,名称,上级编码,code\n街道,a,b,c,d\n".encode(), "appears twice"),
])
def test_unusable_files_get_a_clear_message(client, factory, tenant_a, login_as, data, needle):
    login_as(factory.user(tenant_a))
    english(client)
    response = upload(client, "org", data, "file.csv")
    assert response.status_code == 422
    assert needle in page_text(response)


@pytest.mark.parametrize("data", [b"\x81\x30\xff\xfe\x80\x80" * 20, b"<html>not a workbook</html>",
                                  b"\x00\x01\x02garbage" * 10])
def test_a_corrupt_xlsx_says_it_is_not_a_readable_workbook(client, factory, tenant_a, login_as, data):
    login_as(factory.user(tenant_a))
    english(client)
    before = len(units(factory, tenant_a))
    response = upload(client, "org", data, "tree.xlsx")
    assert response.status_code == 422
    text = page_text(response)
    assert "not a readable workbook" in text
    assert "UTF-8" not in text
    assert len(units(factory, tenant_a)) == before


def test_zip_that_is_not_a_workbook_is_refused(client, factory, tenant_a, login_as):
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    login_as(factory.user(tenant_a))
    english(client)
    response = upload(client, "org", buf.getvalue(), "file.docx")
    assert response.status_code == 422
    assert "not a CSV or XLSX" in page_text(response)


@pytest.mark.parametrize("app_overrides", [{"IMPORT_MAX_ROWS": 5, "IMPORT_MAX_BYTES": 2048}])
def test_too_many_rows_and_too_large_files_are_refused(client, factory, tenant_a, login_as, app_overrides):
    login_as(factory.user(tenant_a))
    english(client)
    rows = [ORG_HEADER] + [["street", f"s{i}", "街道", "alpha", ""] for i in range(6)]
    response = upload(client, "org", csv_bytes(rows), "many.csv")
    assert response.status_code == 422
    assert "at most 5 can be imported" in page_text(response)
    response = upload(client, "org", b"kind,code,name,parent_code\n" + b"x" * 4096, "big.csv")
    assert response.status_code == 422
    assert "larger than" in page_text(response)
    token = factory.token(factory.user(tenant_a))
    response = api_import(client, token, "org", b"kind,code,name,parent_code\n" + b"x" * 4096, "big.csv", True)
    assert response.status_code == 413


def test_no_file_chosen(client, factory, tenant_a, login_as):
    login_as(factory.user(tenant_a))
    response = client.post("/t/alpha/admin/import/org", data={}, content_type="multipart/form-data")
    assert response.status_code == 422


# --- the district's size --------------------------------------------------------------------------


def lusong(root: str = "alpha") -> tuple[list[list[Any]], list[list[Any]]]:
    """芦淞区 as reported: 7 streets, 288 grids, 357 grid workers (a second worker in the 69 busiest grids)."""
    org = [ORG_HEADER_ZH]
    grids = []
    for s in range(1, 8):
        org.append(["街道", f"ls-s{s}", f"第{s}街道", root, ""])
        for c in range(1, 7):
            org.append(["社区", f"ls-s{s}-c{c}", f"第{s}街道第{c}社区", f"ls-s{s}", ""])
            for _ in range(7):
                if len(grids) < 288:
                    grids.append(f"ls-g{len(grids) + 1:03d}")
                    org.append(["网格", grids[-1], f"{grids[-1]}网格", f"ls-s{s}-c{c}", ""])
    people = [STAFF_HEADER_ZH]
    for i in range(357):
        people.append([f"网格员{i}", f"138{i:08d}", f"gw{i}", "网格员", grids[i % 288], ""])
    return org, people


def test_a_full_district_of_288_grids_and_357_workers_imports_in_a_few_statements(client, factory, tenant_a):
    token = factory.token(factory.user(tenant_a))
    org, people = lusong()
    with statements() as org_sql:
        response = api_import(client, token, "org", xlsx_bytes(org), "芦淞区.xlsx", dry_run=False)
    assert response.status_code == 200, response.json
    assert response.json["counts"] == {"street": 7, "community": 42, "grid": 288}
    with statements() as staff_sql:
        response = api_import(client, token, "staff", csv_bytes(people, "gbk"), "网格员.csv", dry_run=False)
    assert response.status_code == 200, response.json
    assert response.json["counts"] == {"grid_worker": 357}
    # quick by construction, not by a stopwatch: a few bulk statements, where one per row would be hundreds
    assert len(org_sql) < 30, org_sql
    assert len(staff_sql) < 30, staff_sql
    with factory.as_tenant(tenant_a) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(OrgUnit).where(OrgUnit.kind == "grid")) == 288
        workers = s.scalar(sa.select(sa.func.count()).select_from(RoleGrant).where(RoleGrant.role == "grid_worker"))
        assert workers == 357
        busiest = s.scalar(
            sa.select(sa.func.count()).select_from(
                sa.select(RoleGrant.org_unit_id).where(RoleGrant.role == "grid_worker")
                .group_by(RoleGrant.org_unit_id).having(sa.func.count() == 2).subquery()
            )
        )
        assert busiest == 69
    assert audit_actions(factory, tenant_a).count("import.org") == 1
    assert audit_actions(factory, tenant_a).count("import.staff") == 1


# --- isolation, permissions, API, templates -------------------------------------------------------


def test_another_tenants_unit_codes_are_not_found(client, factory, tenant_a, tenant_b):
    factory.unit(tenant_b, "street", "b-street")
    token = factory.token(factory.user(tenant_a))
    response = api_import(client, token, "org",
                          csv_bytes([ORG_HEADER, ["community", "c1", "社区", "b-street", ""]]), "x.csv", dry_run=True)
    assert response.status_code == 422
    assert response.json["errors"] == {"2": ['Line 2: parent code "b-street" does not exist.']}
    response = api_import(client, token, "staff",
                          csv_bytes([STAFF_HEADER, ["王一", "13800000001", "w1", "grid_worker", "b-street", ""]]),
                          "x.csv", dry_run=True)
    assert response.status_code == 422
    assert response.json["errors"] == {"2": ['Line 2: unit code "b-street" does not exist.']}
    # the same code and phone may be used in both districts
    factory.user(tenant_b, phone="13800000001", username="w1")
    response = api_import(client, token, "org",
                          csv_bytes([ORG_HEADER, ["street", "b-street", "街道", "alpha", ""]]), "x.csv", dry_run=False)
    assert response.status_code == 200
    response = api_import(client, token, "staff",
                          csv_bytes([STAFF_HEADER, ["王一", "13800000001", "w1", "street_officer", "b-street", ""]]),
                          "x.csv", dry_run=False)
    assert response.status_code == 200
    assert set(units(factory, tenant_b)) == {"beta", "b-street"}
    assert "王一" not in staff(factory, tenant_b)


def test_a_token_of_tenant_a_cannot_import_into_tenant_b(client, factory, tenant_a, tenant_b):
    token = factory.token(factory.user(tenant_a))
    response = api_import(client, token, "org", csv_bytes(org_rows("beta")), "x.csv", dry_run=False, slug="beta")
    assert response.status_code == 401
    assert set(units(factory, tenant_b)) == {"beta"}


def test_api_dry_run_then_real_run(client, factory, tenant_a):
    token = factory.token(factory.user(tenant_a))
    data = xlsx_bytes(org_rows())
    response = api_import(client, token, "org", data, "tree.xlsx", dry_run=True)
    assert response.status_code == 200
    assert response.json == {"kind": "org", "dry_run": True, "imported": False, "rows": 6, "ignored_columns": [],
                             "counts": {"street": 1, "community": 1, "grid": 1, "compound": 1, "department": 1,
                                        "section": 1}}
    assert set(units(factory, tenant_a)) == {"alpha"}
    response = api_import(client, token, "org", data, "tree.xlsx", dry_run=False)
    assert response.status_code == 200
    assert response.json["imported"] is True
    assert len(units(factory, tenant_a)) == 7
    again = api_import(client, token, "org", data, "tree.xlsx", dry_run=False)
    assert again.status_code == 422
    assert set(again.json["errors"]) == {str(n) for n in range(2, 8)}


def test_api_needs_a_token_and_the_permission(client, factory, tenant_a):
    factory.unit(tenant_a, "street", "s1")
    data = csv_bytes(org_rows())
    response = client.post("/api/v1/t/alpha/admin/import/org", data={"file": (io.BytesIO(data), "x.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 401
    worker = factory.token(factory.user(tenant_a, role="grid_worker", unit_code="s1"))
    assert api_import(client, worker, "org", data, "x.csv", dry_run=True).status_code == 403
    assert api_import(client, worker, "staff", data, "x.csv", dry_run=True).status_code == 403


def test_api_file_is_required(client, factory, tenant_a):
    token = factory.token(factory.user(tenant_a))
    response = client.post("/api/v1/t/alpha/admin/import/org?dry_run=true", data={},
                           content_type="multipart/form-data", headers=bearer(token))
    assert response.status_code == 422
    assert "file" in response.json["errors"]


def test_pages_need_the_permission(client, factory, tenant_a, login_as):
    factory.unit(tenant_a, "street", "s1")
    login_as(factory.user(tenant_a, role="grid_worker", unit_code="s1"))
    assert client.get("/t/alpha/admin/import").status_code == 403
    assert upload(client, "org", csv_bytes(org_rows()), "x.csv").status_code == 403
    assert client.get("/t/alpha/admin/import/template/staff.xlsx").status_code == 403
    assert set(units(factory, tenant_a)) == {"alpha", "s1"}


def test_upload_page_has_progress_forms_and_menu_link(client, factory, tenant_a, login_as):
    login_as(factory.user(tenant_a))
    response = client.get("/t/alpha/admin/import")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count("<progress") == 2
    assert 'hx-encoding="multipart/form-data"' in html
    assert 'data-upload-progress="progress-org"' in html
    assert "/static/app.js" in html
    assert 'href="/t/alpha/admin/import"' in html
    assert "<script>" not in html
    script = client.get("/static/app.js")
    assert script.status_code == 200
    assert b"htmx:xhr:progress" in script.data
    script.close()


def test_htmx_upload_answers_with_the_result_fragment(client, factory, tenant_a, login_as):
    login_as(factory.user(tenant_a))
    response = client.post("/t/alpha/admin/import/org", data={"file": (io.BytesIO(csv_bytes(org_rows())), "t.csv")},
                           content_type="multipart/form-data", headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html
    assert 'name="token"' in html


@pytest.mark.parametrize("kind", ["org", "staff"])
def test_templates_open_with_openpyxl_and_import_as_they_are(client, factory, tenant_a, login_as, kind):
    login_as(factory.user(tenant_a))
    headers = ORG_HEADER_ZH if kind == "org" else STAFF_HEADER_ZH
    response = client.get(f"/t/alpha/admin/import/template/{kind}.xlsx")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).worksheets[0]
    rows = [[c if c is not None else "" for c in r] for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == headers
    assert len(rows) == (4 if kind == "org" else 3)  # the header and the examples
    response = client.get(f"/t/alpha/admin/import/template/{kind}.csv")
    assert response.status_code == 200
    assert response.data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert lines[0] == headers
    assert len(lines) == len(rows)
    if kind == "staff":
        # the staff template's example rows sit on the org template's example units
        org = client.get("/t/alpha/admin/import/template/org.xlsx").data
        token_page = upload(client, "org", org, "org.xlsx").get_data(as_text=True)
        client.post("/t/alpha/admin/import/org/confirm", data={"token": token_of(token_page)})
    preview = upload(client, kind, response.data, f"{kind}.csv")
    assert preview.status_code == 200, page_text(preview)


def test_a_staged_file_past_its_hour_is_not_confirmed_and_stays_for_the_sweep(tmp_path):
    owner = {"tenant_id": 1, "user_id": 2, "kind": "org_units"}
    rows = [(2, {"name": "东城街道"})]
    token = kernel_imports.stage(tmp_path, "secret", filename="org.csv", raw_rows=rows, **owner)
    staged = tmp_path / f"{token}.import"
    fresh = staged.read_bytes()
    box = kernel_imports._fernet("secret")
    # the same file as if staged an hour and a minute ago (the encryption's own timestamp is what expires)
    staged.write_bytes(box.encrypt_at_time(box.decrypt(fresh), int(time.time()) - kernel_imports.STAGE_TTL - 60))
    assert kernel_imports.claim(tmp_path, "secret", token, **owner) is None
    assert staged.exists()  # refused, not consumed: an expired file is never imported
    staged.write_bytes(fresh)
    assert kernel_imports.claim(tmp_path, "secret", token, **owner) == ("org.csv", rows)  # within the hour
    assert not staged.exists()
