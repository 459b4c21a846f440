"""Campaign set-up: the defaults a district gets, weights that must add up to 100, a set-up frozen once open,
and every change before the opening in the audit log."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from blueprints.cadre_evaluation import services
from blueprints.cadre_evaluation.models import Campaign, Target
from saas.audit import AuditEntry
from tenants.models import ModuleSwitch
from tests.blueprints.cadre_evaluation.conftest import World
from tests.plugin import bearer


def test_switching_the_module_on_gives_the_defaults(world_a: World) -> None:
    with world_a.session() as s:
        row = s.scalars(sa.select(ModuleSwitch).where(ModuleSwitch.module_key == "cadre_evaluation")).one()
        assert row.settings == {"onsite_weight": 30, "online_weight": 40, "department_weight": 30,
                                "min_ballots": 30, "batch_size": 20, "pow_bits": 16, "seat_hours": 12,
                                "burst_threshold": 20, "areas": "、".join(services.DEFAULT_AREAS)}
        assert len(services.DEFAULT_AREAS) == 15
    campaign = world_a.campaign(targets=0)
    assert [d["name"] for d in campaign.dimensions] == ["履职尽责", "依法办事", "服务质量", "工作作风", "廉洁自律"]
    assert sum(d["weight"] for d in campaign.dimensions) == 100
    assert [(lv["name"], lv["counted"]) for lv in campaign.scale] == [
        ("满意", True), ("基本满意", True), ("不满意", True), ("不了解", False)]
    assert campaign.channel_weights == {"onsite": 30, "online": 40, "department": 30}
    assert campaign.min_ballots == 30
    assert campaign.areas == list(services.DEFAULT_AREAS)
    assert campaign.state == "draft"
    assert "满意" not in campaign.secret  # encrypted, not a readable key
    with world_a.session() as s:
        c = services.get_campaign(s, campaign.id)
        assert services.rater_key(c, "13800138000") == services.rater_key(c, "13800138000")
        assert "13800138000" not in services.rater_key(c, "13800138000")


def test_a_districts_saved_weights_are_a_new_campaigns_defaults(world_a: World) -> None:
    with world_a.session() as s:
        row = s.scalars(sa.select(ModuleSwitch).where(ModuleSwitch.module_key == "cadre_evaluation")).one()
        row.settings = {**row.settings, "online_weight": 50, "department_weight": 20, "min_ballots": 5}
        s.commit()
    campaign = world_a.campaign(targets=0)
    assert campaign.channel_weights == {"onsite": 30, "online": 50, "department": 20}
    assert campaign.min_ballots == 5


def test_weights_that_do_not_add_up_to_100_are_refused_and_nothing_changes(client, world_a: World) -> None:
    campaign = world_a.campaign(targets=0)
    token = world_a.factory.token(world_a.admin)
    answer = client.patch(f"/api/v1/t/alpha/cadre_evaluation/campaigns/{campaign.id}",
                          json={"channel_weights": {"onsite": 30, "online": 40, "department": 40}},
                          headers=bearer(token))
    assert answer.status_code == 422, answer.json
    assert "100" in str(answer.json["errors"]["channel_weights"])
    assert "必须" in str(answer.json["errors"]["channel_weights"])
    assert world_a.get(campaign).channel_weights == {"onsite": 30, "online": 40, "department": 30}
    created = client.post("/api/v1/t/alpha/cadre_evaluation/campaigns", headers=bearer(token),
                          json={"name": "x", "period_start": "2024-01-01", "period_end": "2024-06-30",
                                "channel_weights": {"onsite": 50, "online": 50, "department": 50}})
    assert created.status_code == 422
    assert world_a.count(Campaign) == 1


def test_the_set_up_is_frozen_once_the_campaign_opens(client, world_a: World) -> None:
    campaign = world_a.campaign(targets=2)
    world_a.step(campaign, "open")
    token = world_a.factory.token(world_a.admin)
    base = f"/api/v1/t/alpha/cadre_evaluation/campaigns/{campaign.id}"
    for answer in (client.patch(base, json={"min_ballots": 1}, headers=bearer(token)),
                   client.patch(base, json={"channel_weights": {"onsite": 0, "online": 100, "department": 0}},
                                headers=bearer(token)),
                   client.post(f"{base}/targets", json={"name": "新科长", "department": "局", "section": "科"},
                               headers=bearer(token))):
        assert answer.status_code == 409
        assert "活动已开始" in answer.json["message"]
    assert world_a.get(campaign).min_ballots == 30
    assert world_a.count(Target) == 2
    with world_a.session() as s, pytest.raises(services.Refused):
        services.remove_target(s, world_a.tenant, world_a.actor(s), campaign.id, world_a.targets(campaign)[0].id)


def test_changes_before_the_opening_are_audited(client, world_a: World) -> None:
    campaign = world_a.campaign(targets=1)
    token = world_a.factory.token(world_a.admin)
    answer = client.patch(f"/api/v1/t/alpha/cadre_evaluation/campaigns/{campaign.id}",
                          json={"min_ballots": 12, "channel_weights": {"onsite": 20, "online": 60, "department": 20}},
                          headers=bearer(token))
    assert answer.status_code == 200, answer.json
    with world_a.session() as s:
        entries = {e.action: e for e in s.scalars(sa.select(AuditEntry).where(AuditEntry.module == "cadre_evaluation"))}
    assert {"cadre_evaluation.create_campaign", "cadre_evaluation.add_target",
            "cadre_evaluation.update_campaign"} <= set(entries)
    update = entries["cadre_evaluation.update_campaign"]
    assert update.before["min_ballots"] == 30
    assert update.after["min_ballots"] == 12
    assert update.after["channel_weights"] == {"onsite": 20, "online": 60, "department": 20}
    assert update.actor_id == world_a.admin.id


def test_opening_needs_targets_and_steps_follow_the_order(world_a: World) -> None:
    campaign = world_a.campaign(targets=0)
    with world_a.session() as s, pytest.raises(services.Refused, match="评议对象"):
        services.transition(s, world_a.tenant, world_a.actor(s), campaign.id, "open")
    with world_a.session() as s, pytest.raises(services.Refused):
        services.transition(s, world_a.tenant, world_a.actor(s), campaign.id, "publish")
    assert world_a.get(campaign).state == "draft"


def test_a_campaign_of_another_district_is_not_found(world_a: World, world_b: World) -> None:
    campaign = world_b.campaign(targets=1, opens_at=None, period_end=dt.date(2024, 6, 30))
    with world_a.session() as s, pytest.raises(services.Refused) as err:
        services.update_campaign(s, world_a.tenant, world_a.actor(s), campaign.id, {"min_ballots": 1})
    assert err.value.status == 404


@pytest.mark.parametrize(("before", "action"), [((), "close"), ((), "followup"), (("announce",), "close"),
                                                (("announce",), "publish")])
def test_a_campaign_not_yet_open_cannot_be_closed_or_published(world_a: World, before, action) -> None:
    campaign = world_a.campaign(targets=1)
    for step in before:
        world_a.step(campaign, step)
    state = world_a.get(campaign).state
    with world_a.session() as s, pytest.raises(services.Refused) as err:
        services.transition(s, world_a.tenant, world_a.actor(s), campaign.id, action)
    assert err.value.status == 409
    assert world_a.get(campaign).state == state


@pytest.mark.parametrize("action", ["announce", "open"])
def test_only_the_organiser_takes_a_campaigns_steps(world_a: World, action) -> None:
    from saas.actors import Actor
    from tenants.models import User

    campaign = world_a.campaign(targets=1)
    nobody = world_a.factory.user(world_a.tenant, None, name="路人", username="alpha-nobody")
    with world_a.session() as s:
        plain = Actor(s.scalars(sa.select(User).where(User.id == nobody.id)).one(),
                      world_a.app.extensions["saas.roles"], frozenset({"cadre_evaluation"}))
        with pytest.raises(services.Refused) as err:
            services.transition(s, world_a.tenant, plain, campaign.id, action)
        s.commit()
    assert err.value.status == 403
    assert world_a.get(campaign).state == "draft"
