"""The three channels: seat codes made in batches and spent once, invitations for designated groups, the
proof-of-work challenge before an online ballot, paper ballots with void-and-replace corrections, departmental
scores, and one ballot per person and target across all of them. Every refusal in Chinese, nothing stored."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
import sqlalchemy as sa

from blueprints.cadre_evaluation import channels, services
from blueprints.cadre_evaluation.models import (
    Ballot,
    Invitation,
    LedgerEntry,
    Opinion,
    PaperSheet,
    PendingSubmission,
    RaterGroup,
    SeatCode,
    SpentChallenge,
)
from saas import pow
from saas.audit import AuditEntry
from tests.blueprints.cadre_evaluation.conftest import DIMS, World, all_levels, pow_fields
from tests.plugin import bearer, text_of

PHONE = "13812349876"
BASE = "/t/alpha/cadre_evaluation"


API = "/api/v1/t/alpha/cadre_evaluation"


def api_get(world: World, path: str, user: Any = None) -> Any:
    token = world.factory.token(user or world.admin)
    return world.app.test_client().get(f"{API}{path}", headers=bearer(token))


def form_for(target_ids: list[int], level: str = "satisfied", **extra: str) -> dict[str, str]:
    data = {f"r-{t}-{d}": level for t in target_ids for d in DIMS}
    data.update(extra)
    return data


def stored(world: World) -> tuple[int, ...]:
    return tuple(world.count(m) for m in (LedgerEntry, PendingSubmission, Ballot, Opinion))


def open_campaign(world: World, targets: int = 2) -> tuple[Any, list[Any]]:
    campaign = world.campaign(targets=targets)
    world.step(campaign, "open")
    return campaign, world.targets(campaign)


def seats(client: Any, world: World, campaign_id: int, count: int = 2, **extra: str) -> list[tuple[int, str, str]]:
    """Seat codes made on the organiser's page, read off the printed sheet as a person would: seat, code, URL."""
    answer = client.post(f"{BASE}/campaigns/{campaign_id}/seats", data={"count": str(count), **extra})
    assert answer.status_code == 200, text_of(answer.get_data(as_text=True))
    html = answer.get_data(as_text=True)
    assert answer.headers["Cache-Control"] == "no-store"
    assert html.count('src="data:image/svg+xml') == count  # a QR code per seat, drawn by saas.qr
    found = re.findall(r'data-seat="(\d+)".*?<code>([a-z0-9]+)</code>.*?href="([^"]+)" data-seat-link', html, re.S)
    assert len(found) == count
    return [(int(s), code, url) for s, code, url in found]


def seat_path(url: str) -> str:
    return url.split("localhost", 1)[1]


def rate_by_seat(client: Any, world: World, url: str, ratings: dict[str, str], phone: str = PHONE,
                 code: str | None = None) -> Any:
    campaign_id = int(re.search(r"/c/(\d+)/", url).group(1))  # type: ignore[union-attr]
    if code is None:
        assert client.post(f"{BASE}/c/{campaign_id}/code", data={"phone": phone}).status_code == 200
        code = world.last_code(phone)
    return client.post(seat_path(url), data={**ratings, "phone": phone, "code": code})


def test_seat_codes_are_made_in_batches_printed_once_and_stored_as_hashes(login_as, world_a: World) -> None:
    campaign, _targets = open_campaign(world_a)
    client = login_as(world_a.admin)
    first = seats(client, world_a, campaign.id, 3)
    second = seats(client, world_a, campaign.id, 2)
    assert [s for s, _c, _u in first + second] == [1, 2, 3, 4, 5]
    with world_a.session() as s:
        rows = list(s.scalars(sa.select(SeatCode).order_by(SeatCode.seat)))
        dumped = " ".join(str(v) for r in rows for v in vars(r).values())
    assert [r.batch for r in rows] == [1, 1, 1, 2, 2]
    for _seat, code, url in first + second:
        assert code not in dumped  # only the hash is kept
        assert channels.code_hash(code) in dumped
        assert url.endswith(f"/c/{campaign.id}/seat/{code}")
    page = text_of(client.get(f"{BASE}/campaigns/{campaign.id}/channels").get_data(as_text=True))
    assert "第1批" in page
    assert "座位1–3" in page
    assert not any(code in page for _s, code, _u in first)  # never shown again
    with world_a.session() as s:
        entries = list(s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "cadre_evaluation.issue_seat_codes")))
    assert [e.after["count"] for e in entries] == [3, 2]
    assert not any(code in str(e.after) for e in entries for _s, code, _u in first)


