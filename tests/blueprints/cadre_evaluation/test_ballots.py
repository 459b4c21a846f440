"""Rating on the public page: a citizen verifies by phone code and rates; a second ballot, a wrong code, a level
off the scale, a ballot before the opening or after the close are each refused in Chinese with nothing stored;
the receipt tells that the ballot was counted and nothing else."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from blueprints.cadre_evaluation import services
from blueprints.cadre_evaluation.models import Ballot, LedgerEntry, PendingSubmission, Receipt, Score
from saas.db import utcnow
from tests.blueprints.cadre_evaluation.conftest import DIMS, World, all_levels, pow_fields
from tests.plugin import text_of

PHONE = "13812349876"


def stored(world: World) -> tuple[int, ...]:
    return tuple(world.count(m) for m in (LedgerEntry, PendingSubmission, Ballot, Score, Receipt))


def form_for(target_ids: list[int], level: str = "satisfied", **extra: str) -> dict[str, str]:
    data = {f"r-{t}-{d}": level for t in target_ids for d in DIMS}
    data.update(extra)
    return data


def rate_on_page(client, world: World, campaign_id: int, ratings: dict[str, str], phone: str = PHONE,
                 code: str | None = None) -> object:
    assert client.post(f"/t/alpha/cadre_evaluation/c/{campaign_id}/code", data={"phone": phone},
                       headers={"HX-Request": "true"}).status_code == 200
    page = f"/t/alpha/cadre_evaluation/c/{campaign_id}"
    proof = pow_fields(client, page) if client.get(page).status_code == 200 else {}
    return client.post(f"/t/alpha/cadre_evaluation/c/{campaign_id}/rate",
                       data={**ratings, **proof, "phone": phone, "code": code or world.last_code(phone)})


def test_a_citizen_verifies_and_rates_then_checks_the_receipt(client, world_a: World) -> None:
    campaign = world_a.campaign(targets=3)
    world_a.step(campaign, "open")
    targets = world_a.targets(campaign)
    page = client.get(f"/t/alpha/cadre_evaluation/c/{campaign.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert all(word in html for word in ("科长1", "履职尽责", "不了解"))
    assert 'name="viewport"' in html  # the base layout's phone viewport
    answer = rate_on_page(client, world_a, campaign.id, form_for([targets[0].id, targets[1].id]))
    assert answer.status_code == 200
    text = text_of(answer.get_data(as_text=True))
    assert "您的选票已收到" in text
    receipt = text.split("您的回执码：")[1].split()[0]
    # fewer than a batch: the submission waits; the ledger knows the phone's key rated two targets
    assert stored(world_a) == (2, 1, 0, 0, 0)
    checked = client.post(f"/t/alpha/cadre_evaluation/c/{campaign.id}/receipt", data={"receipt": receipt})
    assert "将随下一批计入" in text_of(checked.get_data(as_text=True))
    world_a.step(campaign, "close")
    assert stored(world_a) == (2, 0, 2, 10, 1)
    checked = text_of(client.post(f"/t/alpha/cadre_evaluation/c/{campaign.id}/receipt",
                                  data={"receipt": receipt.lower()}).get_data(as_text=True))
    assert "这张选票已计入" in checked
    # the receipt reveals nothing else: no target, level or phone
    assert not any(word in checked for word in ("科长1", "满意", "9876"))
    unknown = client.post(f"/t/alpha/cadre_evaluation/c/{campaign.id}/receipt", data={"receipt": "0000FFFF0000FFFF"})
    assert "没有使用这个回执码" in text_of(unknown.get_data(as_text=True))
    # the code is never stored in clear: only its hash
    with world_a.session() as s:
        assert s.scalars(sa.select(Receipt.receipt_hash)).one() == services.receipt_hash(receipt)


def test_a_second_ballot_on_the_same_target_is_refused_and_nothing_stored(client, world_a: World) -> None:
    campaign = world_a.campaign(targets=2)
    world_a.step(campaign, "open")
    t1, t2 = world_a.targets(campaign)
    assert rate_on_page(client, world_a, campaign.id, form_for([t1.id])).status_code == 200
    before = stored(world_a)
    again = rate_on_page(client, world_a, campaign.id, form_for([t1.id, t2.id]))
    assert again.status_code == 409
    assert "已评价过该评议对象" in text_of(again.get_data(as_text=True))
    assert stored(world_a) == before
    # the other target is still open to this person
    assert rate_on_page(client, world_a, campaign.id, form_for([t2.id])).status_code == 200
    assert world_a.count(LedgerEntry) == 2


def test_a_wrong_code_is_refused_and_nothing_stored(client, world_a: World) -> None:
    campaign = world_a.campaign(targets=1)
    world_a.step(campaign, "open")
    (t1,) = world_a.targets(campaign)
    right = None
    client.post(f"/t/alpha/cadre_evaluation/c/{campaign.id}/code", data={"phone": PHONE})
    right = world_a.last_code(PHONE)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    answer = client.post(f"/t/alpha/cadre_evaluation/c/{campaign.id}/rate",
                         data={**form_for([t1.id]), "phone": PHONE, "code": wrong})
    assert answer.status_code == 422
    assert "验证码错误或已过期" in text_of(answer.get_data(as_text=True))
    assert stored(world_a) == (0, 0, 0, 0, 0)
    assert wrong not in answer.get_data(as_text=True)


@pytest.mark.parametrize("bad", [
    {"level": "excellent"},            # not on the scale
    {"missing": "law"},                # a dimension left out
    {"target": "999"},                 # not a target of the campaign
    {"none": True},                    # nothing rated
])
def test_ratings_off_the_scale_are_refused_and_nothing_stored(client, world_a: World, bad: dict) -> None:
    campaign = world_a.campaign(targets=1)
    world_a.step(campaign, "open")
    (t1,) = world_a.targets(campaign)
    data = form_for([t1.id])
    if "level" in bad:
        data[f"r-{t1.id}-duty"] = bad["level"]
    if "missing" in bad:
        del data[f"r-{t1.id}-{bad['missing']}"]
    if "target" in bad:
        data = form_for([int(bad["target"])])
    if "none" in bad:
        data = {}
    answer = rate_on_page(client, world_a, campaign.id, data)
    assert answer.status_code in (409, 422)
    text = text_of(answer.get_data(as_text=True))
    assert any(m in text for m in ("请为每个维度选择给定的评价等级之一", "请对科长1的每个维度作出评价",
                                   "不是本次活动的评议对象", "请至少评价一位评议对象")), text
    assert stored(world_a) == (0, 0, 0, 0, 0)
    # the code was not spent on a refused ballot: the same code still rates
    ok = client.post(f"/t/alpha/cadre_evaluation/c/{campaign.id}/rate",
                     data={**form_for([t1.id]), **pow_fields(client, f"/t/alpha/cadre_evaluation/c/{campaign.id}"),
                           "phone": PHONE, "code": world_a.last_code(PHONE)})
    assert ok.status_code == 200


def test_ballots_before_the_opening_and_after_the_close_are_refused(client, world_a: World) -> None:
    campaign = world_a.campaign(targets=1)
    (t1,) = world_a.targets(campaign)
    # a draft campaign has no public page and takes no ballot
    assert client.get(f"/t/alpha/cadre_evaluation/c/{campaign.id}").status_code == 404
    with world_a.session() as s, pytest.raises(services.Refused):
        services.submit_ballot(s, world_a.tenant, campaign.id, PHONE, {t1.id: all_levels("satisfied")})
    # open, but its opening time is still ahead
    with world_a.session() as s:
        services.update_campaign(s, world_a.tenant, world_a.actor(s), campaign.id,
                                 {"opens_at": utcnow() + dt.timedelta(days=1),
                                  "closes_at": utcnow() + dt.timedelta(days=2)})
        s.commit()
    world_a.step(campaign, "open")
    early = rate_on_page(client, world_a, campaign.id, form_for([t1.id]))
    assert early.status_code == 409
    assert "评议尚未开始" in text_of(early.get_data(as_text=True))
    assert stored(world_a) == (0, 0, 0, 0, 0)
    world_a.step(campaign, "close")
    late = client.post(f"/t/alpha/cadre_evaluation/c/{campaign.id}/rate",
                       data={**form_for([t1.id]), "phone": PHONE, "code": "123456"})
    assert late.status_code == 409
    assert "评议已结束" in text_of(late.get_data(as_text=True))
    assert stored(world_a) == (0, 0, 0, 0, 0)


def test_a_ballot_past_the_closing_time_is_refused_while_the_state_is_still_open(world_a: World) -> None:
    campaign = world_a.campaign(targets=1)
    (t1,) = world_a.targets(campaign)
    with world_a.session() as s:
        services.update_campaign(s, world_a.tenant, world_a.actor(s), campaign.id,
                                 {"opens_at": utcnow() - dt.timedelta(days=2),
                                  "closes_at": utcnow() - dt.timedelta(seconds=1)})
        s.commit()
    world_a.step(campaign, "open")
    with world_a.session() as s, pytest.raises(services.Refused, match="评议已结束"):
        services.submit_ballot(s, world_a.tenant, campaign.id, PHONE, {t1.id: all_levels("satisfied")})
    assert stored(world_a) == (0, 0, 0, 0, 0)


def test_a_full_batch_moves_at_once_and_a_short_one_waits(world_a: World) -> None:
    campaign = world_a.campaign(targets=1)
    world_a.step(campaign, "open")
    (t1,) = world_a.targets(campaign)
    for i in range(2):
        world_a.vote(campaign, f"1390000000{i}", {t1.id: all_levels("fair")}, batch_size=3)
    assert stored(world_a) == (2, 2, 0, 0, 0)
    world_a.vote(campaign, "13900000009", {t1.id: all_levels("fair")}, batch_size=3)
    assert stored(world_a) == (3, 0, 3, 15, 3)


def test_a_staff_number_gets_no_code_and_cannot_rate(client, world_a: World, phone_codes) -> None:
    campaign = world_a.campaign(targets=1)
    world_a.step(campaign, "open")
    (t1,) = world_a.targets(campaign)
    staff_phone = world_a.admin.phone
    sent = client.post(f"/t/alpha/cadre_evaluation/c/{campaign.id}/code", data={"phone": staff_phone},
                       headers={"HX-Request": "true"})
    assert sent.status_code == 200  # the same answer as for anyone: the form does not tell who is staff
    assert not [n for n, _code in phone_codes.issued if n == staff_phone]
    answer = client.post(f"/t/alpha/cadre_evaluation/c/{campaign.id}/rate",
                         data={**form_for([t1.id]), "phone": staff_phone, "code": "123456"})
    assert answer.status_code == 422
    assert "验证码错误或已过期" in text_of(answer.get_data(as_text=True))
    assert stored(world_a) == (0, 0, 0, 0, 0)


def test_the_code_line_shows_the_code_on_the_embedded_default_only(app, client, world_a: World) -> None:
    """As on the kernel's code pages (saas.auth.shows_codes_on_page): a new user trying the embedded default can
    rate without an SMS gateway; any other set-up never shows a code."""
    from saas.config import INSTANCE

    campaign = world_a.campaign(targets=1)
    world_a.step(campaign, "open")

    def code_line() -> str:
        return client.post(f"/t/alpha/cadre_evaluation/c/{campaign.id}/code", data={"phone": PHONE},
                           headers={"HX-Request": "true"}).get_data(as_text=True)

    assert "data-dev-code" not in code_line()
    app.config["DATABASE_URL"] = f"sqlite:///{INSTANCE / 'wanggetong.sqlite'}"
    shown = code_line()
    if app.config["BACKEND"] == "sqlite":
        assert f'data-dev-code="{world_a.last_code(PHONE)}"' in shown
    else:
        assert "data-dev-code" not in shown


def test_a_receipt_is_known_in_its_own_campaign_only(world_a: World) -> None:
    first, second = world_a.campaign(targets=1), world_a.campaign(targets=1, name="2024年千人评站所长")
    for campaign in (first, second):
        world_a.step(campaign, "open")
    (t1,) = world_a.targets(first)
    counted = world_a.vote(first, PHONE, {t1.id: all_levels("fair")}, batch_size=1)
    waiting = world_a.vote(first, "13900000001", {t1.id: all_levels("fair")}, batch_size=2)
    with world_a.session() as s:
        assert services.check_receipt(s, first.id, counted) == "counted"
        assert services.check_receipt(s, first.id, waiting) == "waiting"
        assert services.check_receipt(s, second.id, counted) is None
        assert services.check_receipt(s, second.id, waiting) is None
