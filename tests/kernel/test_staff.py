"""The staff pages: a list that pages by keyset and searches by name, phone, unit and role; a page per person
to correct them, grant roles on a unit chosen by name (of a kind the role fits), remove a role after a
confirmation, deactivate and reactivate."""

from __future__ import annotations

import html
import io
import re
from typing import Any

import sqlalchemy as sa

from saas.audit import AuditEntry
from saas.ids import new_id
from tenants import services
from tenants.models import RoleGrant, User, UserSession
from tests.plugin import TEST_PASSWORD, bearer, text_of


def page_text(response: Any) -> str:
    return html.unescape(text_of(response.get_data(as_text=True)))


def english(client: Any) -> None:
    with client.session_transaction() as sess:
        sess["lang"] = "en"


def grants_of(factory: Any, tenant: Any, user_id: int) -> list[tuple[str, str]]:
    with factory.as_tenant(tenant) as s:
        rows = s.execute(sa.select(RoleGrant.role, RoleGrant.org_unit_id).where(RoleGrant.user_id == user_id))
        return [(role, str(unit)) for role, unit in rows]


def test_a_role_is_granted_only_on_a_unit_of_a_kind_it_fits(client, factory, tenant_a, login_as):
    street = factory.unit(tenant_a, "street", "s1", name="解放街道")
    factory.unit(tenant_a, "community", "c1", "s1", name="朝阳社区")
    grid = factory.unit(tenant_a, "grid", "g1", "c1", name="第一网格")
    worker = factory.user(tenant_a, role=None, name="王伟")
    login_as(factory.user(tenant_a))
    english(client)
    refused = client.post(f"/t/alpha/admin/people/{worker.id}/roles", data={"role": "grid_worker",
                                                                            "unit_id": street.id})
    assert refused.status_code == 422
    assert "A Grid worker is appointed on a grid, not on a street." in page_text(refused)
    assert grants_of(factory, tenant_a, worker.id) == []
    granted = client.post(f"/t/alpha/admin/people/{worker.id}/roles", data={"role": "grid_worker", "unit_id": grid.id})
    assert granted.status_code == 302
    assert grants_of(factory, tenant_a, worker.id) == [("grid_worker", str(grid.id))]


def test_a_new_persons_unit_is_chosen_by_name_never_typed_as_a_code(client, factory, tenant_a, login_as):
    factory.unit(tenant_a, "street", "s1", name="解放街道")
    factory.unit(tenant_a, "community", "c1", "s1", name="朝阳社区")
    grid = factory.unit(tenant_a, "grid", "g1", "c1", name="第一网格")
    login_as(factory.user(tenant_a))
    english(client)
    form = {"name": "李娜", "phone": "13812340001", "role": "grid_worker", "unit_q": "第一"}
    first = client.post("/t/alpha/admin/people", data=form)  # typed a name, chose nothing yet
    assert first.status_code == 422
    body = first.get_data(as_text=True)
    assert f'name="unit_id" value="{grid.id}"' in body, "the page offers the units of that name to choose from"
    assert "Choose a unit from the list." in page_text(first)
    assert client.post("/t/alpha/admin/people", data={**form, "unit_id": grid.id}).status_code == 302
    with factory.as_tenant(tenant_a) as s:
        person = s.scalars(sa.select(User).where(User.name == "李娜")).one()
    assert grants_of(factory, tenant_a, person.id) == [("grid_worker", str(grid.id))]