def test_a_scanned_seat_rates_once_and_its_code_is_spent(client, login_as, world_a: World) -> None:
    campaign, (t1, t2) = open_campaign(world_a)
    (_seat, _code, url), (_seat2, _code2, url2) = seats(login_as(world_a.admin), world_a, campaign.id, 2)
    client.cookie_jar.clear() if hasattr(client, "cookie_jar") else None
    anon = world_a.app.test_client()
    page = anon.get(seat_path(url))
    assert page.status_code == 200
    assert "会议现场评" in text_of(page.get_data(as_text=True))
    answer = rate_by_seat(anon, world_a, url, form_for([t1.id], **{f"o-{t1.id}": "窗口办事很快"}))
    assert answer.status_code == 200, text_of(answer.get_data(as_text=True))
    assert "您的选票已收到" in text_of(answer.get_data(as_text=True))
    with world_a.session() as s:
        assert s.scalars(sa.select(SeatCode.spent).order_by(SeatCode.seat)).all() == [True, False]
        assert s.scalars(sa.select(LedgerEntry.channel)).all() == ["onsite"]
    again = anon.get(seat_path(url))
    assert again.status_code == 409
    assert "这个座位码已经使用过" in text_of(again.get_data(as_text=True))
    before = stored(world_a)
    spent = rate_by_seat(anon, world_a, url, form_for([t2.id]), phone="13812340001")
    assert spent.status_code == 409
    assert "这个座位码已经使用过" in text_of(spent.get_data(as_text=True))
    assert stored(world_a) == before
    # the same phone at another seat: the ledger knows the person, not the seat
    twice = rate_by_seat(anon, world_a, url2, form_for([t1.id]))
    assert twice.status_code == 409
    assert "已评价过该评议对象" in text_of(twice.get_data(as_text=True))
    assert stored(world_a) == before
    with world_a.session() as s:
        assert s.scalars(sa.select(SeatCode.spent).order_by(SeatCode.seat)).all() == [True, False]


