"""An emergency nobody on the registry matched: the community's cadre sees it, links it to its resident (one of the
candidates, or one found by name), and until then it is taken on and escalated like any other; the reporter's
phone is read in full only by those who may read residents' contacts."""

from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa

from blueprints.elderly_visits import jobs, services
from blueprints.elderly_visits.models import ElderlyPerson, Emergency
from blueprints.elderly_visits.neighbours import report_neighbour_emergency
from saas.audit import AuditEntry
from saas.notify import Notification
from saas.schemas import mask_phone
from tests.blueprints.elderly_visits.conftest import World
from tests.plugin import bearer, text_of

API = "/api/v1/t/alpha/elderly_visits"


def phone_of(world: World) -> str:
    return f"{world.phone_head}6666"


def unlinked(world: World, name: str = "李大爷", grid: str = "g1") -> Emergency:
    with world.session() as s:
        e = report_neighbour_emergency(s, world.tenant, {"grid": world.code(grid), "name": name, "room": "2号楼",
                                                         "kind": "fall", "description": "摔倒了",
                                                         "phone": phone_of(world)})
        s.commit()
        return e


def _get(world: World, emergency_id: int) -> Emergency:
    with world.session() as s:
        return s.scalars(sa.select(Emergency).where(Emergency.id == emergency_id)).one()


def _notices(world: World, who: str) -> list[str]:
    with world.session() as s:
        return [n.kind for n in s.scalars(sa.select(Notification).where(
            Notification.user_id == world.users[who].id).order_by(Notification.id))]


def test_the_cadre_sees_an_unlinked_emergency_in_the_list_and_on_its_page(client, world_a: World, login_as) -> None:
    e = unlinked(world_a)
    login_as(world_a.users["cadre"])
    page = text_of(client.get("/t/alpha/elderly_visits/emergencies").get_data(as_text=True))
    assert "李大爷" in page
    assert "未关联" in page
    only = text_of(client.get("/t/alpha/elderly_visits/emergencies?unlinked=1").get_data(as_text=True))
    assert "李大爷" in only
    detail = client.get(f"/t/alpha/elderly_visits/emergencies/{e.id}")
    assert detail.status_code == 200
    assert phone_of(world_a) in detail.get_data(as_text=True)  # the cadre calls the neighbour back
    listed = client.get(f"{API}/emergencies?unlinked=true", headers=bearer(world_a.factory.token(
        world_a.users["cadre"])))
    assert [(x["id"], x["person_id"], x["linked"], x["source"]) for x in listed.json["items"]] == [
        (str(e.id), None, False, "neighbour")]


def test_another_community_and_another_district_do_not_see_it(client, world_a: World, world_b: World,
                                                             login_as) -> None:
    e = unlinked(world_a)
    login_as(world_a.users["cadre2"])
    assert client.get(f"/t/alpha/elderly_visits/emergencies/{e.id}").status_code == 404
    assert "李大爷" not in client.get("/t/alpha/elderly_visits/emergencies").get_data(as_text=True)
    token_b = world_b.factory.token(world_b.users["admin"])
    assert client.get(f"/api/v1/t/beta/elderly_visits/emergencies/{e.id}", headers=bearer(token_b)).status_code == 404


def test_only_those_who_may_read_contacts_read_the_reporters_phone(client, world_a: World, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    e = unlinked(world_a)
    for who, clear in (("cadre", True), ("admin", True), ("street", False), ("leader", False), ("worker", False)):
        resp = client.get(f"{API}/emergencies/{e.id}", headers=bearer(world_a.factory.token(world_a.users[who])))
        assert resp.status_code == 200, (who, resp.json)
        expected = phone_of(world_a) if clear else mask_phone(phone_of(world_a))
        assert resp.json["reporter_phone"] == expected, who
        listed = client.get(f"{API}/emergencies", headers=bearer(world_a.factory.token(world_a.users[who])))
        assert (phone_of(world_a) in listed.get_data(as_text=True)) is clear, who
    with world_a.session() as s:
        entries = list(s.scalars(sa.select(AuditEntry)))
        assert all(phone_of(world_a) not in f"{x.before} {x.after}" for x in entries)
        # a full read of the reporter's phone is in the audit log, like a resident's contacts
        assert {x.actor_id for x in entries if x.action == "elderly_visits.view_sensitive"
                and x.object_type == "emergency"} == {world_a.users["cadre"].id, world_a.users["admin"].id}
        bodies = " ".join(f"{n.title} {n.body}" for n in s.scalars(sa.select(Notification)))
        assert phone_of(world_a) not in bodies
    assert phone_of(world_a) not in caplog.text


def test_the_cadre_links_a_candidate_and_the_residents_workers_and_family_hear(client, world_a: World,
                                                                             login_as) -> None:
    one = world_a.register(name="李大爷", backup_worker_id=world_a.users["backup"].id)
    two = world_a.register(name="李大爷", grid_code=world_a.code("g2"), worker_id=world_a.users["worker2"].id)
    three = world_a.register(name="李大爷")
    e = unlinked(world_a)
    assert e.person_id is None
    assert sorted(e.candidate_ids) == sorted([str(one.id), str(three.id)])
    assert _notices(world_a, "worker2") == []
    login_as(world_a.users["cadre"])
    page = client.get(f"/t/alpha/elderly_visits/emergencies/{e.id}").get_data(as_text=True)
    assert f'value="{one.id}"' in page
    assert f'value="{three.id}"' in page
    # searching by name finds the resident of the other grid too
    found = client.get(f"/t/alpha/elderly_visits/emergencies/{e.id}?q=李").get_data(as_text=True)
    assert f'value="{two.id}"' in found
    resp = client.post(f"/t/alpha/elderly_visits/emergencies/{e.id}/link",
                       data={"person_id": str(one.id), "version": str(e.version)})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    linked = _get(world_a, e.id)
    assert (linked.person_id, linked.linked_by_id, linked.grid_id) == (one.id, world_a.users["cadre"].id,
                                                                        one.grid_id)
    # the grid heard when it was raised; the family hears now, once
    assert _notices(world_a, "worker") == ["elderly_visits.emergency"]
    with world_a.session() as s:
        family = s.scalars(sa.select(Notification).where(Notification.kind == "elderly_visits.emergency_family"))
        assert len(list(family)) == 1
        assert s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "elderly_visits.emergency_linked")).one()
    detail = text_of(client.get(f"/t/alpha/elderly_visits/emergencies/{e.id}").get_data(as_text=True))
    assert "未关联" not in detail
    # a second link is refused: it is the resident's now
    again = client.post(f"/t/alpha/elderly_visits/emergencies/{e.id}/link",
                        data={"person_id": str(three.id), "version": str(linked.version)})
    assert again.status_code == 409
    assert _get(world_a, e.id).person_id == one.id


