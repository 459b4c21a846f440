"""万人助万企: the office names an enterprise's cadre, the cadre logs visits (each problem found a feedback item
routed like any other), the enterprises not visited within the interval, the pages and the API, and the
refusals, which change nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from blueprints.business_feedback import services
from blueprints.business_feedback.models import EnterpriseCadre, FeedbackItem, Visit
from blueprints.business_feedback.services import enterprises, visits
from tests.plugin import bearer, text_of

GOOD = "91110000600037341L"


def page(world: Any, path: str = "") -> str:
    return f"/t/{world.tenant.slug}/business_feedback{path}"


def api(world: Any, path: str = "") -> str:
    return f"/api/v1/t/{world.tenant.slug}/business_feedback{path}"


def add_cadre(world: Any, who: str = "cadre", n: int = 1) -> Any:
    world.users[who] = world.factory.user(world.tenant, "enterprise_cadre", None,
                                          name=f"{world.tenant.slug}助企{n}", username=f"{world.tenant.slug}-{who}",
                                          phone=f"{world.phone_head}{800 + n:04d}")
    return world.users[who]


def firm(world: Any, code: str = GOOD, name: str = "郑州某机械有限公司") -> int:
    with world.session() as s:
        row = enterprises.add_enterprise(s, world.tenant, world.actor(s, "office"), {"name": name, "credit_code": code})
        s.commit()
        return row.id


def assign(world: Any, enterprise_id: int, who: str = "cadre") -> None:
    with world.session() as s:
        visits.assign_cadre(s, world.tenant, world.actor(s, "office"), enterprise_id, {"user_id": world.users[who].id})
        s.commit()


def log(world: Any, enterprise_id: int, who: str = "cadre", **data: Any) -> Visit:
    values = {"visited_on": world.today(), "visitors": "助企干部、区工信局", "findings": "流动资金紧张",
              "outcome": "对接银行", "loans_yuan": 2_000_000, "workers_recruited": 5, "approvals_unblocked": 1,
              "problems": [], **data}
    with world.session() as s:
        visit = visits.log_visit(s, world.tenant, world.actor(s, who), enterprise_id, values)
        s.commit()
        return visit


def counts(world: Any) -> tuple[int, int]:
    with world.session() as s:
        return (s.scalar(sa.select(sa.func.count()).select_from(Visit)),
                s.scalar(sa.select(sa.func.count()).select_from(FeedbackItem)))


@pytest.fixture
def helped(world_a):  # type: ignore[no-untyped-def]
    add_cadre(world_a)
    add_cadre(world_a, "cadre2", 2)
    enterprise_id = firm(world_a)
    assign(world_a, enterprise_id)
    return world_a, enterprise_id


def test_problems_found_on_a_visit_are_routed_like_any_feedback(helped):
    world, eid = helped
    visit = log(world, eid, problems=[
        {"kind": "problem", "area_code": "credit", "description": "首贷需抵押", "urgency": "urgent"},
        {"kind": "suggestion", "area_code": "start", "description": "希望设立企业服务专员", "urgency": "normal"}])
    with world.session() as s:
        items = list(s.scalars(sa.select(FeedbackItem).where(FeedbackItem.visit_id == visit.id)
                               .order_by(FeedbackItem.id)))
    assert [(i.kind, i.state, i.enterprise_id, i.supervisor_id, i.show_name, i.submitted_by_id, i.urgency)
            for i in items] == [("problem", "submitted", eid, None, True, world.users["cadre"].id, "urgent"),
                                ("suggestion", "submitted", eid, None, True, world.users["cadre"].id, "normal")]
    done = world.act("office", items[0].id, "accept", department_ids=[world.unit_id("d1")])
    assert done.state == "assigned"
    world.act("dept", items[0].id, "answer", answer="已协调不动产登记")
    assert world.act("cadre", items[0].id, "rate", rating="satisfied").state == "rated"  # the cadre rates it
    with world.session() as s:
        rows = visits.visits_of(s, eid)
    assert [(r["loans_yuan"], r["workers_recruited"], r["approvals_unblocked"], [i["number"] for i in r["items"]])
            for r in rows] == [(2_000_000, 5, 1, [items[0].number, items[1].number])]


@pytest.mark.parametrize(("data", "field"), [
    ({"visited_on": "tomorrow"}, "visited_on"),
    ({"visited_on": "long ago"}, "visited_on"),
    ({"loans_yuan": -1}, "loans_yuan"),
    ({"problems": [{"kind": "problem", "area_code": "start", "description": "好"},
                   {"kind": "problem", "area_code": "nowhere", "description": "坏"}]}, "problems.1.area_code"),
])
def test_bad_visits_are_refused_and_change_nothing(helped, data, field):
    world, eid = helped
    day = world.today()
    data = {**data}
    if data.get("visited_on") == "tomorrow":
        data["visited_on"] = day + dt.timedelta(days=1)
    elif data.get("visited_on") == "long ago":
        data["visited_on"] = day - dt.timedelta(days=400)
    before = counts(world)
    with pytest.raises(services.ServiceError) as err:
        log(world, eid, **data)
    assert field in err.value.errors
    assert counts(world) == before


def test_only_the_enterprises_cadre_or_the_office_logs_and_sees_its_visits(helped, world_b):
    world, eid = helped
    with pytest.raises(services.Refused) as other:
        log(world, eid, "cadre2")
    assert other.value.status == 404
    with pytest.raises(services.Refused) as supervisor:
        log(world, eid, "sup")
    assert supervisor.value.status == 403
    log(world, eid, "office")  # on the cadre's behalf
    foreign = firm(world_b)
    with pytest.raises(services.Refused) as far:
        log(world, foreign)
    assert far.value.status == 404
    assert counts(world)[0] == 1


def test_only_a_cadre_of_the_district_is_assigned(helped, world_b):
    world, eid = helped
    for who in ("dept", "sup"):
        with world.session() as s, pytest.raises(services.ServiceError):
            visits.assign_cadre(s, world.tenant, world.actor(s, "office"), eid, {"user_id": world.users[who].id})
    add_cadre(world_b)
    with world.session() as s, pytest.raises(services.ServiceError):
        visits.assign_cadre(s, world.tenant, world.actor(s, "office"), eid, {"user_id": world_b.users["cadre"].id})
    with world.session() as s, pytest.raises(services.Refused):
        visits.assign_cadre(s, world.tenant, world.actor(s, "cadre"), eid, {"user_id": world.users["cadre2"].id})
    assign(world, eid, "cadre2")  # one cadre per enterprise: the new one replaces the old
    with world.session() as s:
        assert s.scalars(sa.select(EnterpriseCadre.user_id)).all() == [world.users["cadre2"].id]


def test_enterprises_not_visited_within_the_interval(helped):
    world, eid = helped
    recent = firm(world, valid("91410100MA44XXXXX"), "甲公司")
    old, never = firm(world, valid("91110108MA0123456"), "乙公司"), eid
    for e in (recent, old):
        assign(world, e)
    day = world.today()
    log(world, recent, visited_on=day - dt.timedelta(days=90))  # the interval's last day: in time
    log(world, old, visited_on=day - dt.timedelta(days=91))
    with world.session() as s:
        due = visits.due_visits(s, world.tenant, world.actor(s, "office"))
        mine = visits.my_enterprises(s, world.tenant, world.actor(s, "cadre"))
        with pytest.raises(services.Refused):
            visits.due_visits(s, world.tenant, world.actor(s, "cadre"))
    assert [(h.enterprise_id, h.days_since) for h in due] == [(never, None), (old, 91)]
    assert [(h.enterprise_id, h.due) for h in mine] == [(never, True), (old, True), (recent, False)]


def valid(body17: str) -> str:
    from stdnum.cn import uscc

    return body17[:17] + uscc.calc_check_digit(body17[:17])


def test_the_cadre_logs_a_visit_from_the_page(helped, client, login_as):
    world, eid = helped
    login_as(world.users["cadre"])
    listed = client.get(page(world, "/visits"))
    assert listed.status_code == 200
    assert "郑州某机械有限公司" in text_of(listed.get_data(as_text=True))
    form = client.get(page(world, f"/enterprises/{eid}/visits/new"))
    assert form.status_code == 200
    bad = client.post(page(world, f"/enterprises/{eid}/visits/new"), data={
        "visited_on": (world.today() + dt.timedelta(days=1)).isoformat(), "visitors": "助企干部",
        "problem_0_description": "缺工", "problem_0_area": "start"})
    assert bad.status_code == 422
    assert "不能晚于今天" in text_of(bad.get_data(as_text=True))
    assert counts(world) == (0, 0)
    sent = client.post(page(world, f"/enterprises/{eid}/visits/new"), data={
        "visited_on": world.today().isoformat(), "visitors": "助企干部", "loans_yuan": "8500000",
        "workers_recruited": "130", "approvals_unblocked": "2", "outcome": "已对接",
        "problem_0_description": "缺熟练焊工", "problem_0_area": "start", "problem_0_kind": "problem",
        "problem_1_description": "", "problem_1_area": "credit"})
    assert sent.status_code == 302
    assert counts(world) == (1, 1)
    shown = text_of(client.get(page(world, f"/enterprises/{eid}")).get_data(as_text=True))
    assert "8,500,000" in shown
    with world.session() as s:
        number = s.scalars(sa.select(FeedbackItem.number)).one()
    assert number in shown
    login_as(world.users["cadre2"])
    assert client.get(page(world, f"/enterprises/{eid}")).status_code == 404


def test_the_office_assigns_and_reads_through_the_api(helped, client, world_b):
    world, eid = helped
    office = bearer(world.factory.token(world.users["office"]))
    cadre = bearer(world.factory.token(world.users["cadre"]))
    put = client.put(api(world, f"/enterprises/{eid}/cadre"), headers=office,
                     json={"user_id": str(world.users["cadre"].id)})
    assert put.status_code == 200, put.get_json()
    assert put.get_json()["name"] == "alpha助企1"
    assert client.put(api(world, f"/enterprises/{eid}/cadre"), headers=cadre,
                      json={"user_id": str(world.users["cadre"].id)}).status_code == 403
    assert client.get(api(world, "/visits/due"), headers=office).get_json()[0]["days_since"] is None
    posted = client.post(api(world, f"/enterprises/{eid}/visits"), headers=cadre, json={
        "visited_on": world.today().isoformat(), "visitors": "助企干部", "loans_yuan": 100,
        "problems": [{"area_code": "credit", "description": "贷款难"}]})
    assert posted.status_code == 201, posted.get_json()
    assert [i["state"] for i in posted.get_json()["items"]] == ["submitted"]
    bad = client.post(api(world, f"/enterprises/{eid}/visits"), headers=cadre, json={
        "visited_on": world.today().isoformat(), "visitors": "助企干部", "workers_recruited": -3})
    assert bad.status_code == 422
    assert len(client.get(api(world, f"/enterprises/{eid}/visits"), headers=cadre).get_json()) == 1
    assert client.get(api(world, "/visits/due"), headers=office).get_json() == []
    foreign = firm(world_b)
    assert client.get(api(world, f"/enterprises/{foreign}/visits"), headers=office).status_code == 404