def test_unknown_expired_and_other_campaigns_seat_codes_are_refused(client, login_as, world_a: World) -> None:
    campaign, (t1, _t2) = open_campaign(world_a)
    other, _ = open_campaign(world_a)
    ((_s, code, url),) = seats(login_as(world_a.admin), world_a, campaign.id, 1)
    anon = world_a.app.test_client()
    unknown = anon.get(f"{BASE}/c/{campaign.id}/seat/zzzzzzzzzzzzzzzzzzzz")
    assert unknown.status_code == 404
    assert "座位码无效" in text_of(unknown.get_data(as_text=True))
    assert anon.get(f"{BASE}/c/{other.id}/seat/{code}").status_code == 404
    with world_a.session() as s:
        s.execute(sa.update(SeatCode).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
        s.commit()
    expired = anon.get(seat_path(url))
    assert expired.status_code == 409
    assert "座位码已过期" in text_of(expired.get_data(as_text=True))
    answer = rate_by_seat(anon, world_a, url, form_for([t1.id]))
    assert answer.status_code == 409
    assert stored(world_a) == (0, 0, 0, 0)


def test_a_refused_seat_ballot_stores_nothing_and_leaves_the_seat_unspent(client, login_as, world_a: World) -> None:
    campaign, (t1, _t2) = open_campaign(world_a)
    ((_s, _code, url),) = seats(login_as(world_a.admin), world_a, campaign.id, 1)
    anon = world_a.app.test_client()
    off_scale = rate_by_seat(anon, world_a, url, form_for([t1.id], level="excellent"))
    assert off_scale.status_code == 422
    assert "请为每个维度选择给定的评价等级之一" in text_of(off_scale.get_data(as_text=True))
    assert anon.post(f"{BASE}/c/{campaign.id}/code", data={"phone": PHONE}).status_code == 200
    right = world_a.last_code(PHONE)
    wrong = rate_by_seat(anon, world_a, url, form_for([t1.id]), code=f"{(int(right) + 1) % 1_000_000:06d}")
    assert wrong.status_code == 422
    assert "验证码错误或已过期" in text_of(wrong.get_data(as_text=True))
    assert stored(world_a) == (0, 0, 0, 0)
    with world_a.session() as s:
        assert s.scalars(sa.select(SeatCode.spent)).one() is False
    world_a.step(campaign, "close")
    late = rate_by_seat(anon, world_a, url, form_for([t1.id]))
    assert late.status_code == 409
    assert "评议已结束" in text_of(late.get_data(as_text=True))


def test_an_online_ballot_needs_a_solved_challenge_used_once(client, world_a: World) -> None:
    campaign, (t1, t2) = open_campaign(world_a)
    page = f"{BASE}/c/{campaign.id}"

    def post(extra: dict[str, str], target: int, phone: str = PHONE) -> Any:
        client.post(f"{page}/code", data={"phone": phone})
        return client.post(f"{page}/rate", data={**form_for([target]), **extra, "phone": phone,
                                                 "code": world_a.last_code(phone)})

    missing = post({}, t1.id)
    assert missing.status_code == 422
    assert "防刷验证尚未完成" in text_of(missing.get_data(as_text=True))
    proof = pow_fields(client, page)
    wrong = post({**proof, "pow": str(int(proof["pow"]) + 1)}, t1.id)
    if pow.zero_bits(pow._digest(proof["pow_challenge"], str(int(proof["pow"]) + 1))) < 16:
        assert wrong.status_code == 422
        assert "防刷验证未通过" in text_of(wrong.get_data(as_text=True))
    forged = post({"pow_challenge": proof["pow_challenge"][:-2] + "xx", "pow": proof["pow"]}, t1.id)
    assert forged.status_code == 422
    assert stored(world_a) == (0, 0, 0, 0)
    assert post(proof, t1.id).status_code == 200
    replay = post(proof, t2.id, phone="13812340002")
    assert replay.status_code == 409
    assert "这个表单已经提交过" in text_of(replay.get_data(as_text=True))
    assert world_a.count(LedgerEntry) == 1
    # a challenge of another campaign does not pass here
    other, (o1, _o2) = open_campaign(world_a)
    foreign = client.post(f"{BASE}/c/{other.id}/rate",
                          data={**form_for([o1.id]), **pow_fields(client, page), "phone": "13812340003",
                                "code": "000000"})
    assert foreign.status_code in (409, 422)
    assert world_a.count(SpentChallenge) == 1


def invite(client: Any, campaign_id: int, group_id: int, phones: list[str]) -> Any:
    return client.post(f"{BASE}/campaigns/{campaign_id}/invitations",
                       data={"group_id": str(group_id), "phones": "\n".join(phones)})


def add_group(world: World, client: Any, campaign_id: int, name: str, channel: str, cap: str = "") -> int:
    answer = client.post(f"{BASE}/campaigns/{campaign_id}/groups", data={"name": name, "channel": channel, "cap": cap})
    assert answer.status_code == 302, text_of(answer.get_data(as_text=True))
    api = api_get(world, f"/campaigns/{campaign_id}/groups")
    return int(next(g["id"] for g in api.get_json()["items"] if g["name"] == name))


def test_invitations_for_a_group_respect_its_cap_and_name_the_same_person(client, login_as, world_a: World) -> None:
    campaign, (t1, t2) = open_campaign(world_a)
    admin = login_as(world_a.admin)
    group = add_group(world_a, admin, campaign.id, "企业代表", "online", "2")
    too_many = invite(admin, campaign.id, group, ["13812340011", "13812340012", "13812340013"])
    assert too_many.status_code == 422
    assert "最多" in text_of(too_many.get_data(as_text=True))
    assert world_a.count(Invitation) == 0
    made = invite(admin, campaign.id, group, [PHONE, "13812340012"])
    assert made.status_code == 200
    html = made.get_data(as_text=True)
    tokens = re.findall(r"<code>([a-z0-9]+)</code>", html)
    links = re.findall(r'href="([^"]+)" data-invitation-link', html)
    assert len(tokens) == 2
    assert len(links) == 2
    assert PHONE not in html  # masked on the sheet
    with world_a.session() as s:
        dumped = " ".join(str(v) for r in s.scalars(sa.select(Invitation)) for v in vars(r).values())
    assert PHONE not in dumped
    assert not any(t in dumped for t in tokens)
    again = invite(admin, campaign.id, group, [PHONE])
    assert again.status_code == 422
    anon = world_a.app.test_client()
    # the invited phone rates t1 by phone code first; its invitation then cannot rate t1 again
    page = f"{BASE}/c/{campaign.id}"
    anon.post(f"{page}/code", data={"phone": PHONE})
    assert anon.post(f"{page}/rate", data={**form_for([t1.id]), **pow_fields(anon, page), "phone": PHONE,
                                           "code": world_a.last_code(PHONE)}).status_code == 200
    path = seat_path(links[0])
    before = stored(world_a)
    twice = anon.post(path, data={**form_for([t1.id]), **pow_fields(anon, path)})
    assert twice.status_code == 409
    assert "已评价过该评议对象" in text_of(twice.get_data(as_text=True))
    assert stored(world_a) == before
    ok = anon.post(path, data={**form_for([t2.id]), **pow_fields(anon, path)})
    assert ok.status_code == 200
    spent = anon.post(path, data={**form_for([t2.id]), **pow_fields(anon, page)})
    assert spent.status_code == 409
    assert "邀请码已经使用过" in text_of(spent.get_data(as_text=True))
    shown = anon.get(path)
    assert shown.status_code == 409
    assert "邀请码已经使用过" in text_of(shown.get_data(as_text=True))
    assert anon.get(f"{page}/invited/nope").status_code == 404
    unknown = anon.post(f"{page}/invited/nope", data={**form_for([t2.id]), **pow_fields(anon, page)})
    assert unknown.status_code == 404
    assert "邀请码无效" in text_of(unknown.get_data(as_text=True))
    with world_a.session() as s:
        assert sorted(s.scalars(sa.select(LedgerEntry.channel))) == ["online", "online"]
        assert len(set(s.scalars(sa.select(LedgerEntry.rater_key)))) == 1


def test_paper_ballots_are_entered_corrected_by_void_and_replace_and_counted_on_site(login_as, world_a: World) -> None:
    campaign, (t1, t2) = open_campaign(world_a)
    admin = login_as(world_a.admin)
    url = f"{BASE}/campaigns/{campaign.id}/sheets"
    assert admin.post(url, data={"number": "001", **form_for([t1.id, t2.id], level="fair")}).status_code == 302
    dup = admin.post(url, data={"number": "001", **form_for([t1.id])})
    assert dup.status_code == 422
    assert "已录入" in text_of(dup.get_data(as_text=True))
    bad = admin.post(url, data={"number": "002", **form_for([t1.id], level="great")})
    assert bad.status_code == 422
    assert world_a.count(PaperSheet) == 1
    counts = api_get(world_a, f"/campaigns/{campaign.id}/participation").get_json()
    assert counts["onsite"] == 2
    with world_a.session() as s:
        sheet = s.scalars(sa.select(PaperSheet)).one()
    fix = admin.post(f"{url}/{sheet.id}", data=form_for([t1.id], level="dissatisfied", **{f"o-{t1.id}": "态度差"}))
    assert fix.status_code == 302
    with world_a.session() as s:
        rows = {r.state: r for r in s.scalars(sa.select(PaperSheet))}
        actions = list(s.scalars(sa.select(AuditEntry.action).where(AuditEntry.object_type == "cadre_sheet")
                                 .order_by(AuditEntry.id)))
    assert rows["void"].id == sheet.id
    assert rows["valid"].replaces_id == sheet.id
    assert rows["valid"].number == "001"
    assert rows["valid"].ratings == {str(t1.id): all_levels("dissatisfied")}
    assert actions == ["cadre_evaluation.enter_sheet", "cadre_evaluation.void_sheet", "cadre_evaluation.enter_sheet"]
    assert admin.post(f"{url}/{sheet.id}", data=form_for([t1.id])).status_code == 409  # the void one is done
    counts = api_get(world_a, f"/campaigns/{campaign.id}/participation").get_json()
    assert counts["onsite"] == 1
    world_a.step(campaign, "close")
    with world_a.session() as s:
        assert s.execute(sa.select(Ballot.channel, Ballot.target_id)).all() == [("onsite", t1.id)]
        assert s.scalars(sa.select(Opinion.text)).all() == ["态度差"]
        assert s.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)) == 0  # a sheet names nobody
    late = admin.post(url, data={"number": "003", **form_for([t1.id])})
    assert late.status_code == 409
    assert world_a.count(Ballot) == 1


