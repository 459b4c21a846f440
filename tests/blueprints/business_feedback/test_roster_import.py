"""A batch of supervisors from a file, through the kernel's import door for a module's kind (page and API): every
bad row named in Chinese and nothing written; the good file appoints each row as the roster's own form does (a new
account or the district's person, the supervisor role, the next certificate number, the audit); the door is shut
when the module is off and to those without the roster's right."""

from __future__ import annotations

import io
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook

from blueprints.business_feedback.models import Supervisor
from saas.audit import AuditEntry
from tenants.models import RoleGrant, User
from tests.blueprints.business_feedback.conftest import World
from tests.plugin import bearer, text_of

PAGE = "/t/alpha/admin/import/modules/business_feedback.supervisors"
API = "/api/v1/t/alpha/admin/import/modules/business_feedback.supervisors"
HEADER = "姓名,手机号,类别,来源,行业,区域,批次,任期开始,任期结束\n"


def csv_file(*lines: str) -> dict[str, Any]:
    return {"file": (io.BytesIO((HEADER + "\n".join(lines) + "\n").encode()), "第二批.csv")}


def supervisors(world: World) -> list[tuple[str, str, str]]:
    with world.session() as s:
        return [(u.name, sup.batch, sup.certificate_no) for sup, u in s.execute(
            sa.select(Supervisor, User).join(User, User.id == Supervisor.user_id).order_by(Supervisor.certificate_no))]


def test_a_file_with_bad_rows_names_each_and_appoints_nobody(login_as, world_a: World) -> None:
    before = supervisors(world_a)
    browser = login_as(world_a.users["office"])
    answer = browser.post(f"{PAGE}/preview", content_type="multipart/form-data", data=csv_file(
        "王监督,13912340001,特邀监督员,企业家,制造业,工业路街道,第二批,,",
        "李监督,13912340001,体验官,学生,,,第二批,,",  # the same number again
        "赵监督,13912340003,观察员,企业家,,,第二批,,",  # no such kind
        "钱监督,13912340004,特邀监督员,外星人,,,第二批,,",  # no such source group
        "孙监督,13912340005,体验官,企业家,,火星街道,第二批,,",  # no such area
        "周监督,1391234,体验官,企业家,,,第二批,,",  # not a mobile number
        "吴监督,13912340007,体验官,企业家,,,第二批,2026-05-01,2026-04-01",  # ends before it starts
        f"郑监督,{world_a.users['sup'].phone},体验官,企业家,,,第二批,,",  # already in a term these dates
    ))
    assert answer.status_code == 422
    text = text_of(answer.get_data(as_text=True))
    assert "第 3 行：手机号码：同一号码已在第 2 行。" in text
    assert "第 4 行：类型：不是本区的监督员类别。" in text
    assert "第 5 行：来源界别：不是以下来源群体之一：人大代表" in text
    assert "第 6 行：区域：本区没有这个名称或代码的街道或社区。" in text
    assert "第 7 行：手机号码" in text
    assert "第 8 行：聘期结束：聘期结束日不能早于开始日。" in text
    assert "第 9 行：手机号码：此人在这段时间内已有聘期。" in text
    assert "第 2 行：" not in text  # the good line is not named
    assert 'name="token"' not in answer.get_data(as_text=True)
    assert supervisors(world_a) == before


