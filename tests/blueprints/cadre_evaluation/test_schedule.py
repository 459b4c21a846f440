"""The schedule: each step taken by the periodic job when its time comes (at the edge, not a second before),
steps caught up in order, a refused step left for the organiser, every step audited; nothing about weights,
scale or targets changes once open, while every change before is audited."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from blueprints.cadre_evaluation import schedule, services
from saas.actors import Actor
from saas.audit import AuditEntry
from tests.blueprints.cadre_evaluation.conftest import World
from tests.plugin import bearer

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)


def _times() -> dict[str, dt.datetime]:
    return {"announce_at": T0, "opens_at": T0 + dt.timedelta(days=7), "closes_at": T0 + dt.timedelta(days=14),
            "results_at": T0 + dt.timedelta(days=16), "followup_at": T0 + dt.timedelta(days=20)}


def _advance(world: World, now: dt.datetime) -> list[str]:
    with world.session() as s:
        system = Actor.system(world.app.extensions["saas.roles"], ("cadre_evaluation",))
        taken = schedule.advance(s, system, now)
        s.commit()
    return [step for _cid, step in taken]


@pytest.mark.parametrize(("step", "state_before", "state_after"), [
    ("announce_at", "draft", "announced"), ("opens_at", "announced", "open"), ("closes_at", "open", "closed"),
    ("results_at", "closed", "published"), ("followup_at", "published", "followup")])
def test_each_step_is_taken_at_its_time_and_not_a_second_before(world_a: World, step: str, state_before: str,
                                                                 state_after: str) -> None:
    times = _times()
    campaign = world_a.campaign(targets=2, **times)
    order = list(schedule.ORDER)
    for earlier in order[:order.index(step)]:
        _advance(world_a, times[earlier])
    assert world_a.get(campaign).state == state_before
    assert _advance(world_a, times[step] - SECOND) == []
    assert world_a.get(campaign).state == state_before
    _advance(world_a, times[step])
    assert world_a.get(campaign).state == state_after
    with world_a.session() as s:
        entry = s.scalars(sa.select(AuditEntry).where(AuditEntry.object_id == str(campaign.id))
                          .order_by(AuditEntry.id.desc())).first()
        assert entry.after == {"state": state_after}
        assert entry.before == {"state": state_before}
        assert entry.actor_id is None  # the system


def test_a_late_run_catches_up_every_step_in_order(world_a: World) -> None:
    campaign = world_a.campaign(targets=1, **_times())
    assert _advance(world_a, T0 + dt.timedelta(days=30)) == ["announce", "open", "close", "publish", "followup"]
    assert world_a.get(campaign).state == "followup"
    assert _advance(world_a, T0 + dt.timedelta(days=31)) == []


def test_opening_without_targets_is_left_for_the_organiser(world_a: World) -> None:
    campaign = world_a.campaign(targets=0, **_times())
    assert _advance(world_a, T0 + dt.timedelta(days=8)) == ["announce"]
    assert world_a.get(campaign).state == "announced"


def test_times_out_of_order_are_refused_and_nothing_is_stored(world_a: World) -> None:
    times = _times() | {"results_at": T0 + dt.timedelta(days=10)}  # before the close
    with world_a.session() as s, pytest.raises(services.ServiceError) as err:
        services.create_campaign(s, world_a.tenant, world_a.actor(s),
                                 {"name": "x", "period_start": dt.date(2025, 1, 1),
                                  "period_end": dt.date(2025, 12, 31), **times})
    assert "results_at" in err.value.errors
    assert set(err.value.errors) == {"results_at"}


def test_set_up_is_audited_before_and_frozen_from_the_opening(world_a: World) -> None:
    campaign = world_a.campaign(targets=1)
    world_a.step(campaign, "announce")
    with world_a.session() as s:  # the target list is public, set-up still changes (audited)
        services.update_campaign(s, world_a.tenant, world_a.actor(s), campaign.id,
                                 {"channel_weights": {"onsite": 20, "online": 50, "department": 30}})
        services.add_target(s, world_a.tenant, world_a.actor(s), campaign.id,
                            {"name": "新科长", "department": "县税务局", "section": "征管科", "area": "纳税"})
        s.commit()
        actions = set(s.scalars(sa.select(AuditEntry.action).where(AuditEntry.module == "cadre_evaluation")))
        assert {"cadre_evaluation.update_campaign", "cadre_evaluation.add_target",
                "cadre_evaluation.announce"} <= actions
    world_a.step(campaign, "open")
    (first, _second) = world_a.targets(campaign)
    for change in ({"channel_weights": {"onsite": 30, "online": 40, "department": 30}},
                   {"scale": [{"key": "a", "name": "好", "points": 100, "counted": True},
                              {"key": "b", "name": "差", "points": 0, "counted": True}]},
                   {"dimensions": [{"key": "x", "name": "一", "weight": 1}]}):
        with world_a.session() as s, pytest.raises(services.Refused) as err:
            services.update_campaign(s, world_a.tenant, world_a.actor(s), campaign.id, change)
        assert err.value.status == 409
    with world_a.session() as s, pytest.raises(services.Refused):
        services.add_target(s, world_a.tenant, world_a.actor(s), campaign.id,
                            {"name": "晚到", "department": "县税务局", "section": "征管科"})
    with world_a.session() as s, pytest.raises(services.Refused):
        services.remove_target(s, world_a.tenant, world_a.actor(s), campaign.id, first.id)
    c = world_a.get(campaign)
    assert c.channel_weights == {"onsite": 20, "online": 50, "department": 30}
    assert len(world_a.targets(campaign)) == 2


def test_an_area_not_of_the_campaign_is_refused(world_a: World) -> None:
    campaign = world_a.campaign(targets=0)
    with world_a.session() as s, pytest.raises(services.ServiceError) as err:
        services.add_target(s, world_a.tenant, world_a.actor(s), campaign.id,
                            {"name": "甲", "department": "乙", "section": "丙", "area": "养猪"})
    assert "area" in err.value.errors
    assert world_a.targets(campaign) == []


def test_the_organiser_sets_and_clears_the_schedule_on_the_campaign_page(login_as, world_a: World) -> None:
    """The settings form takes each step's time in the district's time (Asia/Shanghai, UTC+8); an emptied time is
    taken away, so that step waits for its button; times out of order or unreadable are refused and change nothing.
    The same PATCH on the API takes a time away only when it is sent as null."""
    campaign = world_a.campaign(targets=1)
    browser = login_as(world_a.admin)
    url = f"/t/alpha/cadre_evaluation/campaigns/{campaign.id}/settings"
    local = {"announce_at": "2026-03-01T08:00", "opens_at": "2026-03-08T09:30", "closes_at": "2026-03-15T18:00",
             "results_at": "2026-03-17T10:00", "followup_at": "2026-03-21T10:00"}
    assert browser.post(url, data=local).status_code == 302
    saved = world_a.get(campaign)
    assert saved.opens_at == dt.datetime(2026, 3, 8, 1, 30, tzinfo=dt.UTC)
    assert saved.announce_at == dt.datetime(2026, 3, 1, 0, 0, tzinfo=dt.UTC)
    page = browser.get(f"/t/alpha/cadre_evaluation/campaigns/{campaign.id}").get_data(as_text=True)
    assert 'name="opens_at" type="datetime-local" value="2026-03-08T09:30"' in page

    assert browser.post(url, data={**local, "results_at": ""}).status_code == 302
    assert world_a.get(campaign).results_at is None
    assert world_a.get(campaign).followup_at == dt.datetime(2026, 3, 21, 2, 0, tzinfo=dt.UTC)

    for bad, field, message in (({"closes_at": "2026-03-02T08:00"}, "closes_at", "日程各步须依次排列"),
                                ({"opens_at": "明天上午"}, "opens_at", "不是有效的日期时间")):
        answer = browser.post(url, data={**local, "results_at": "", **bad})
        assert answer.status_code == 422
        assert message in answer.get_data(as_text=True), field
        assert f'id="{field}-error"' in answer.get_data(as_text=True)
        again = world_a.get(campaign)
        assert (again.opens_at, again.closes_at) == (dt.datetime(2026, 3, 8, 1, 30, tzinfo=dt.UTC),
                                                     dt.datetime(2026, 3, 15, 10, 0, tzinfo=dt.UTC))
    # a form without the schedule's fields (the name alone) leaves the times as they are
    assert browser.post(url, data={"name": "新名字"}).status_code == 302
    assert world_a.get(campaign).opens_at == dt.datetime(2026, 3, 8, 1, 30, tzinfo=dt.UTC)


def test_the_api_takes_a_time_away_only_when_it_is_sent_as_null(client, world_a: World) -> None:
    campaign = world_a.campaign(targets=1, **_times())
    token = world_a.factory.token(world_a.admin)
    base = f"/api/v1/t/alpha/cadre_evaluation/campaigns/{campaign.id}"
    assert client.patch(base, json={"min_ballots": 3}, headers=bearer(token)).status_code == 200
    assert world_a.get(campaign).results_at == _times()["results_at"]
    assert client.patch(base, json={"results_at": None}, headers=bearer(token)).status_code == 200
    assert world_a.get(campaign).results_at is None
    assert world_a.get(campaign).opens_at == _times()["opens_at"]