def department_rater(world: World, unit_code: str, name: str, phone: str | None) -> Any:
    factory = world.factory
    factory.unit(world.tenant, "department", unit_code, name=name)
    return factory.user(world.tenant, "cadre_department_rater", unit_code, name=f"{name}评议员", phone=phone)


def test_a_department_rater_scores_each_target_once(login_as, world_a: World) -> None:
    campaign, (t1, t2) = open_campaign(world_a)
    rater = department_rater(world_a, "d-tax", "县税务局", "13812340077")
    client = login_as(rater)
    home = client.get(f"{BASE}/department")
    assert home.status_code == 200
    assert campaign.name in text_of(home.get_data(as_text=True))
    page = client.get(f"{BASE}/department/{campaign.id}")
    assert page.status_code == 200
    assert "科长1" in text_of(page.get_data(as_text=True))
    answer = client.post(f"{BASE}/department/{campaign.id}", data=form_for([t1.id], level="fair"))
    assert answer.status_code == 200
    assert "您的选票已收到" in text_of(answer.get_data(as_text=True))
    again = client.post(f"{BASE}/department/{campaign.id}", data=form_for([t1.id, t2.id]))
    assert again.status_code == 409
    assert "已评价过该评议对象" in text_of(again.get_data(as_text=True))
    left = text_of(client.get(f"{BASE}/department/{campaign.id}").get_data(as_text=True))
    assert "您已评价：科长1" in left
    with world_a.session() as s:
        entry = s.scalars(sa.select(LedgerEntry)).one()
        # the department user's key is their phone's: the same person as when they verify the phone online
        assert entry.channel == "department"
        assert entry.rater_key == services.rater_key(services.get_campaign(s, campaign.id), "13812340077")
    # an organiser without the role, and a citizen, cannot use the department's door
    assert login_as(world_a.admin).post(f"{BASE}/department/{campaign.id}",
                                        data=form_for([t2.id])).status_code == 403
    assert world_a.count(LedgerEntry) == 1


