"""Staff pages: report from the form, act on a case, refusals that explain themselves, photos, categories."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa

from blueprints.grid_cases.models import CaseCategory, CasePhoto, GridCase
from tests.blueprints.grid_cases.conftest import World, jpeg
from tests.plugin import text_of


def version_of(world: World, case_id: int) -> int:
    with world.session() as s:
        return s.scalars(sa.select(GridCase.version).where(GridCase.id == case_id)).one()


def test_a_grid_worker_reports_with_a_photo_and_lands_on_the_case(client, login_as, world_a: World) -> None:
    login_as(world_a.users["worker"])
    page = client.get("/t/alpha/grid_cases/new")
    assert page.status_code == 200
    assert world_a.code("g1") in page.get_data(as_text=True)
    response = client.post("/t/alpha/grid_cases/new", data={
        "category_code": "water", "location_code": world_a.code("b1"), "description": "1号楼单元门口积水",
        "urgency": "urgent", "address": "1号楼", "source": "patrol",
        "photos": (io.BytesIO(jpeg()), "leak.jpg")}, content_type="multipart/form-data")
    assert response.status_code == 302
    detail = client.get(response.headers["Location"])
    text = text_of(detail.get_data(as_text=True))
    number = re.search(r"XD-\d{8}-\d{4}", text).group(0)
    assert "1号楼单元门口积水" in text
    assert "晋祠路一号院" in text
    with world_a.session() as s:
        case = s.scalars(sa.select(GridCase).where(GridCase.number == number)).one()
        assert (case.state, case.urgency, case.source) == ("accepted", "urgent", "patrol")
        photo = s.scalars(sa.select(CasePhoto).where(CasePhoto.case_id == case.id)).one()
    image = client.get(f"/t/alpha/grid_cases/photos/{photo.id}?size=thumb")
    assert image.status_code == 200
    assert image.mimetype == "image/jpeg"
    assert 'id="action-handle"' in detail.get_data(as_text=True)


def test_bad_input_on_the_report_form_says_what_is_wrong_and_keeps_nothing(client, login_as, world_a) -> None:
    login_as(world_a.users["worker"])
    response = client.post("/t/alpha/grid_cases/new", data={
        "category_code": "nope", "location_code": world_a.code("g1"), "description": "",
        "source": "phone", "reporter_phone": "12345", "photos": (io.BytesIO(b"not a photo"), "x.jpg")},
        content_type="multipart/form-data")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert html.count('class="field-error"') >= 2
    with world_a.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(GridCase)) == 0


def test_acting_through_the_page_and_the_refusals_it_explains(client, login_as, world_a: World) -> None:
    case = world_a.report("worker")
    login_as(world_a.users["worker"])
    url = f"/t/alpha/grid_cases/cases/{case.id}/act"
    version = version_of(world_a, case.id)
    # a stale form: someone else changed the case since the page was opened
    world_a.act("leader", case, "handle")
    stale = client.post(f"{url}/escalate", data={"version": version, "note": "上报"})
    assert stale.status_code == 409
    assert "flash-error" in stale.get_data(as_text=True)
    # a step the state no longer allows
    again = client.post(f"{url}/handle", data={"version": version_of(world_a, case.id)})
    assert again.status_code == 409
    # a step that is someone else's: the department's
    forbidden = client.post(f"{url}/take", data={"version": version_of(world_a, case.id)})
    assert forbidden.status_code == 409  # the case is not dispatched: the state says no first
    done = client.post(f"{url}/resolve", data={"version": version_of(world_a, case.id), "result": ""})
    assert done.status_code == 422
    assert 'class="field-error"' in done.get_data(as_text=True)
    ok = client.post(f"{url}/resolve", data={"version": version_of(world_a, case.id), "result": "已疏通"})
    assert ok.status_code == 302
    assert world_a.get(case).state == "resolved"
    login_as(world_a.users["dept"])
    assert client.get(f"/t/alpha/grid_cases/cases/{case.id}").status_code == 404  # not in the department's area
    login_as(world_a.users["cadre"])
    other = client.post(f"{url}/verify", data={"version": version_of(world_a, case.id)})
    assert other.status_code == 403
    assert "flash-error" in other.get_data(as_text=True)
    assert client.post(f"{url}/fly", data={"version": 1}).status_code == 404


def test_the_work_list_pages_and_filters(client, login_as, world_a: World) -> None:
    for i in range(35):
        world_a.report("worker", description=f"巡查发现第{i}处问题")
    login_as(world_a.users["worker"])
    first = client.get("/t/alpha/grid_cases/")
    html = first.get_data(as_text=True)
    assert first.status_code == 200
    assert html.count('class="case-card') == 30
    more = re.search(r'hx-get="([^"]+before=\d+[^"]*)"', html).group(1).replace("&amp;", "&")
    rest = client.get(more, headers={"HX-Request": "true"})
    assert rest.get_data(as_text=True).count('class="case-card') == 5
    assert "<html" not in rest.get_data(as_text=True)
    # the search form as a browser sends it, every field empty but one
    assert client.get("/t/alpha/grid_cases/?view=area&q=&category=&state=&grid=&urgency=&since=&until=").status_code \
        == 200
    assert client.get("/t/alpha/grid_cases/?until=9999-12-31").status_code == 422
    bad = client.get("/t/alpha/grid_cases/?since=2026-02-30&state=lost")
    assert bad.status_code == 422
    assert bad.get_data(as_text=True).count('class="field-error"') == 2
    widget = client.get("/t/alpha/grid_cases/widgets/work")
    assert widget.status_code == 200
    assert "35" in text_of(widget.get_data(as_text=True))


def test_categories_are_edited_by_the_admin_only(client, login_as, world_a: World) -> None:
    with world_a.session() as s:
        water = s.scalars(sa.select(CaseCategory).where(CaseCategory.code == "water")).one()
    login_as(world_a.users["worker"])
    assert client.post(f"/t/alpha/grid_cases/categories/{water.id}", data={"name": "自来水"}).status_code == 403
    login_as(world_a.users["admin"])
    bad = client.post(f"/t/alpha/grid_cases/categories/{water.id}", data={
        "name": "自来水", "deadline_days": "0", "urgent_hours": "4", "department_code": world_a.code("d2")})
    assert bad.status_code == 422
    ok = client.post(f"/t/alpha/grid_cases/categories/{water.id}", data={
        "name": "自来水", "deadline_days": "4", "urgent_hours": "6", "department_code": world_a.code("d2"),
        "active": "1"})
    assert ok.status_code == 302
    with world_a.session() as s:
        row = s.scalars(sa.select(CaseCategory).where(CaseCategory.code == "water")).one()
        assert (row.name, row.deadline_days, row.urgent_hours, row.public) == ("自来水", 4, 6, False)


def test_a_note_is_logged_and_promoted_from_the_page(client, login_as, world_a: World) -> None:
    login_as(world_a.users["worker"])
    assert client.post("/t/alpha/grid_cases/notes", data={"kind": "visit", "text": ""}).status_code == 422
    saved = client.post("/t/alpha/grid_cases/notes", data={"kind": "visit", "text": "走访独居老人"})
    assert saved.status_code == 302
    page = client.get("/t/alpha/grid_cases/notes").get_data(as_text=True)
    note_id = re.search(r"/grid_cases/notes/(\d+)/promote", page).group(1)
    made = client.post(f"/t/alpha/grid_cases/notes/{note_id}/promote", data={"category_code": "other"})
    assert made.status_code == 302
    assert "/grid_cases/cases/" in made.headers["Location"]


def test_the_audit_log_names_a_case_by_its_number_and_its_steps_in_words(client, login_as, world_a: World) -> None:
    import html

    case = world_a.move(world_a.report(), "leader:handle")
    login_as(world_a.users["admin"])
    body = html.unescape(text_of(client.get("/t/alpha/admin/audit", query_string={"object": "grid_cases_case"})
                                 .get_data(as_text=True)))
    assert f"事件 · {case.number}" in body
    assert str(case.id) not in body, "the case's number, never its internal id"
    assert "本级处置 · 网格事件" in body
    assert "状态 已受理 → 处置中" in body
    assert "所在层级 晋祠路一号院1网格" in body, "a unit named, not its id"
    assert "来源 网格巡查" in body, "a source in words, not its code"


def test_a_reporters_number_shown_in_full_is_audited(client, login_as, world_a: World) -> None:
    """Issue #10: a sensitive record view (the resident's number in full, for calling back) is in the audit log."""
    from saas.audit import AuditEntry

    case = world_a.report("worker", source="phone", reporter_phone="13912345678", reporter_name="王大爷")
    plain = world_a.report("worker")
    worker = world_a.users["worker"]
    login_as(worker)
    assert "13912345678" not in client.get(f"/t/alpha/grid_cases/cases/{plain.id}").get_data(as_text=True)
    with world_a.session() as s:
        assert not s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "grid_cases.case.view_contact")).all()
    assert "13912345678" in text_of(client.get(f"/t/alpha/grid_cases/cases/{case.id}").get_data(as_text=True))
    with world_a.session() as s:
        seen = s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "grid_cases.case.view_contact")).one()
        assert (seen.actor_id, seen.object_id) == (worker.id, str(case.id))
