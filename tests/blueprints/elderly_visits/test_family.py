"""The family's door: a person registered as a resident's emergency contact, signed in by phone code, raises an
emergency for their relative on the page or through the API, through the service every door uses; a stranger and
the contact of another resident may not."""

from __future__ import annotations

import sqlalchemy as sa

from blueprints.elderly_visits.models import Emergency
from saas.notify import Notification
from tests.blueprints.elderly_visits.conftest import World
from tests.plugin import bearer, text_of

PAGE = "/t/alpha/elderly_visits/family"
API = "/api/v1/t/alpha/elderly_visits/family"


def _emergencies(world: World) -> list[Emergency]:
    with world.session() as s:
        return list(s.scalars(sa.select(Emergency)))


def _contact_phone(world: World, person) -> str:  # type: ignore[no-untyped-def]
    with world.session() as s:
        from blueprints.elderly_visits.models import EmergencyContact

        return s.scalars(sa.select(EmergencyContact.phone).where(EmergencyContact.person_id == person.id)).one()


def test_the_page_asks_a_stranger_to_sign_in_by_phone_code(client, world_a: World) -> None:
    resp = client.get(PAGE)
    assert resp.status_code == 302
    assert "/t/alpha/citizen" in resp.headers["Location"]


def test_a_contact_raises_an_emergency_for_their_relative_on_the_page(client, world_a: World, login_as) -> None:
    p = world_a.register()
    other = world_a.register()
    daughter = world_a.citizen(_contact_phone(world_a, p))
    login_as(daughter)
    page = client.get(PAGE).get_data(as_text=True)
    assert p.name in page
    assert other.name not in page  # only their own relative is offered
    resp = client.post(PAGE, data={"person_id": str(p.id), "kind": "illness", "description": "胸口疼"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    [e] = _emergencies(world_a)
    assert (e.person_id, e.source, e.raised_by_id, e.reporter_phone) == (p.id, "family", daughter.id,
                                                                         daughter.phone)
    with world_a.session() as s:
        kinds = {(n.user_id, n.kind) for n in s.scalars(sa.select(Notification))}
    assert (world_a.users["worker"].id, "elderly_visits.emergency") in kinds
    assert (world_a.users["cadre"].id, "elderly_visits.emergency") in kinds
    # the one who raised it is not told of it by SMS
    assert (daughter.id, "elderly_visits.emergency_family") not in kinds


def test_a_contact_of_another_resident_may_not_act_for_this_one(client, world_a: World, login_as) -> None:
    p = world_a.register()
    other = world_a.register()
    login_as(world_a.citizen(_contact_phone(world_a, other)))
    resp = client.post(PAGE, data={"person_id": str(p.id), "kind": "fall", "description": ""})
    assert resp.status_code == 422
    assert "紧急联系人" in text_of(resp.get_data(as_text=True))
    assert _emergencies(world_a) == []


def test_a_stranger_signed_in_by_code_has_no_relative_and_may_not_raise(client, world_a: World, world_b: World,
                                                                        login_as) -> None:
    p = world_a.register()
    stranger = world_a.citizen(f"{world_a.phone_head}5555")
    login_as(stranger)
    assert "不是任何登记老人的紧急联系人" in text_of(client.get(PAGE).get_data(as_text=True))
    resp = client.post(PAGE, data={"person_id": str(p.id), "kind": "fall", "description": ""})
    assert resp.status_code == 422
    # another district's resident, by id, is nobody here
    theirs = world_b.register()
    assert client.post(PAGE, data={"person_id": str(theirs.id), "kind": "fall"}).status_code == 422
    assert _emergencies(world_a) == []
    assert _emergencies(world_b) == []


def test_staff_are_not_let_in_by_the_family_door(client, world_a: World, login_as) -> None:
    login_as(world_a.users["worker"])
    assert client.get(PAGE).status_code == 403


def test_bad_input_is_refused_in_chinese(client, world_a: World, login_as) -> None:
    p = world_a.register()
    login_as(world_a.citizen(_contact_phone(world_a, p)))
    for data, field in (({"person_id": str(p.id), "kind": "party"}, "kind"),
                        ({"person_id": str(p.id), "kind": "other", "description": ""}, "description"),
                        ({"person_id": "abc", "kind": "fall"}, "person_id")):
        resp = client.post(PAGE, data=data)
        assert resp.status_code == 422, data
        assert f'id="{field}-error"' in resp.get_data(as_text=True)
    assert _emergencies(world_a) == []


def test_the_api_lets_a_contact_raise_and_refuses_others(client, world_a: World) -> None:
    p = world_a.register()
    other = world_a.register()
    token = world_a.factory.token(world_a.citizen(_contact_phone(world_a, p)))
    relatives = client.get(f"{API}/relatives", headers=bearer(token))
    assert [r["id"] for r in relatives.json["items"]] == [str(p.id)]
    refused = client.post(f"{API}/emergencies", json={"person_id": str(other.id), "kind": "fall"},
                          headers=bearer(token))
    assert refused.status_code == 404
    assert _emergencies(world_a) == []
    resp = client.post(f"{API}/emergencies", json={"person_id": str(p.id), "kind": "fall", "description": "摔了"},
                       headers=bearer(token))
    assert resp.status_code == 201, resp.json
    [e] = _emergencies(world_a)
    assert (str(e.id), e.person_id, e.source) == (resp.json["id"], p.id, "family")
    # staff tokens are not the family's
    staff = client.post(f"{API}/emergencies", json={"person_id": str(p.id), "kind": "fall"},
                        headers=bearer(world_a.factory.token(world_a.users["cadre"])))
    assert staff.status_code == 403