def test_opinions_reach_the_targets_department_and_the_organiser_without_identity(login_as, world_a: World) -> None:
    campaign = world_a.campaign(targets=0)
    with world_a.session() as s:
        for name, dept in (("张科长", "县税务局"), ("李科长", "县市场监管局")):
            services.add_target(s, world_a.tenant, world_a.actor(s), campaign.id,
                                {"name": name, "department": dept, "section": "一科", "post": "科长", "duties": ""})
        s.commit()
    world_a.step(campaign, "open")
    tax, market = world_a.targets(campaign)
    world_a.vote(campaign, PHONE, {tax.id: all_levels("fair"), market.id: all_levels("fair")})
    with world_a.session() as s:
        services.submit_ballot(s, world_a.tenant, campaign.id, "13812340005", {tax.id: all_levels("satisfied")},
                               opinions={tax.id: "办事公道"})
        s.commit()
        services.move_ballots(s, services.get_campaign(s, campaign.id), batch_size=1)
        s.commit()
    with world_a.session() as s, pytest.raises(services.ServiceError):
        services.submit_ballot(s, world_a.tenant, campaign.id, "13812340006", {tax.id: all_levels("satisfied")},
                               opinions={market.id: "没评他却留言"})
    handler_unit = world_a.factory.unit(world_a.tenant, "department", "d-tax", name="县税务局")
    assert handler_unit is not None
    handler = world_a.factory.user(world_a.tenant, "dept_handler", "d-tax", name="税务局经办")
    text = text_of(login_as(handler).get(f"{BASE}/campaigns/{campaign.id}/opinions").get_data(as_text=True))
    assert "办事公道" in text
    assert "张科长" in text
    assert "李科长" not in text
    world_a.factory.unit(world_a.tenant, "department", "d-x", name="县水利局")
    other = world_a.factory.user(world_a.tenant, "dept_handler", "d-x", name="水利局经办")
    assert "办事公道" not in text_of(login_as(other).get(f"{BASE}/campaigns/{campaign.id}/opinions")
                                     .get_data(as_text=True))
    organiser = api_get(world_a, f"/campaigns/{campaign.id}/opinions")
    assert organiser.status_code == 200
    assert [o["text"] for r in organiser.get_json()["items"] for o in r["opinions"]] == ["办事公道"]
    citizen = world_a.factory.user(world_a.tenant, None, name="居民")
    assert login_as(citizen).get(f"{BASE}/campaigns/{campaign.id}/opinions").status_code == 403