def test_a_good_file_appoints_every_row_with_certificates_on_the_page(login_as, world_a: World) -> None:
    before = len(supervisors(world_a))
    browser = login_as(world_a.users["office"])
    page = browser.get(PAGE)
    assert page.status_code == 200
    assert "任期开始" in text_of(page.get_data(as_text=True))  # the file's headers
    existing = world_a.users["worker"]  # the district's person already: appointed, not made again
    answer = browser.post(f"{PAGE}/preview", content_type="multipart/form-data", data=csv_file(
        "王监督,139 1234 0001,特邀监督员,企业家,制造业,工业路街道,第二批,2026-03-01,",
        f"{existing.name},{existing.phone},smart,退休干部,,alpha-c1,第二批,,",
    ))
    assert answer.status_code == 200, text_of(answer.get_data(as_text=True))
    token = answer.get_data(as_text=True).split('name="token" value="')[1].split('"')[0]
    assert len(supervisors(world_a)) == before  # a preview writes nothing
    done = browser.post(f"{PAGE}/confirm", data={"token": token})
    assert done.status_code == 200
    assert "已从 第二批.csv 导入 2 行" in text_of(done.get_data(as_text=True))
    rows = supervisors(world_a)
    assert len(rows) == before + 2
    assert [r[1] for r in rows[-2:]] == ["第二批", "第二批"]
    assert len({r[2] for r in rows}) == len(rows)  # each its own certificate number
    with world_a.session() as s:
        wang = s.scalars(sa.select(User).where(User.phone == "13912340001")).one()
        assert wang.kind == "staff"
        for user_id in (wang.id, existing.id):
            assert s.scalars(sa.select(RoleGrant.role).where(RoleGrant.user_id == user_id,
                                                             RoleGrant.role == "supervisor")).one()
        assert s.scalar(sa.select(sa.func.count()).select_from(User).where(User.phone == existing.phone)) == 1
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "business_feedback.supervisor.appoint")) == before + 2
    again = browser.post(f"{PAGE}/confirm", data={"token": token})
    assert again.status_code == 422  # single-use
    assert len(supervisors(world_a)) == before + 2


def test_the_api_checks_then_imports_an_xlsx(client, world_a: World) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "手机号", "类别", "来源"])
    sheet.append(["冯监督", "13912340011", "市场体验员", "职工"])
    out = io.BytesIO()
    book.save(out)
    token = bearer(world_a.factory.token(world_a.users["office"]))
    before = len(supervisors(world_a))

    def send(query: str, body: bytes, name: str = "名单.xlsx") -> Any:
        return client.post(f"{API}{query}", data={"file": (io.BytesIO(body), name)},
                           content_type="multipart/form-data", headers=token)

    dry = send("", out.getvalue())
    assert dry.status_code == 200, dry.get_json()
    assert dry.get_json() | {"ignored_columns": []} == {"kind": "business_feedback.supervisors", "dry_run": True,
                                                       "imported": False, "rows": 1,
                                                       "counts": {"supervisors": 1}, "ignored_columns": []}
    assert len(supervisors(world_a)) == before
    bad = send("?dry_run=false", (HEADER + "冯监督,13912340011,市场体验员,外星人,,,,,\n").encode(), "名单.csv")
    assert bad.status_code == 422
    assert "第 2 行：来源界别" in str(bad.get_json()["errors"])
    assert len(supervisors(world_a)) == before
    real = send("?dry_run=false", out.getvalue())
    assert real.status_code == 200
    assert real.get_json()["imported"] is True
    assert len(supervisors(world_a)) == before + 1


def test_the_door_is_shut_without_the_right_or_the_module(client, login_as, world_a: World) -> None:
    dept = login_as(world_a.users["dept"])
    assert dept.get(PAGE).status_code == 403
    assert dept.post(f"{PAGE}/preview", content_type="multipart/form-data",
                     data=csv_file("王监督,13912340001,特邀监督员,企业家,,,,,")).status_code == 403
    office = login_as(world_a.users["office"])
    assert office.get("/t/alpha/admin/import/modules/nothing.here").status_code == 404
    # a module's kind that needs more than the district (a campaign's targets) keeps its own door
    assert office.get("/t/alpha/admin/import/modules/cadre_evaluation.targets").status_code == 404
    world_a.factory.enable_module(world_a.tenant, "business_feedback", False)
    assert office.get(PAGE).status_code == 404
    token = bearer(world_a.factory.token(world_a.users["office"]))
    assert client.post(API, data=csv_file("王监督,13912340001,特邀监督员,企业家,,,,,"),
                       content_type="multipart/form-data", headers=token).status_code == 404
