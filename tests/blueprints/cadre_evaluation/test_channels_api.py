"""The channels in the JSON API (and in the OpenAPI document): the organiser's groups, seat codes, invitations,
paper ballots and opinions; ballots online (challenge, phone code or invitation), from a seat and from a
department, each refused in Chinese with nothing stored; and the statements a request costs, which do not grow
with the campaign's rows."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from blueprints.cadre_evaluation import channels
from blueprints.cadre_evaluation.models import LedgerEntry, NetworkCount, PaperSheet, PendingSubmission, SeatCode
from saas import pow
from saas.db import statements
from tests.blueprints.cadre_evaluation.conftest import DIMS, World, all_levels
from tests.plugin import bearer, text_of

API = "/api/v1/t/alpha/cadre_evaluation"
PHONE = "13812349876"


def ratings(*target_ids: int, level: str = "satisfied") -> dict[str, dict[str, str]]:
    return {str(t): all_levels(level) for t in target_ids}


def app_client(world: World) -> Any:
    """An app calling the API with its own token (any signed-in person's), for the raters using it."""
    from flask.testing import FlaskClient

    token = world.factory.token(world.factory.user(world.tenant, "resident", name="评议App"))

    class Client(FlaskClient):
        def open(self, *args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("headers", {}).update(bearer(token))
            return super().open(*args, **kwargs)

    world.app.test_client_class = Client
    try:
        return world.app.test_client()
    finally:
        world.app.test_client_class = None


def proof(anon: Any, campaign_id: int) -> dict[str, str]:
    got = anon.get(f"{API}/campaigns/{campaign_id}/challenge")
    assert got.status_code == 200
    body = got.get_json()
    return {"pow_challenge": body["challenge"], "pow": pow.solve(body["challenge"], body["bits"])}


def test_the_openapi_document_lists_the_channels(app) -> None:
    doc = app.test_client().get("/api/openapi.json").get_json()
    paths = {p for p in doc["paths"] if "/cadre_evaluation/" in p}
    for tail in ("groups", "seat-codes", "invitations", "paper-ballots", "paper-ballots/{sheet_id}", "opinions",
                 "challenge", "phone-codes", "ballots", "seat-ballots", "department-ballots"):
        assert any(p.endswith(f"/campaigns/{{campaign_id}}/{tail}") for p in paths), tail
    ballots = next(v for p, v in doc["paths"].items() if p.endswith("/campaigns/{campaign_id}/ballots"))["post"]
    assert "security" not in ballots  # a token, as every district route of the API
    assert "SHA-256" in next(v for p, v in doc["paths"].items() if p.endswith("/challenge"))["get"]["summary"] + \
        next(v for p, v in doc["paths"].items() if p.endswith("/challenge"))["get"].get("description", "")


def test_an_online_ballot_by_phone_code_and_challenge_through_the_api(world_a: World) -> None:
    campaign = world_a.campaign(targets=2)
    world_a.step(campaign, "open")
    t1, t2 = world_a.targets(campaign)
    anon = app_client(world_a)
    assert anon.post(f"{API}/campaigns/{campaign.id}/phone-codes", json={"phone": PHONE}).status_code == 200
    code = world_a.last_code(PHONE)
    no_proof = anon.post(f"{API}/campaigns/{campaign.id}/ballots",
                         json={"phone": PHONE, "code": code, "ratings": ratings(t1.id), "pow_challenge": "x",
                               "pow": "1"})
    assert no_proof.status_code == 422
    assert "防刷验证未通过" in no_proof.get_json()["message"]
    off_scale = anon.post(f"{API}/campaigns/{campaign.id}/ballots",
                          json={"phone": PHONE, "code": code, "ratings": {str(t1.id): all_levels("great")},
                                **proof(anon, campaign.id)})
    assert off_scale.status_code == 422
    assert "请为每个维度选择给定的评价等级之一" in str(off_scale.get_json()["errors"])
    no_phone = anon.post(f"{API}/campaigns/{campaign.id}/ballots",
                         json={"ratings": ratings(t1.id), **proof(anon, campaign.id)})
    assert no_phone.status_code == 422
    assert "邀请码" in str(no_phone.get_json()["errors"])
    assert world_a.count(LedgerEntry) == 0
    ok = anon.post(f"{API}/campaigns/{campaign.id}/ballots",
                   json={"phone": PHONE, "code": code, "ratings": ratings(t1.id),
                         "opinions": {str(t1.id): "很负责"}, **proof(anon, campaign.id)})
    assert ok.status_code == 201, ok.get_json()
    assert len(ok.get_json()["receipt"]) == 16
    with world_a.session() as s:
        assert s.scalars(sa.select(PendingSubmission.opinions)).one() == {str(t1.id): "很负责"}
        # the API's ballot counts towards the burst flags as the page's does; the refused ones did not
        assert s.execute(sa.select(NetworkCount.target_id, NetworkCount.count)).all() == [(t1.id, 1)]
    anon.post(f"{API}/campaigns/{campaign.id}/phone-codes", json={"phone": PHONE})
    wrong = anon.post(f"{API}/campaigns/{campaign.id}/ballots",
                      json={"phone": PHONE, "code": "000000" if world_a.last_code(PHONE) != "000000" else "111111",
                            "ratings": ratings(t2.id), **proof(anon, campaign.id)})
    assert wrong.status_code == 422
    assert "验证码错误或已过期" in str(wrong.get_json()["errors"])
    assert world_a.count(LedgerEntry) == 1


def test_the_organiser_makes_codes_and_invitations_and_enters_sheets_through_the_api(world_a: World) -> None:
    campaign = world_a.campaign(targets=2)
    world_a.step(campaign, "open")
    t1, t2 = world_a.targets(campaign)
    admin = bearer(world_a.factory.token(world_a.admin))
    client = world_a.app.test_client()
    group = client.post(f"{API}/campaigns/{campaign.id}/groups", json={"name": "特约监督员", "channel": "online",
                                                                      "cap": 1}, headers=admin)
    assert group.status_code == 201
    seat_group = client.post(f"{API}/campaigns/{campaign.id}/groups",
                             json={"name": "党风政风观测员", "channel": "onsite"}, headers=admin).get_json()
    wrong_channel = client.post(f"{API}/campaigns/{campaign.id}/groups",
                                json={"name": "部门", "channel": "department"}, headers=admin)
    assert wrong_channel.status_code == 422
    seats = client.post(f"{API}/campaigns/{campaign.id}/seat-codes", json={"count": 2, "group_id": seat_group["id"]},
                        headers=admin)
    assert seats.status_code == 201
    items = seats.get_json()["items"]
    assert [i["seat"] for i in items] == [1, 2]
    assert all(i["url"].endswith(i["code"]) for i in items)
    too_many = client.post(f"{API}/campaigns/{campaign.id}/seat-codes", json={"count": 201}, headers=admin)
    assert too_many.status_code == 422
    invited = client.post(f"{API}/campaigns/{campaign.id}/invitations",
                          json={"group_id": group.get_json()["id"], "phones": [PHONE]}, headers=admin)
    assert invited.status_code == 201
    token = invited.get_json()["items"][0]["token"]
    over_cap = client.post(f"{API}/campaigns/{campaign.id}/invitations",
                           json={"group_id": group.get_json()["id"], "phones": ["13812340001"]}, headers=admin)
    assert over_cap.status_code == 422
    assert "最多" in str(over_cap.get_json()["errors"])
    # a seat's ballot through the API, and the invitation's
    anon = app_client(world_a)
    anon.post(f"{API}/campaigns/{campaign.id}/phone-codes", json={"phone": "13812340002"})
    seat = anon.post(f"{API}/campaigns/{campaign.id}/seat-ballots",
                     json={"seat_code": items[0]["code"], "phone": "13812340002",
                           "code": world_a.last_code("13812340002"), "ratings": ratings(t1.id)})
    assert seat.status_code == 201
    spent = anon.post(f"{API}/campaigns/{campaign.id}/seat-ballots",
                      json={"seat_code": items[0]["code"], "phone": "13812340003", "code": "123456",
                            "ratings": ratings(t1.id)})
    assert spent.status_code == 409
    assert "座位码已经使用过" in spent.get_json()["message"]
    by_token = anon.post(f"{API}/campaigns/{campaign.id}/ballots",
                         json={"invitation": token, "ratings": ratings(t1.id, t2.id), **proof(anon, campaign.id)})
    assert by_token.status_code == 201
    with world_a.session() as s:
        assert sorted(s.scalars(sa.select(LedgerEntry.channel))) == ["online", "online", "onsite"]
        assert s.scalars(sa.select(SeatCode.spent).order_by(SeatCode.seat)).all() == [True, False]
        # the invitation's ballot counts its two targets towards the burst flags; the seat's (a meeting shares
        # the venue's network) does not
        assert sorted(s.execute(sa.select(NetworkCount.target_id, NetworkCount.count))) == sorted(
            [(t1.id, 1), (t2.id, 1)])
    sheet = client.post(f"{API}/campaigns/{campaign.id}/paper-ballots",
                        json={"number": "A-7", "ratings": ratings(t2.id, level="fair")}, headers=admin)
    assert sheet.status_code == 201
    fixed = client.put(f"{API}/campaigns/{campaign.id}/paper-ballots/{sheet.get_json()['id']}",
                       json={"ratings": ratings(t2.id, level="dissatisfied")}, headers=admin)
    assert fixed.status_code == 200
    assert fixed.get_json()["replaces_id"] == sheet.get_json()["id"]
    listed = client.get(f"{API}/campaigns/{campaign.id}/paper-ballots", headers=admin).get_json()["items"]
    assert sorted(i["state"] for i in listed) == ["valid", "void"]
    again = client.put(f"{API}/campaigns/{campaign.id}/paper-ballots/{sheet.get_json()['id']}",
                       json={"ratings": ratings(t2.id)}, headers=admin)
    assert again.status_code == 409
    assert world_a.count(PaperSheet) == 2
    # a citizen's token reaches none of the organiser's operations
    citizen = bearer(world_a.factory.token(world_a.factory.user(world_a.tenant, None, name="居民")))
    assert client.post(f"{API}/campaigns/{campaign.id}/seat-codes", json={"count": 1},
                       headers=citizen).status_code == 403


def test_a_department_ballot_through_the_api(world_a: World) -> None:
    campaign = world_a.campaign(targets=1)
    world_a.step(campaign, "open")
    (t1,) = world_a.targets(campaign)
    world_a.factory.unit(world_a.tenant, "department", "d-tax", name="县税务局")
    rater = world_a.factory.user(world_a.tenant, "cadre_department_rater", "d-tax", phone="13812340088")
    headers = bearer(world_a.factory.token(rater))
    client = world_a.app.test_client()
    url = f"{API}/campaigns/{campaign.id}/department-ballots"
    assert client.post(url, json={"ratings": ratings(t1.id)}, headers=headers).status_code == 201
    again = client.post(url, json={"ratings": ratings(t1.id)}, headers=headers)
    assert again.status_code == 409
    assert "已评价过该评议对象" in again.get_json()["message"]
    organiser = bearer(world_a.factory.token(world_a.admin))
    assert client.post(url, json={"ratings": ratings(t1.id)}, headers=organiser).status_code == 403
    world_a.step(campaign, "close")
    late = client.post(url, json={"ratings": ratings(t1.id)}, headers=headers)
    assert late.status_code == 409
    assert "评议已结束" in late.get_json()["message"]


def test_a_draft_campaign_takes_no_ballot_and_gives_no_challenge(world_a: World) -> None:
    campaign = world_a.campaign(targets=1)
    anon = app_client(world_a)
    assert anon.get(f"{API}/campaigns/{campaign.id}/challenge").status_code == 404
    early = anon.post(f"{API}/campaigns/{campaign.id}/ballots",
                      json={"phone": PHONE, "code": "123456", "ratings": {}, "pow_challenge": "x", "pow": "1"})
    assert early.status_code == 404
    assert world_a.count(LedgerEntry) == 0


def _count(client: Any, url: str, headers: dict[str, str] | None = None) -> int:
    assert client.get(url, headers=headers).status_code == 200, url
    with statements() as seen:
        assert client.get(url, headers=headers).status_code == 200, url
    return len(seen)


def test_statements_per_request_do_not_grow_with_the_campaigns_rows(login_as, world_a: World) -> None:
    campaign = world_a.campaign(targets=3)
    world_a.step(campaign, "open")
    targets = world_a.targets(campaign)
    with world_a.session() as s:
        made = channels.issue_seat_codes(s, world_a.tenant, world_a.actor(s), campaign.id, 2)
        s.commit()
    client = login_as(world_a.admin)
    token = bearer(world_a.factory.token(world_a.admin))
    api = world_a.app.test_client()
    world_a.factory.unit(world_a.tenant, "department", "d-tax", name="县市场监管局")
    world_a.factory.user(world_a.tenant, "cadre_department_rater", "d-tax", phone="13812340099")
    rater_client = world_a.app.test_client()
    login_as(rater_client) if False else None
    pages = [f"/t/alpha/cadre_evaluation/campaigns/{campaign.id}/channels",
             f"/t/alpha/cadre_evaluation/campaigns/{campaign.id}/opinions",
             f"/t/alpha/cadre_evaluation/c/{campaign.id}/seat/{made[0]['code']}",
             f"/t/alpha/cadre_evaluation/c/{campaign.id}"]
    apis = [f"{API}/campaigns/{campaign.id}/groups", f"{API}/campaigns/{campaign.id}/paper-ballots",
            f"{API}/campaigns/{campaign.id}/opinions"]

    def counts() -> dict[str, int]:
        return {u: _count(client, u) for u in pages} | {u: _count(api, u, token) for u in apis}

    def grow(start: int, stop: int) -> None:
        with world_a.session() as s:
            actor = world_a.actor(s)
            for i in range(start, stop):
                channels.add_group(s, world_a.tenant, actor, campaign.id, {"name": f"群组{i}", "channel": "online"})
                channels.enter_sheet(s, world_a.tenant, actor, campaign.id, f"{i:03d}",
                                     {t.id: all_levels("fair") for t in targets}, {targets[0].id: f"意见{i}"})
            channels.issue_seat_codes(s, world_a.tenant, actor, campaign.id, stop - start)
            s.commit()
        for i in range(start, stop):
            world_a.vote(campaign, f"1390000{i:04d}", {targets[1].id: all_levels("fair")}, batch_size=1)

    grow(0, 3)
    few = counts()
    grow(3, 40)
    many = counts()
    grown = {u: (few[u], many[u]) for u in few if few[u] != many[u]}
    assert not grown, f"statements per request grew with the rows: {grown}"
    assert DIMS  # the rows above rated every dimension
    assert text_of(client.get(pages[0]).get_data(as_text=True)).count("更正") == 40