def test_the_department_form_shows_business_feedback_figures_only_where_that_module_is_on(login_as,
                                                                                           world_a: World) -> None:
    campaign, (t1, _t2) = open_campaign(world_a)
    rater = department_rater(world_a, "d-market", "县市场监管局", None)  # the targets' department
    client = login_as(rater)
    off = text_of(client.get(f"{BASE}/department/{campaign.id}").get_data(as_text=True))
    assert "营商环境监督数据" not in off
    world_a.factory.enable_module(world_a.tenant, "business_feedback")
    on = text_of(login_as(rater).get(f"{BASE}/department/{campaign.id}").get_data(as_text=True))
    assert "县市场监管局营商环境监督数据" in on
    assert "收到事项 0" in on
    assert "按时答复 —" in on
    # a rater without a phone is keyed by their account, and still once per target
    assert client.post(f"{BASE}/department/{campaign.id}", data=form_for([t1.id])).status_code == 200
    assert client.post(f"{BASE}/department/{campaign.id}", data=form_for([t1.id])).status_code == 409
    assert world_a.count(LedgerEntry) == 1


def test_the_organiser_turns_an_opinion_into_a_rectification_item_once(login_as, world_a: World) -> None:
    from blueprints.cadre_evaluation.models import Opinion, RectificationItem

    campaign, (t1, _t2) = open_campaign(world_a)
    with world_a.session() as s:
        services.submit_ballot(s, world_a.tenant, campaign.id, "13812340007", {t1.id: all_levels("satisfied")},
                               opinions={t1.id: "窗口排队太久，建议增开周末窗口"})
        s.commit()
        services.move_ballots(s, services.get_campaign(s, campaign.id), batch_size=1)
        s.commit()
        opinion_id = s.scalars(sa.select(Opinion.id)).one()
    url = f"{BASE}/campaigns/{campaign.id}/opinions/{opinion_id}/item"
    handler = world_a.factory.user(world_a.tenant, "dept_handler", None, name="经办人")
    assert login_as(handler).post(url).status_code == 403
    assert world_a.count(RectificationItem) == 0
    organiser = login_as(world_a.admin)
    page = text_of(organiser.get(f"{BASE}/campaigns/{campaign.id}/opinions").get_data(as_text=True))
    assert "转为整改事项" in page
    done = organiser.post(url)
    assert done.status_code == 303
    assert done.headers["Location"].endswith(f"/campaigns/{campaign.id}/followup")
    with world_a.session() as s:
        item = s.scalars(sa.select(RectificationItem)).one()
        assert (item.target_id, item.source, item.text, item.state) == (
            t1.id, "opinion", "窗口排队太久，建议增开周末窗口", "open")
    again = organiser.post(url, follow_redirects=True)
    assert "这条意见已是整改事项。" in text_of(again.get_data(as_text=True))
    assert world_a.count(RectificationItem) == 1
    assert organiser.post(f"{BASE}/campaigns/{campaign.id}/opinions/999/item").status_code == 303
    assert world_a.count(RectificationItem) == 1


