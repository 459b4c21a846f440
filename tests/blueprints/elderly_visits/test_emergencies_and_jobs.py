"""Emergencies that reach people in minutes, and the periodic jobs: once each, and only where the module is on."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from blueprints.elderly_visits import jobs, services
from blueprints.elderly_visits.models import ElderlyPerson, Emergency
from saas import jobs as kernel_jobs
from saas.notify import Notification
from tenants.models import ModuleSwitch, User
from tests.blueprints.elderly_visits.conftest import World


def kinds_for(world: World, user_id: int) -> list[str]:
    with world.session() as s:
        return list(s.scalars(sa.select(Notification.kind).where(Notification.user_id == user_id)
                              .order_by(Notification.id)))


def urgent_for(world: World, user_id: int) -> list[bool]:
    with world.session() as s:
        return list(s.scalars(sa.select(Notification.urgent).where(Notification.user_id == user_id)))


def run(world: World, job: object, now: dt.datetime) -> int:
    with world.session() as s:
        n = job(world.tenant.id, now=now)  # type: ignore[operator]
        s.commit()
        return n


def raise_fall(world: World, p: ElderlyPerson, who: str = "worker") -> Emergency:
    with world.session() as s:
        e = services.raise_emergency(s, world.tenant, world.actor(s, who), p.id, {"kind": "fall", "description": ""})
        s.commit()
        return e


def test_an_emergency_reaches_the_community_the_workers_and_the_family_at_once(world_a: World) -> None:
    p = world_a.register(backup_worker_id=world_a.users["backup"].id)
    raise_fall(world_a, p, "worker")
    for who in ("cadre", "leader", "backup"):
        assert kinds_for(world_a, world_a.users[who].id) == ["elderly_visits.emergency"], who
        assert urgent_for(world_a, world_a.users[who].id) == [True]
    assert kinds_for(world_a, world_a.users["worker"].id) == []  # who raised it knows
    for who in ("cadre2", "worker2", "street"):
        assert kinds_for(world_a, world_a.users[who].id) == [], who
    with world_a.session() as s:
        daughter = s.scalars(sa.select(User).where(User.phone == f"{world_a.phone_head}0001")).one()
    assert daughter.kind == "citizen"
    assert kinds_for(world_a, daughter.id) == ["elderly_visits.emergency_family"]
    assert urgent_for(world_a, daughter.id) == [True]


def test_an_emergency_nobody_takes_on_goes_to_the_street_after_minutes_once(world_a: World) -> None:
    p = world_a.register()
    e = raise_fall(world_a, p)
    street = world_a.users["street"].id
    assert run(world_a, jobs.escalate_emergencies, e.raised_at + dt.timedelta(minutes=9)) == 0
    assert run(world_a, jobs.escalate_emergencies, e.raised_at + dt.timedelta(minutes=10)) == 1
    assert run(world_a, jobs.escalate_emergencies, e.raised_at + dt.timedelta(minutes=20)) == 0
    assert kinds_for(world_a, street) == ["elderly_visits.emergency_unanswered"]
    assert "elderly_visits.emergency_unanswered" in kinds_for(world_a, world_a.users["cadre"].id)
    assert kinds_for(world_a, world_a.users["cadre2"].id) == []


def test_an_emergency_taken_on_in_time_is_not_escalated(world_a: World) -> None:
    p = world_a.register()
    e = raise_fall(world_a, p)
    with world_a.session() as s:
        services.acknowledge_emergency(s, world_a.actor(s, "cadre"), e.id, e.version)
        s.commit()
    assert run(world_a, jobs.escalate_emergencies, e.raised_at + dt.timedelta(hours=1)) == 0
    assert kinds_for(world_a, world_a.users["street"].id) == []


def test_the_wait_before_escalation_is_the_districts_setting(world_a: World) -> None:
    with world_a.session() as s:
        row = s.scalars(sa.select(ModuleSwitch).where(ModuleSwitch.module_key == "elderly_visits")).one()
        row.settings = {**row.settings, "ack_minutes": 3}
        s.commit()
    e = raise_fall(world_a, world_a.register())
    assert run(world_a, jobs.escalate_emergencies, e.raised_at + dt.timedelta(minutes=3)) == 1


def test_the_record_keeps_actions_and_the_outcome_with_the_discipline_of_a_state_machine(world_a: World) -> None:
    p = world_a.register()
    e = raise_fall(world_a, p)
    with world_a.session() as s:
        with pytest.raises(services.Refused) as err:  # not the resident's: not even found
            services.acknowledge_emergency(s, world_a.actor(s, "worker3"), e.id, e.version)
        assert err.value.status == 404
        with pytest.raises(services.Refused) as err:  # a grid worker who is not assigned may not act
            services.add_action(s, world_a.actor(s, "backup"), e.id, {"kind": "called_120", "version": None})
        assert err.value.status == 403
        services.add_action(s, world_a.actor(s, "worker"), e.id, {"kind": "called_120", "note": "", "version": None})
        s.commit()
    with world_a.session() as s:
        row = s.scalars(sa.select(Emergency).where(Emergency.id == e.id)).one()
        assert row.state == "acknowledged"  # acting takes it on
        with pytest.raises(services.Refused) as err:  # the version the page showed is stale
            services.close_emergency(s, world_a.actor(s, "cadre"), e.id, {"version": e.version, "outcome": "好"})
        assert err.value.status == 409
        with pytest.raises(services.ServiceError):
            services.close_emergency(s, world_a.actor(s, "cadre"), e.id, {"version": row.version, "outcome": ""})
        s.rollback()
        services.close_emergency(s, world_a.actor(s, "cadre"), e.id, {"version": row.version, "outcome": "已住院"})
        s.commit()
    with world_a.session() as s:
        with pytest.raises(services.Refused) as err:
            services.add_action(s, world_a.actor(s, "worker"), e.id, {"kind": "other", "note": "x", "version": None})
        assert err.value.status == 409


def test_visits_due_today_are_told_to_each_worker_once_a_day(world_a: World) -> None:
    p = world_a.register()
    world_a.register(grid_code=world_a.code("g3"), worker_id=world_a.users["worker3"].id, who="admin")
    with world_a.session() as s:
        today = services.today_in(world_a.tenant)
        s.execute(sa.update(ElderlyPerson).values(next_visit_on=today))
        s.execute(sa.update(ElderlyPerson).where(ElderlyPerson.id == p.id).values(
            next_visit_on=today + dt.timedelta(days=1)))
        s.commit()
    now = dt.datetime.now(dt.UTC)
    assert run(world_a, jobs.remind_due, now) == 1
    run(world_a, jobs.remind_due, now)
    assert kinds_for(world_a, world_a.users["worker3"].id) == ["elderly_visits.due_today"]
    assert kinds_for(world_a, world_a.users["worker"].id) == []


def test_an_overdue_visit_reaches_the_cadre_after_the_grace_period_once_per_due_date(world_a: World) -> None:
    p = world_a.register()
    today = services.today_in(world_a.tenant)
    with world_a.session() as s:
        s.execute(sa.update(ElderlyPerson).values(next_visit_on=today - dt.timedelta(days=3)))
        s.commit()
    now = dt.datetime.now(dt.UTC)
    assert run(world_a, jobs.escalate_overdue, now) == 0  # three days late: still within the grace
    with world_a.session() as s:
        s.execute(sa.update(ElderlyPerson).values(next_visit_on=today - dt.timedelta(days=4)))
        s.commit()
    assert run(world_a, jobs.escalate_overdue, now) == 1
    assert run(world_a, jobs.escalate_overdue, now) == 0
    assert kinds_for(world_a, world_a.users["cadre"].id) == ["elderly_visits.overdue"]
    assert kinds_for(world_a, world_a.users["cadre2"].id) == []
    # a visit starts a new due date, which may be escalated again when it is missed
    world_a.visit(p)
    assert world_a.get(p).escalated_for is None


def test_the_weekly_digest_tells_each_community_of_its_own(world_a: World) -> None:
    p = world_a.register()
    world_a.visit(p)
    assert run(world_a, jobs.weekly_digest, dt.datetime.now(dt.UTC)) == 1
    run(world_a, jobs.weekly_digest, dt.datetime.now(dt.UTC))
    assert kinds_for(world_a, world_a.users["cadre"].id) == ["elderly_visits.weekly"]
    assert kinds_for(world_a, world_a.users["cadre2"].id) == []


def test_the_jobs_do_nothing_where_the_module_is_off(app, world_a: World) -> None:
    e = raise_fall(world_a, world_a.register())
    world_a.factory.enable_module(world_a.tenant, "elderly_visits", on=False)
    assert kernel_jobs.run_for_tenant(app, "elderly_visits", "escalate_emergencies", world_a.tenant.id) is False
    assert kinds_for(world_a, world_a.users["street"].id) == []
    world_a.factory.enable_module(world_a.tenant, "elderly_visits")
    assert kernel_jobs.run_for_tenant(app, "elderly_visits", "escalate_emergencies", world_a.tenant.id) is True
    assert kinds_for(world_a, world_a.users["street"].id) == []  # raised a moment ago: not yet
    assert run(world_a, jobs.escalate_emergencies, e.raised_at + dt.timedelta(minutes=11)) == 1


def test_switching_the_module_on_writes_the_districts_rules_once(world_a: World) -> None:
    with world_a.session() as s:
        row = s.scalars(sa.select(ModuleSwitch).where(ModuleSwitch.module_key == "elderly_visits")).one()
        assert row.settings["alone_days"] == 7
        row.settings = {**row.settings, "alone_days": 5}
        s.commit()
    world_a.factory.enable_module(world_a.tenant, "elderly_visits", on=False)
    world_a.factory.enable_module(world_a.tenant, "elderly_visits")
    with world_a.session() as s:
        row = s.scalars(sa.select(ModuleSwitch).where(ModuleSwitch.module_key == "elderly_visits")).one()
    assert row.settings["alone_days"] == 5


def test_a_street_officer_responds_to_emergencies_but_does_not_raise_one(world_a: World) -> None:
    p = world_a.register()
    with world_a.session() as s:
        with pytest.raises(services.Refused) as err:
            services.raise_emergency(s, world_a.tenant, world_a.actor(s, "street"), p.id,
                                     {"kind": "fall", "description": ""})
        s.commit()
    assert err.value.status == 403
    with world_a.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Emergency)) == 0
    assert kinds_for(world_a, world_a.users["cadre"].id) == []


def test_a_closed_emergency_is_not_closed_again_and_keeps_its_outcome(world_a: World) -> None:
    e = raise_fall(world_a, world_a.register())
    with world_a.session() as s:
        services.close_emergency(s, world_a.actor(s, "cadre"), e.id, {"version": e.version, "outcome": "已住院"})
        s.commit()
    with world_a.session() as s:
        row = s.scalars(sa.select(Emergency).where(Emergency.id == e.id)).one()
        with pytest.raises(services.Refused) as err:
            services.close_emergency(s, world_a.actor(s, "cadre"), e.id, {"version": row.version, "outcome": "改写"})
        s.commit()
    assert err.value.status == 409
    with world_a.session() as s:
        row = s.scalars(sa.select(Emergency).where(Emergency.id == e.id)).one()
        assert (row.state, row.outcome) == ("closed", "已住院")
