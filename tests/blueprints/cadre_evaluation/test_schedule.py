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