def test_linking_is_refused_clearly_and_changes_nothing(client, world_a: World, world_b: World) -> None:
    world_a.register(name="王大妈")
    far = world_a.register("cadre2", name="别的老人", grid_code=world_a.code("g3"),
                           worker_id=world_a.users["worker3"].id)
    other = world_b.register()
    e = unlinked(world_a)
    cadre = bearer(world_a.factory.token(world_a.users["cadre"]))
    for person_id in (far.id, other.id, 999999):
        resp = client.post(f"{API}/emergencies/{e.id}/link", json={"person_id": person_id, "version": e.version},
                           headers=cadre)
        assert resp.status_code == 422, resp.json
        assert "person_id" in resp.json["errors"]
    stale = client.post(f"{API}/emergencies/{e.id}/link", json={"person_id": 1, "version": e.version + 5},
                        headers=cadre)
    assert stale.status_code == 409
    worker = bearer(world_a.factory.token(world_a.users["worker"]))
    assert client.post(f"{API}/emergencies/{e.id}/link", json={"person_id": far.id, "version": e.version},
                       headers=worker).status_code == 403
    assert _get(world_a, e.id).person_id is None


def test_an_unlinked_emergency_is_taken_on_and_escalated_like_any_other(client, world_a: World) -> None:
    e = unlinked(world_a)
    with world_a.session() as s:
        assert jobs.escalate_emergencies(world_a.tenant.id, now=e.raised_at + dt.timedelta(minutes=10)) == 1
        s.commit()
    assert _notices(world_a, "street") == ["elderly_visits.emergency_unanswered"]
    with world_a.session() as s:
        [notice] = s.scalars(sa.select(Notification).where(Notification.user_id == world_a.users["street"].id))
        assert "李大爷" in f"{notice.title} {notice.body}"
        assert phone_of(world_a) not in f"{notice.title} {notice.body}"
        # once
        assert jobs.escalate_emergencies(world_a.tenant.id, now=e.raised_at + dt.timedelta(minutes=20)) == 0
    second = unlinked(world_a, name="张奶奶")
    with world_a.session() as s:
        done = services.acknowledge_emergency(s, world_a.actor(s, "leader"), second.id, second.version)
        assert done.state == "acknowledged"
        services.add_action(s, world_a.actor(s, "leader"), second.id, {"kind": "arrived", "note": "", "version": None})
        services.close_emergency(s, world_a.actor(s, "cadre"), second.id, {"version": done.version, "outcome": "送医"})
        s.commit()
    with world_a.session() as s:
        assert jobs.escalate_emergencies(world_a.tenant.id, now=second.raised_at + dt.timedelta(minutes=30)) == 0
    assert _get(world_a, second.id).state == "closed"
    assert world_a.get(world_a.register()).id  # the registry is untouched by an unlinked emergency
    with world_a.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ElderlyPerson)) == 1


def test_the_page_offers_its_forms_only_to_those_who_may_act(client, world_a: World, login_as) -> None:
    """The grid's worker sees an unlinked emergency of the grid but may not act on it (no resident of theirs yet):
    the page offers them neither the link nor the steps, which would be refused; the cadre gets both."""
    e = unlinked(world_a)
    for who, offered in (("worker", False), ("cadre", True)):
        login_as(world_a.users[who])
        html = client.get(f"/t/alpha/elderly_visits/emergencies/{e.id}").get_data(as_text=True)
        assert (f"/emergencies/{e.id}/link" in html) is offered, who
        assert (f"/emergencies/{e.id}/ack" in html) is offered, who
        assert "摔倒了" in html  # both read what happened
