"""Hotline tickets imported as cases: every row checked, all or nothing, a ticket imported once."""

from __future__ import annotations

import io

import openpyxl
import sqlalchemy as sa

from blueprints.grid_cases.models import GridCase
from tests.blueprints.grid_cases.conftest import World
from tests.plugin import bearer

HEADER = "工单号,问题分类,位置编码,地址,诉求内容,来电人,联系电话,紧急程度\n"


def export(world: World, *rows: str) -> bytes:
    return (HEADER + "\n".join(rows) + "\n").encode("gb18030")  # Excel's CSV on a Chinese Windows


def cases(world: World) -> list[GridCase]:
    with world.session() as s:
        return list(s.scalars(sa.select(GridCase).order_by(GridCase.id)))


def test_an_export_is_checked_then_imported_once(client, login_as, world_a: World) -> None:
    data = export(world_a,
                  f"12345-001,供水,{world_a.code('b1')},1号楼,楼道水管爆裂,张先生,13812340001,紧急",
                  f"12345-002,路灯,{world_a.code('g3')},,小区路灯不亮,李女士,13812340002,")
    login_as(world_a.users["admin"])
    preview = client.post("/t/alpha/grid_cases/hotline/preview", data={"file": (io.BytesIO(data), "12345.csv")},
                          content_type="multipart/form-data")
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    token = html.split('name="token" value="')[1].split('"')[0]
    assert cases(world_a) == []
    done = client.post("/t/alpha/grid_cases/hotline/confirm", data={"token": token})
    assert done.status_code == 200
    made = cases(world_a)
    assert [(c.source, c.source_ref, c.urgency, c.reporter_phone) for c in made] == [
        ("hotline", "12345-001", "urgent", "13812340001"), ("hotline", "12345-002", "normal", "13812340002")]
    assert made[0].compound_id is not None
    assert made[1].community_id is not None
    again = client.post("/t/alpha/grid_cases/hotline/preview", data={"file": (io.BytesIO(data), "12345.csv")},
                        content_type="multipart/form-data")
    assert "已导入过" in again.get_data(as_text=True)
    assert client.post("/t/alpha/grid_cases/hotline/confirm", data={"token": token}).status_code == 422
    assert len(cases(world_a)) == 2


def test_one_bad_row_keeps_the_whole_file_out_with_its_line_named(client, world_a: World) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["工单号", "问题分类", "位置编码", "诉求内容", "联系电话"])
    ws.append(["T-1", "water", world_a.code("g1"), "漏水", 13812340003])
    ws.append(["T-2", "不存在的分类", world_a.code("g1"), "漏水", 13812340004])
    ws.append(["T-3", "water", "beta-g1", "漏水", 13812340005])
    ws.append(["T-4", "water", world_a.code("g1"), "漏水", "12345"])
    out = io.BytesIO()
    wb.save(out)
    token = bearer(world_a.factory.token(world_a.users["admin"]))
    answer = client.post("/api/v1/t/alpha/grid_cases/hotline?dry_run=false",
                         data={"file": (io.BytesIO(out.getvalue()), "t.xlsx")}, headers=token,
                         content_type="multipart/form-data")
    assert answer.status_code == 422
    lines = answer.json["errors"]["file"]
    assert len(lines) == 3
    assert all(str(n) in text for n, text in zip((3, 4, 5), lines, strict=True))
    assert cases(world_a) == []
    check = client.post("/api/v1/t/alpha/grid_cases/hotline", data={"file": (io.BytesIO(b"%PDF-1.4"), "x.pdf")},
                        headers=token, content_type="multipart/form-data")
    assert check.status_code == 422


def test_a_damaged_workbook_says_it_is_not_a_readable_workbook(client, login_as, world_a: World) -> None:
    login_as(world_a.users["admin"])
    damaged = b"\x81\x30\xff\xfe\x80\x80" * 20
    page = client.post("/t/alpha/grid_cases/hotline/preview", data={"file": (io.BytesIO(damaged), "12345.xlsx")},
                       content_type="multipart/form-data")
    assert page.status_code == 422
    assert "不是可读取的工作簿" in page.get_data(as_text=True)
    assert "UTF-8" not in page.get_data(as_text=True)
    token = bearer(world_a.factory.token(world_a.users["admin"]))
    api = client.post("/api/v1/t/alpha/grid_cases/hotline?dry_run=false",
                      data={"file": (io.BytesIO(damaged), "12345.xlsx")}, headers=token,
                      content_type="multipart/form-data")
    assert api.status_code == 422
    assert "不是可读取的工作簿" in api.get_json()["errors"]["file"][0]
    assert cases(world_a) == []


def test_a_file_over_the_limit_is_refused_by_the_page_and_the_api(client, login_as, world_a: World,
                                                                   monkeypatch) -> None:
    from blueprints.grid_cases.services import hotline

    data = export(world_a, f"12345-009,供水,{world_a.code('g1')},,楼道水管爆裂,张先生,13812340001,")
    monkeypatch.setattr(hotline, "MAX_BYTES", len(data) - 1)
    login_as(world_a.users["admin"])
    page = client.post("/t/alpha/grid_cases/hotline/preview", data={"file": (io.BytesIO(data), "12345.csv")},
                       content_type="multipart/form-data")
    assert page.status_code == 422
    assert "请拆分成多个较小的文件" in page.get_data(as_text=True)
    token = bearer(world_a.factory.token(world_a.users["admin"]))
    api = client.post("/api/v1/t/alpha/grid_cases/hotline?dry_run=false",
                      data={"file": (io.BytesIO(data), "12345.csv")}, headers=token, content_type="multipart/form-data")
    assert api.status_code == 413
    assert cases(world_a) == []


def test_only_the_district_imports_hotline_tickets(client, login_as, world_a: World) -> None:
    data = export(world_a, f"12345-001,供水,{world_a.code('b1')},1号楼,楼道水管爆裂,张先生,13812340001,紧急")
    login_as(world_a.users["admin"])
    preview = client.post("/t/alpha/grid_cases/hotline/preview", data={"file": (io.BytesIO(data), "12345.csv")},
                          content_type="multipart/form-data")
    token = preview.get_data(as_text=True).split('name="token" value="')[1].split('"')[0]
    # the page, the preview and the confirm behind it: each refused to a street officer, and nothing imported
    login_as(world_a.users["street"])
    assert client.get("/t/alpha/grid_cases/hotline").status_code == 403
    refused = client.post("/t/alpha/grid_cases/hotline/preview", data={"file": (io.BytesIO(data), "12345.csv")},
                          content_type="multipart/form-data")
    assert refused.status_code == 403
    assert client.post("/t/alpha/grid_cases/hotline/confirm", data={"token": token}).status_code == 403
    assert cases(world_a) == []
    # the admin's staged file is still there for the admin
    login_as(world_a.users["admin"])
    assert client.post("/t/alpha/grid_cases/hotline/confirm", data={"token": token}).status_code == 200
    assert [c.source_ref for c in cases(world_a)] == ["12345-001"]


def test_another_module_opens_a_case_through_the_services(world_a: World) -> None:
    from blueprints.grid_cases.services import open_case_for_module

    with world_a.session() as s:
        open_case_for_module(s, world_a.tenant, "elderly_visits", "visit:42", {
            "category_code": "hazard", "location_code": world_a.code("b1"),
            "description": "独居老人家中燃气灶老化，存在安全隐患", "urgency": "urgent"})
        s.commit()
    row = cases(world_a)[0]
    assert (row.source, row.source_ref, row.state, row.urgency) == ("module", "elderly_visits:visit:42", "reported",
                                                                    "urgent")
