"""The tally (dimension averages per channel with 不了解 left out, channel weights renormalised over the channels
that have ballots, the minimum ballot count, ranking) and the organiser's page and API: participation counts
while open, never scores before the close; results after the close, public once published."""

from __future__ import annotations

import pytest

from blueprints.cadre_evaluation import services
from tests.blueprints.cadre_evaluation.conftest import World, all_levels
from tests.plugin import bearer, text_of


def _world_with_ballots(world: World) -> tuple:
    campaign = world.campaign(targets=3, min_ballots=2)
    world.step(campaign, "open")
    a, b, c = world.targets(campaign)
    # A: online only; one voter all 满意 (100), one all 基本满意 (80) but 不了解 on 依法办事
    world.vote(campaign, "13900000001", {a.id: all_levels("satisfied"), b.id: all_levels("satisfied"),
                                         c.id: all_levels("satisfied")})
    world.vote(campaign, "13900000002", {a.id: all_levels("fair", law="unknown")})
    # B: one online 满意 (above) and one on-site 不满意 (0)
    world.vote(campaign, "13900000003", {b.id: all_levels("dissatisfied")}, channel="onsite")
    return campaign, a, b, c


def test_the_tally_weighs_dimensions_and_channels_and_leaves_out_unknown(world_a: World) -> None:
    campaign, a, b, c = _world_with_ballots(world_a)
    world_a.step(campaign, "close")
    with world_a.session() as s:
        rows = {r["target"].id: r for r in services.tally(s, services.get_campaign(s, campaign.id))}
    ra, rb, rc = rows[a.id], rows[b.id], rows[c.id]
    online = ra["channels"]["online"]
    assert online["dimensions"]["duty"] == pytest.approx(90)
    assert online["dimensions"]["law"] == pytest.approx(100)  # 不了解 is not a zero: only the 满意 counts
    assert online["score"] == pytest.approx((90 * 4 + 100) / 5)
    assert ra["total"] == pytest.approx(92)  # online only: its own score, not 40 % of it
    assert ra["ballots"] == 2
    assert ra["unknown_share"] == pytest.approx(1 / 10)
    assert set(ra["channels"]) == {"online"}
    # B: online 100 (weight 40) and on-site 0 (weight 30), renormalised over the two channels with ballots
    assert rb["total"] == pytest.approx(100 * 40 / 70)
    assert rb["channels"]["onsite"]["score"] == pytest.approx(0)
    # C: one ballot, below the minimum of two: not scored, ranked after the scored
    assert rc["total"] is None
    assert not rc["scored"]
    assert rc["ballots"] == 1
    assert [ra["rank"], rb["rank"], rc["rank"]] == [1, 2, None]


def test_a_channel_of_weight_zero_does_not_count(world_a: World) -> None:
    campaign = world_a.campaign(targets=1, min_ballots=1,
                                channel_weights={"onsite": 0, "online": 100, "department": 0})
    world_a.step(campaign, "open")
    (t,) = world_a.targets(campaign)
    world_a.vote(campaign, "13900000001", {t.id: all_levels("fair")})
    world_a.vote(campaign, "13900000002", {t.id: all_levels("dissatisfied")}, channel="onsite")
    world_a.step(campaign, "close")
    with world_a.session() as s:
        (row,) = services.tally(s, services.get_campaign(s, campaign.id))
    assert row["total"] == pytest.approx(80)
    assert row["ballots"] == 2


def test_while_open_the_organiser_sees_counts_never_scores(client, login_as, world_a: World) -> None:
    campaign, *_ = _world_with_ballots(world_a)
    page = login_as(world_a.admin).get(f"/t/alpha/cadre_evaluation/campaigns/{campaign.id}")
    assert page.status_code == 200
    text = text_of(page.get_data(as_text=True))
    assert "网络在线评：4 票" in text
    assert "会议现场评：1 票" in text
    assert "参评人数：3" in text
    assert "加权总分" not in text
    assert "评议结束后才显示得分" in text
    token = world_a.factory.token(world_a.admin)
    results = client.get(f"/api/v1/t/alpha/cadre_evaluation/campaigns/{campaign.id}/results", headers=bearer(token))
    assert results.status_code == 403
    assert "评议结束" in results.json["message"]
    counts = client.get(f"/api/v1/t/alpha/cadre_evaluation/campaigns/{campaign.id}/participation",
                        headers=bearer(token))
    assert counts.json == {"onsite": 1, "online": 4, "department": 0, "raters": 3}
    public = text_of(client.get(f"/t/alpha/cadre_evaluation/c/{campaign.id}").get_data(as_text=True))
    assert "加权总分" not in public