def test_the_picker_offers_only_units_the_role_fits_and_only_of_this_district(client, factory, tenant_a, tenant_b,
                                                                             login_as):
    factory.unit(tenant_a, "street", "s1", name="东风街道")
    factory.unit(tenant_a, "community", "c1", "s1", name="东风社区")
    grid = factory.unit(tenant_a, "grid", "g1", "c1", name="东风网格")
    factory.unit(tenant_b, "street", "s1", name="东风街道乙")
    login_as(factory.user(tenant_a))
    picked = client.get("/t/alpha/admin/org/pick", query_string={"unit_q": "东风", "role": "grid_worker"},
                        headers={"HX-Request": "true"})
    assert picked.status_code == 200
    assert re.findall(r'name="unit_id" value="(\d+)"', picked.get_data(as_text=True)) == [str(grid.id)]
    anyone = client.get("/t/alpha/admin/org/pick", query_string={"unit_q": "东风", "role": "supervisor"})
    names = page_text(anyone)
    assert "东风街道" in names
    assert "东风社区" in names
    assert "东风网格" in names
    assert "东风街道乙" not in names


def test_the_import_refuses_a_role_on_a_unit_it_does_not_fit(client, factory, tenant_a, login_as):
    factory.unit(tenant_a, "department", "d1", name="住建局")
    token = factory.token(factory.user(tenant_a))
    csv = ("name,phone,username,role,unit_code,password\n"
           "王一,13800000001,w1,dept_handler,d1,\n王二,13800000002,w2,grid_worker,d1,\n")
    response = client.post("/api/v1/t/alpha/admin/import/staff?dry_run=false",
                           data={"file": (io.BytesIO(csv.encode()), "staff.csv")},
                           content_type="multipart/form-data", headers={**bearer(token), "Accept-Language": "en"})
    assert response.status_code == 422
    assert response.json["errors"] == {"3": ["Line 3: A Grid worker is appointed on a grid, not on a department."]}


def add_staff(factory: Any, tenant: Any, count: int) -> None:
    with factory.as_tenant(tenant) as s:
        root = services.district_root(s)
        dept = services.new_org_unit(kind="department", code="d-water", name="水务局", parent_id=root.id,
                                     parent_path=root.path)
        s.add(dept)
        s.flush()
        for i in range(count):
            user = User(id=new_id(), name=f"员工{i:04d}", phone=f"139{i:08d}", kind="staff")
            s.add(user)
            s.flush()
            if i % 3 == 0:
                s.add(RoleGrant(user_id=user.id, role="dept_handler", org_unit_id=dept.id))
        s.commit()


def names_on(body: str) -> list[str]:
    return re.findall(r">(员工\d{4})</a>", body)


def test_the_staff_list_pages_through_everyone_once_in_name_order(client, factory, tenant_a, login_as):
    add_staff(factory, tenant_a, 120)
    login_as(factory.user(tenant_a, name="管理员"))
    seen: list[str] = []
    url = "/t/alpha/admin/people"
    for _page in range(5):
        response = client.get(url)
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        seen += names_on(body)
        more = re.search(r'<a href="([^"]+)"\s+hx-get', body)
        if more is None:
            break
        url = html.unescape(more.group(1))
    assert seen == [f"员工{i:04d}" for i in range(120)]
    first = client.get("/t/alpha/admin/people")
    assert len(names_on(first.get_data(as_text=True))) == 50


def test_the_staff_list_searches_by_name_phone_unit_and_role(client, factory, tenant_a, login_as):
    add_staff(factory, tenant_a, 12)
    login_as(factory.user(tenant_a, name="管理员"))
    by_unit = names_on(client.get("/t/alpha/admin/people", query_string={"unit": "水务"}).get_data(as_text=True))
    assert by_unit == ["员工0000", "员工0003", "员工0006", "员工0009"]
    by_role = names_on(client.get("/t/alpha/admin/people", query_string={"role": "dept_handler"})
                       .get_data(as_text=True))
    assert by_role == by_unit
    assert names_on(client.get("/t/alpha/admin/people", query_string={"role": "grid_worker"})
                    .get_data(as_text=True)) == []
    by_phone = names_on(client.get("/t/alpha/admin/people", query_string={"q": "13900000011"})
                        .get_data(as_text=True))
    assert by_phone == ["员工0011"]
    bad = client.get("/t/alpha/admin/people", query_string={"after": "abc"})
    assert bad.status_code == 422