def test_seat_codes_and_invitations_made_as_a_pdf_work_when_typed(login_as, world_a: World) -> None:
    """The PDF button gives the same cards as the print view, once, as a PDF (read back with pypdf): each page's
    code, typed where a phone cannot scan, opens its seat; the codes are kept only as hashes."""
    import pypdf

    campaign, (t1, _t2) = open_campaign(world_a)
    client = login_as(world_a.admin)
    answer = client.post(f"{BASE}/campaigns/{campaign.id}/seats", data={"count": "14", "as": "pdf"})
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/pdf"
    assert answer.headers["Cache-Control"] == "no-store"
    assert f'filename="seats-{campaign.id}.pdf"' in answer.headers["Content-Disposition"]
    pages = [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(answer.data)).pages]
    assert len(pages) == 2  # twelve cards to an A4 sheet
    text = "\n".join(pages)
    assert all(f"座位{n}" in text.replace(" ", "") for n in (1, 12, 13, 14))
    codes = re.findall(r"^([a-z0-9]{10,})$", text, re.M)
    assert len(codes) == 14
    with world_a.session() as s:
        hashes = set(s.scalars(sa.select(SeatCode.code_hash)))
    assert {channels.code_hash(code) for code in codes} == hashes
    anon = world_a.app.test_client()
    rated = rate_by_seat(anon, world_a, f"http://localhost{BASE}/c/{campaign.id}/seat/{codes[13]}", form_for([t1.id]))
    assert "您的选票已收到" in text_of(rated.get_data(as_text=True))

    group = client.post(f"{BASE}/campaigns/{campaign.id}/groups", data={"name": "企业代表", "channel": "online"})
    assert group.status_code == 302
    with world_a.session() as s:
        group_id = s.scalars(sa.select(RaterGroup.id).where(RaterGroup.name == "企业代表")).one()
    invited = client.post(f"{BASE}/campaigns/{campaign.id}/invitations",
                          data={"group_id": str(group_id), "phones": "13812340011\n13812340012", "as": "pdf"})
    assert invited.headers["Content-Type"] == "application/pdf"
    text = pypdf.PdfReader(io.BytesIO(invited.data)).pages[0].extract_text()
    assert "138****0011" in text.replace(" ", "")
    assert "13812340011" not in text.replace(" ", "")



def test_the_opinions_service_refuses_someone_without_the_right(world_a: World) -> None:
    from saas.actors import Actor
    from tenants.models import User

    campaign = world_a.campaign(targets=1)
    citizen = world_a.factory.user(world_a.tenant, None, name="居民")
    with world_a.session() as s:
        plain = Actor(s.scalars(sa.select(User).where(User.id == citizen.id)).one(),
                      world_a.app.extensions["saas.roles"], frozenset({"cadre_evaluation"}))
        with pytest.raises(services.Refused) as err:  # refused, not an empty list: every door asks the service
            channels.opinions_for(s, plain, campaign.id)
    assert err.value.status == 403
