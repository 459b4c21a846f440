"""Registry import through the kernel's contract: a good file registers every resident (page and API alike); a file
with bad rows (an ID number failing its check digit, a contact without a phone, an unknown grid) names each row in
Chinese and stores nothing."""

from __future__ import annotations

import datetime as dt
import io
import re

import sqlalchemy as sa
from openpyxl import Workbook

from blueprints.elderly_visits.demo import resident_id
from blueprints.elderly_visits.models import ElderlyPerson, EmergencyContact
from tests.blueprints.elderly_visits.conftest import World
from tests.plugin import bearer

HEADER = ["姓名", "身份证号", "性别", "网格", "类别", "健康状况", "网格员", "紧急联系人", "联系人关系",
          "紧急联系人电话", "本人同意"]
API = "/api/v1/t/alpha/elderly_visits/import"


def _rows(world: World) -> list[list[str]]:
    worker = world.users["worker"].username
    return [
        ["张大爷", resident_id("140109", dt.date(1941, 2, 3), 11), "男", world.code("g1"), "独居、高龄", "高血压",
         worker, "张小明", "儿子", f"{world.phone_head}9001", "是"],
        ["李奶奶", resident_id("140109", dt.date(1950, 7, 8), 12), "", "公园路1网格", "空巢", "",
         worker, "", "", "", "同意"],
    ]


def _csv(rows: list[list[str]]) -> bytes:
    return "\n".join(",".join(r) for r in [HEADER, *rows]).encode("utf-8")


def _xlsx(rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in [HEADER, *rows]:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _people(world: World) -> int:
    with world.session() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(ElderlyPerson))


def test_a_good_xlsx_registers_every_resident_through_preview_and_confirm(client, login_as, world_a: World) -> None:
    login_as(world_a.users["cadre"])
    page = client.post("/t/alpha/elderly_visits/import/preview",
                       data={"file": (io.BytesIO(_xlsx(_rows(world_a))), "老人名单.xlsx")},
                       content_type="multipart/form-data")
    assert page.status_code == 200, page.get_data(as_text=True)
    text = page.get_data(as_text=True)
    assert _people(world_a) == 0  # a preview writes nothing
    token = re.search(r'name="token" value="([^"]+)"', text).group(1)
    done = client.post("/t/alpha/elderly_visits/import/confirm", data={"token": token})
    assert done.status_code == 200
    with world_a.session() as s:
        people = {p.name: p for p in s.scalars(sa.select(ElderlyPerson))}
        assert set(people) == {"张大爷", "李奶奶"}
        assert people["张大爷"].sex == "m"
        assert people["张大爷"].categories == ["alone", "very_old"]
        assert people["李奶奶"].sex == "f"  # from the ID number when the column is empty
        assert people["李奶奶"].categories == ["empty_nest"]
        contacts = list(s.scalars(sa.select(EmergencyContact)))
        assert [(c.name, c.phone) for c in contacts] == [("张小明", f"{world_a.phone_head}9001")]
    again = client.post("/t/alpha/elderly_visits/import/confirm", data={"token": token})
    assert again.status_code == 422  # a staged file is used once
    assert _people(world_a) == 2


def test_bad_rows_are_each_named_in_chinese_and_nothing_is_stored(client, login_as, world_a: World) -> None:
    rows = _rows(world_a)
    bad_id = rows[0][1][:-1] + ("0" if rows[0][1][-1] != "0" else "1")
    rows[0][1] = bad_id  # the check digit fails
    rows[1][7] = "李明"  # a contact without a phone
    rows.append(["王奶奶", resident_id("140109", dt.date(1945, 1, 1), 14), "女", "没有这个网格", "", "",
                 world_a.users["worker"].username, "", "", "", "是"])
    rows.append(["赵大爷", resident_id("140109", dt.date(1944, 4, 4), 13), "男", world_a.code("g1"), "", "",
                 world_a.users["worker"].username, "", "", "", "是"])  # a good row: not stored either
    token = world_a.factory.token(world_a.users["cadre"])
    resp = client.post(f"{API}?dry_run=false", data={"file": (io.BytesIO(_csv(rows)), "list.csv")},
                       headers=bearer(token), content_type="multipart/form-data")
    assert resp.status_code == 422, resp.json
    errors = resp.json["errors"]["file"]
    assert len(errors) == 3, errors
    assert errors[0].startswith("第 2 行")
    assert "身份证" in errors[0]
    assert errors[1].startswith("第 3 行")
    assert "电话" in errors[1]
    assert errors[2].startswith("第 4 行")
    assert "没有这个网格" in errors[2]
    assert _people(world_a) == 0

    login_as(world_a.users["cadre"])
    page = client.post("/t/alpha/elderly_visits/import/preview",
                       data={"file": (io.BytesIO(_csv(rows)), "list.csv")}, content_type="multipart/form-data")
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert 'name="token"' not in html
    for message in errors:
        assert message in html
    assert _people(world_a) == 0


def test_the_api_checks_by_default_and_registers_with_dry_run_false(client, world_a: World, world_b: World) -> None:
    token = world_a.factory.token(world_a.users["cadre"])
    body = _csv(_rows(world_a))
    check = client.post(API, data={"file": (io.BytesIO(body), "list.csv")}, headers=bearer(token),
                        content_type="multipart/form-data")
    assert check.status_code == 200, check.json
    assert check.json == {"dry_run": True, "people": 2, "ids": []}
    assert _people(world_a) == 0
    done = client.post(f"{API}?dry_run=false", data={"file": (io.BytesIO(body), "list.csv")}, headers=bearer(token),
                       content_type="multipart/form-data")
    assert done.status_code == 200, done.json
    assert done.json["people"] == 2
    assert _people(world_a) == 2
    # the same file again: everyone is on the registry already
    twice = client.post(API, data={"file": (io.BytesIO(body), "list.csv")}, headers=bearer(token),
                        content_type="multipart/form-data")
    assert twice.status_code == 422
    assert all("已" in m for m in twice.json["errors"]["file"])
    # another district's grid code is an unknown grid here
    other = _rows(world_b)
    refused = client.post(API, data={"file": (io.BytesIO(_csv(other[:1])), "list.csv")}, headers=bearer(token),
                          content_type="multipart/form-data")
    assert refused.status_code == 422
    assert _people(world_b) == 0
    # a grid worker may not import
    worker = client.post(API, data={"file": (io.BytesIO(body), "list.csv")},
                         headers=bearer(world_a.factory.token(world_a.users["worker"])),
                         content_type="multipart/form-data")
    assert worker.status_code == 403