def test_a_person_is_corrected_on_their_page_and_a_taken_number_is_refused(client, factory, tenant_a, login_as):
    factory.user(tenant_a, role=None, name="张三", phone="13800000001")
    person = factory.user(tenant_a, role=None, name="李四", phone="13800000002")
    login_as(factory.user(tenant_a))
    english(client)
    taken = client.post(f"/t/alpha/admin/people/{person.id}", data={"name": "李四", "phone": "13800000001"})
    assert taken.status_code == 422
    assert "already registered in this district" in page_text(taken)
    ok = client.post(f"/t/alpha/admin/people/{person.id}", data={"name": "李思", "phone": "13800000003"})
    assert ok.status_code == 302
    with factory.as_tenant(tenant_a) as s:
        row = s.scalars(sa.select(User).where(User.id == person.id)).one()
        assert (row.name, row.phone) == ("李思", "13800000003")
        entry = s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "user.update")).one()
        assert entry.after == {"name": "李思", "phone": "138****0003"}, "the audit keeps the number masked"


def test_another_districts_person_or_a_resident_has_no_page(client, factory, tenant_a, tenant_b, login_as):
    other = factory.user(tenant_b, name="乙区人")
    login_as(factory.user(tenant_a))
    assert client.get(f"/t/alpha/admin/people/{other.id}").status_code == 404
    assert client.post(f"/t/alpha/admin/people/{other.id}", data={"name": "x"}).status_code == 404


def test_deactivating_signs_the_person_out_and_keeps_them_out_until_reactivated(app, client, factory, tenant_a,
                                                                               login_as):
    person = factory.user(tenant_a, username="wang")
    theirs = app.test_client()
    assert theirs.post("/t/alpha/login", data={"login": "wang", "password": TEST_PASSWORD}).status_code == 302
    assert theirs.get("/t/alpha/admin/modules").status_code == 200
    admin = factory.user(tenant_a, name="管理员")
    login_as(admin)
    assert client.post(f"/t/alpha/admin/people/{person.id}/active", data={"active": "0"}).status_code == 302
    assert theirs.get("/t/alpha/admin/modules").status_code == 302
    again = app.test_client()
    assert again.post("/t/alpha/login", data={"login": "wang", "password": TEST_PASSWORD}).status_code != 302
    with factory.as_tenant(tenant_a) as s:
        assert s.scalars(sa.select(UserSession.end_reason).where(UserSession.user_id == person.id)).all() == [
            "deactivated"]
    assert client.post(f"/t/alpha/admin/people/{person.id}/active", data={"active": "1"}).status_code == 302
    assert again.post("/t/alpha/login", data={"login": "wang", "password": TEST_PASSWORD}).status_code == 302
    assert client.post(f"/t/alpha/admin/people/{admin.id}/active", data={"active": "0"}).status_code == 422


def test_removing_a_role_asks_first(client, factory, tenant_a, login_as):
    person = factory.user(tenant_a, name="王伟")
    login_as(factory.user(tenant_a, name="管理员"))
    english(client)
    [(_role, _unit)] = grants_of(factory, tenant_a, person.id)
    with factory.as_tenant(tenant_a) as s:
        grant_id = s.scalars(sa.select(RoleGrant.id).where(RoleGrant.user_id == person.id)).one()
    asked = client.post(f"/t/alpha/admin/people/grants/{grant_id}/revoke")
    assert asked.status_code == 200
    assert "Remove the role District admin" in page_text(asked)
    assert "王伟" in page_text(asked)
    assert len(grants_of(factory, tenant_a, person.id)) == 1
    done = client.post(f"/t/alpha/admin/people/grants/{grant_id}/revoke", data={"confirm": "1"})
    assert done.status_code == 302
    assert done.headers["Location"].endswith(f"/people/{person.id}")
    assert grants_of(factory, tenant_a, person.id) == []