def test_the_organiser_opens_closes_and_publishes_on_the_page(client, login_as, world_a: World) -> None:
    campaign, _a, *_ = _world_with_ballots(world_a)
    browser = login_as(world_a.admin)
    assert browser.post(f"/t/alpha/cadre_evaluation/campaigns/{campaign.id}/close").status_code == 302
    page = text_of(browser.get(f"/t/alpha/cadre_evaluation/campaigns/{campaign.id}").get_data(as_text=True))
    assert "加权总分" in page
    assert "92.00" in page
    assert "不计分：不足 2 票" in page
    # the public sees results only once published
    browser.get("/t/alpha/logout")
    anonymous = client.application.test_client()
    assert "加权总分" not in text_of(anonymous.get(f"/t/alpha/cadre_evaluation/c/{campaign.id}").get_data(as_text=True))
    browser = login_as(world_a.admin)
    assert browser.post(f"/t/alpha/cadre_evaluation/campaigns/{campaign.id}/publish").status_code == 302
    assert world_a.get(campaign).state == "published"
    published = text_of(anonymous.get(f"/t/alpha/cadre_evaluation/c/{campaign.id}").get_data(as_text=True))
    assert "加权总分" in published
    assert "92.00" in published
    # a step out of order is refused with a message, nothing changed
    again = browser.post(f"/t/alpha/cadre_evaluation/campaigns/{campaign.id}/open")
    assert again.status_code == 409
    assert "现在不能进行此操作" in text_of(again.get_data(as_text=True))
    assert world_a.get(campaign).state == "published"


def test_the_organiser_sets_up_a_campaign_on_the_page(login_as, world_a: World) -> None:
    browser = login_as(world_a.admin)
    made = browser.post("/t/alpha/cadre_evaluation/campaigns",
                        data={"name": "2025年千人评科长", "period_start": "2024-07-01", "period_end": "2025-06-30"})
    assert made.status_code == 302
    url = made.headers["Location"]
    campaign_id = int(url.rstrip("/").split("/")[-1])
    bad = browser.post(f"/t/alpha/cadre_evaluation/campaigns/{campaign_id}/settings",
                       data={"w_onsite": "30", "w_online": "40", "w_department": "40"})
    assert bad.status_code == 422
    assert "各渠道权重之和必须为 100（现为 110）" in text_of(bad.get_data(as_text=True))
    assert world_a.get(campaign_id).channel_weights == {"onsite": 30, "online": 40, "department": 30}
    added = browser.post(f"/t/alpha/cadre_evaluation/campaigns/{campaign_id}/targets",
                         data={"name": "王科长", "department": "县行政审批局", "section": "企业登记科", "post": "科长"})
    assert added.status_code == 302
    assert [t.name for t in world_a.targets(campaign_id)] == ["王科长"]
    assert browser.post(f"/t/alpha/cadre_evaluation/campaigns/{campaign_id}/open").status_code == 302
    page = text_of(browser.get(f"/t/alpha/cadre_evaluation/campaigns/{campaign_id}").get_data(as_text=True))
    assert "活动已开始，评议维度、评价等级、权重和评议对象均不能再修改" in page


def test_only_the_organiser_reaches_the_organiser_pages(client, login_as, world_a: World) -> None:
    campaign = world_a.campaign(targets=1)
    worker = world_a.factory.user(world_a.tenant, None, name="路人", username="alpha-nobody")
    assert login_as(worker).get(f"/t/alpha/cadre_evaluation/campaigns/{campaign.id}").status_code == 403
    assert login_as(worker).post(f"/t/alpha/cadre_evaluation/campaigns/{campaign.id}/open").status_code == 403
    assert world_a.get(campaign).state == "draft"
