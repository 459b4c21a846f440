"""The pages and the JSON API of elderly visits: the same services behind both, refusals in the user's language,
another district's rows never reachable, and the module's switch."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from blueprints.elderly_visits import services
from blueprints.elderly_visits.models import ElderlyPerson, Emergency, Visit
from saas.audit import AuditEntry
from tests.blueprints.elderly_visits.conftest import World
from tests.plugin import bearer, text_of


def _count(world: World, model: type) -> int:
    with world.session() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(model))


def api(world: World, who: str) -> str:
    return world.factory.token(world.users[who])


def test_the_api_registers_lists_and_reads_a_resident(client, world_a: World) -> None:
    token = api(world_a, "cadre")
    body = {**world_a.person_data(categories=["alone"]), "birth_date": "1948-06-01"}
    body["worker_id"] = str(body["worker_id"])
    body.pop("backup_worker_id")
    resp = client.post("/api/v1/t/alpha/elderly_visits/people", json=body, headers=bearer(token))
    assert resp.status_code == 201, resp.json
    person_id = resp.json["id"]
    assert resp.json["sensitive"] is False  # the answer to a registration is the list's view
    listed = client.get("/api/v1/t/alpha/elderly_visits/people?due=all", headers=bearer(api(world_a, "worker")))
    assert [p["name"] for p in listed.json["items"]] == [body["name"]]
    one = client.get(f"/api/v1/t/alpha/elderly_visits/people/{person_id}", headers=bearer(api(world_a, "worker")))
    assert one.json["sensitive"] is True
    assert one.json["contacts"][0]["phone"] == body["contacts"][0]["phone"]
    leader = client.get(f"/api/v1/t/alpha/elderly_visits/people/{person_id}", headers=bearer(api(world_a, "leader")))
    assert leader.json["sensitive"] is False
    assert leader.json["contacts"] is None


def test_the_api_refuses_bad_input_in_chinese_and_stores_nothing(client, world_a: World) -> None:
    token = api(world_a, "cadre")
    body = {**world_a.person_data(), "birth_date": "1948-06-01", "id_number": "110101194806010021"}
    body["worker_id"] = str(body["worker_id"])
    body.pop("backup_worker_id")
    body["contacts"] = [{"name": "儿子"}]
    resp = client.post("/api/v1/t/alpha/elderly_visits/people", json=body, headers=bearer(token))
    assert resp.status_code == 422
    assert resp.json["code"] == "validation_error"
    assert "居民身份证" in resp.json["errors"]["id_number"][0]
    assert "contacts" in resp.json["errors"]
    assert _count(world_a, ElderlyPerson) == 0


def test_a_visit_sent_twice_with_one_idempotency_key_is_kept_once(client, world_a: World) -> None:
    p = world_a.register()
    token = api(world_a, "worker")
    url = f"/api/v1/t/alpha/elderly_visits/people/{p.id}/visits"
    body = {"health": "good", "mood": "fair", "kind": "phone", "notes": "电话问候"}
    first = client.post(url, json=body, headers={**bearer(token), "Idempotency-Key": "offline-7f3a"})
    again = client.post(url, json=body, headers={**bearer(token), "Idempotency-Key": "offline-7f3a"})
    assert first.status_code == again.status_code == 201
    assert first.json["id"] == again.json["id"]
    assert _count(world_a, Visit) == 1
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    resp = client.post(url, json={**body, "visited_at": future}, headers=bearer(token))
    assert resp.status_code == 422
    assert "未来" in resp.json["errors"]["visited_at"]
    assert _count(world_a, Visit) == 1


def test_another_districts_resident_and_emergency_are_not_found(client, world_a: World, world_b: World) -> None:
    p = world_a.register()
    with world_a.session() as s:
        e = services.raise_emergency(s, world_a.tenant, world_a.actor(s, "worker"), p.id, {"kind": "fall"})
        s.commit()
    token_b = api(world_b, "admin")
    for url in (f"/api/v1/t/beta/elderly_visits/people/{p.id}", f"/api/v1/t/beta/elderly_visits/emergencies/{e.id}",
                f"/api/v1/t/beta/elderly_visits/people/{p.id}/visits"):
        assert client.get(url, headers=bearer(token_b)).status_code == 404, url
    resp = client.post(f"/api/v1/t/beta/elderly_visits/people/{p.id}/visits", json={"health": "good", "mood": "good"},
                       headers=bearer(api(world_b, "worker")))
    assert resp.status_code == 404
    resp = client.post(f"/api/v1/t/beta/elderly_visits/emergencies/{e.id}/close",
                       json={"version": e.version, "outcome": "x"}, headers=bearer(token_b))
    assert resp.status_code == 404
    assert _count(world_a, Visit) == 0
    with world_a.session() as s:
        assert s.scalars(sa.select(Emergency.state)).one() == "raised"


def test_the_api_moves_an_emergency_and_refuses_a_stale_version(client, world_a: World) -> None:
    p = world_a.register()
    token = api(world_a, "cadre")
    raised = client.post(f"/api/v1/t/alpha/elderly_visits/people/{p.id}/emergencies",
                         json={"kind": "no_answer", "description": "敲门无人应答，电话不通"}, headers=bearer(token))
    assert raised.status_code == 201
    eid, version = raised.json["id"], raised.json["version"]
    ack = client.post(f"/api/v1/t/alpha/elderly_visits/emergencies/{eid}/ack", json={"version": version},
                      headers=bearer(token))
    assert ack.json["state"] == "acknowledged"
    stale = client.post(f"/api/v1/t/alpha/elderly_visits/emergencies/{eid}/ack", json={"version": version},
                        headers=bearer(token))
    assert stale.status_code == 409
    acted = client.post(f"/api/v1/t/alpha/elderly_visits/emergencies/{eid}/actions",
                        json={"kind": "family_told", "note": "女儿已赶来"}, headers=bearer(token))
    assert [a["kind"] for a in acted.json["actions"]] == ["family_told"]
    closed = client.post(f"/api/v1/t/alpha/elderly_visits/emergencies/{eid}/close",
                         json={"version": acted.json["version"], "outcome": "老人在邻居家，平安"},
                         headers=bearer(token))
    assert closed.json["state"] == "closed"
    listed = client.get("/api/v1/t/alpha/elderly_visits/emergencies", headers=bearer(token))
    assert listed.json["items"] == []


def test_a_worker_logs_a_visit_from_the_phone_list(client, login_as, world_a: World) -> None:
    p = world_a.register(categories=["alone"])
    with world_a.session() as s:
        s.execute(sa.update(ElderlyPerson).values(next_visit_on=services.today_in(world_a.tenant)))
        s.commit()
    login_as(world_a.users["worker"])
    page = client.get("/t/alpha/elderly_visits/?due=today")
    assert page.status_code == 200
    assert p.name in text_of(page.text)
    form = client.get(f"/t/alpha/elderly_visits/people/{p.id}/visit")
    assert form.status_code == 200
    key = form.text.split('name="client_key" value="')[1].split('"')[0]
    data = {"client_key": key, "kind": "home", "health": "good", "mood": "poor", "needs": ["repair", "company"],
            "need_note": "灯坏了", "notes": "情绪低落，多陪聊", "visited_at": "", "duration_min": "25"}
    done = client.post(f"/t/alpha/elderly_visits/people/{p.id}/visit", data=data)
    assert done.status_code == 302
    client.post(f"/t/alpha/elderly_visits/people/{p.id}/visit", data=data)  # a double tap
    assert _count(world_a, Visit) == 1
    detail = client.get(f"/t/alpha/elderly_visits/people/{p.id}")
    text = text_of(detail.text)
    assert "情绪低落" in text
    assert "高血压" in text  # the assigned worker reads the health notes
    assert world_a.get(p).next_visit_on > services.today_in(world_a.tenant)


def test_a_bad_visit_form_says_what_is_wrong_and_keeps_nothing(client, login_as, world_a: World) -> None:
    p = world_a.register()
    login_as(world_a.users["worker"])
    resp = client.post(f"/t/alpha/elderly_visits/people/{p.id}/visit",
                       data={"kind": "home", "health": "excellent", "mood": "good", "visited_at": "2099-01-01T10:00"})
    assert resp.status_code == 422
    assert 'aria-invalid' in resp.text or "field-error" in resp.text
    assert _count(world_a, Visit) == 0


def test_the_leader_sees_the_record_without_health_notes_and_no_view_is_logged(client, login_as,
                                                                                world_a: World) -> None:
    p = world_a.register()
    login_as(world_a.users["leader"])
    text = text_of(client.get(f"/t/alpha/elderly_visits/people/{p.id}").text)
    assert p.name in text
    assert "高血压" not in text
    assert f"{world_a.phone_head}0001" not in text
    with world_a.session() as s:
        assert s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "elderly_visits.view_sensitive")).all() == []


def test_a_cadre_registers_raises_and_closes_an_emergency_on_the_pages(client, login_as, world_a: World) -> None:
    login_as(world_a.users["cadre"])
    assert client.get(f"/t/alpha/elderly_visits/people/new?grid_code={world_a.code('g1')}").status_code == 200
    data = world_a.person_data()
    form = {"grid_code": data["grid_code"], "name": data["name"], "sex": "f", "birth_date": "1948-06-01",
            "id_number": data["id_number"], "worker_id": str(data["worker_id"]), "categories": ["alone", "disabled"],
            "consent": "1", "contact0_name": "女儿", "contact0_phone": "13800138000", "contact0_relation": "子女"}
    resp = client.post("/t/alpha/elderly_visits/people/new", data=form)
    assert resp.status_code == 302, text_of(resp.text)
    with world_a.session() as s:
        person = s.scalars(sa.select(ElderlyPerson)).one()
    assert person.categories == ["alone", "disabled"]
    resp = client.post(f"/t/alpha/elderly_visits/people/{person.id}/emergency", data={"kind": "fall"})
    assert resp.status_code == 302
    with world_a.session() as s:
        e = s.scalars(sa.select(Emergency)).one()
    url = f"/t/alpha/elderly_visits/emergencies/{e.id}/close"
    closed = client.post(url, data={"version": e.version, "outcome": ""})
    assert closed.status_code == 422
    closed = client.post(f"/t/alpha/elderly_visits/emergencies/{e.id}/close",
                         data={"version": e.version, "outcome": "已送医"})
    assert closed.status_code == 302
    assert "已送医" in text_of(client.get(f"/t/alpha/elderly_visits/emergencies/{e.id}").text)


def test_a_registration_form_without_consent_or_with_a_contact_without_phone_is_refused(client, login_as,
                                                                                      world_a: World) -> None:
    login_as(world_a.users["cadre"])
    data = world_a.person_data()
    form = {"grid_code": data["grid_code"], "name": data["name"], "sex": "f", "birth_date": "1948-06-01",
            "id_number": data["id_number"], "worker_id": str(data["worker_id"]), "contact0_name": "女儿"}
    resp = client.post("/t/alpha/elderly_visits/people/new", data=form)
    assert resp.status_code == 422
    assert _count(world_a, ElderlyPerson) == 0


def test_a_district_without_the_module_has_no_pages_or_api(client, login_as, world_a: World) -> None:
    p = world_a.register()
    world_a.factory.enable_module(world_a.tenant, "elderly_visits", on=False)
    login_as(world_a.users["cadre"])
    assert client.get("/t/alpha/elderly_visits/").status_code == 404
    assert client.get(f"/api/v1/t/alpha/elderly_visits/people/{p.id}",
                      headers=bearer(api(world_a, "cadre"))).status_code == 404
    world_a.factory.enable_module(world_a.tenant, "elderly_visits")
    assert client.get("/t/alpha/elderly_visits/").status_code == 200


def test_a_visit_logged_later_on_the_page_takes_the_districts_local_time(client, login_as, world_a: World) -> None:
    p = world_a.register(categories=["alone"])
    login_as(world_a.users["worker"])
    local = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    resp = client.post(f"/t/alpha/elderly_visits/people/{p.id}/visit", data={
        "kind": "home", "health": "good", "mood": "good", "visited_at": local.strftime("%Y-%m-%dT%H:%M")})
    assert resp.status_code == 302
    with world_a.session() as s:
        visit = s.scalars(sa.select(Visit)).one()
    assert abs(visit.visited_at - local) < dt.timedelta(minutes=1)
    assert world_a.get(p).next_visit_on == local.date() + dt.timedelta(days=7)


def test_the_phone_list_costs_the_same_statements_for_two_residents_as_for_twenty(client, login_as,
                                                                                  world_a: World) -> None:
    from saas.db import statements

    login_as(world_a.users["worker"])

    def count() -> int:
        client.get("/t/alpha/elderly_visits/?due=all")  # warm: the first request of a process reads more
        with statements() as seen:
            assert client.get("/t/alpha/elderly_visits/?due=all").status_code == 200
        return len(seen)

    for _ in range(2):
        world_a.register()
    few = count()
    for _ in range(18):
        world_a.register(categories=["alone"])
    assert count() == few
