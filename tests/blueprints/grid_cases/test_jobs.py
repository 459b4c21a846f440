"""Reminders before a step's deadline and supervision (督办) of overdue steps: once each, and never stale forms."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from blueprints.grid_cases.jobs import remind_deadlines, supervise_overdue
from blueprints.grid_cases.models import CaseEvent, GridCase
from saas import db, jobs
from saas.notify import Delivery, Notification
from tests.blueprints.grid_cases.conftest import World


def run(world: World, job: object, now: dt.datetime) -> int:
    with world.session() as s:
        n = job(world.tenant.id, now=now)  # type: ignore[operator]
        s.commit()
        return n


def kinds_for(world: World, who: str) -> list[str]:
    with world.session() as s:
        return list(s.scalars(sa.select(Notification.kind).where(Notification.user_id == world.users[who].id)
                              .order_by(Notification.id)))


def test_a_step_due_soon_is_reminded_once_and_the_case_version_stays(world_a: World) -> None:
    case = world_a.act("worker", world_a.report("worker"), "handle")
    due = case.deadline_at
    assert run(world_a, remind_deadlines, due - dt.timedelta(hours=30)) == 0  # more than 24 hours before
    assert run(world_a, remind_deadlines, due - dt.timedelta(hours=3)) == 1
    assert run(world_a, remind_deadlines, due - dt.timedelta(hours=2)) == 0  # already reminded of this deadline
    assert kinds_for(world_a, "leader").count("grid_cases.deadline_soon") == 1
    row = world_a.get(case)
    assert row.version == case.version, "a reminder must not make open forms stale"
    assert row.reminded_at is not None


def test_an_overdue_step_is_supervised_once_with_the_level_above_told(world_a: World) -> None:
    case = world_a.act("worker", world_a.report("worker"), "handle")
    late = case.deadline_at + dt.timedelta(hours=1)
    assert run(world_a, supervise_overdue, case.deadline_at - dt.timedelta(minutes=1)) == 0
    assert run(world_a, supervise_overdue, late) == 1
    assert run(world_a, supervise_overdue, late + dt.timedelta(hours=1)) == 0
    assert "grid_cases.overdue" in kinds_for(world_a, "worker")  # who holds the step
    assert "grid_cases.overdue" in kinds_for(world_a, "cadre")  # the level above
    assert "grid_cases.overdue" not in kinds_for(world_a, "cadre2")
    with world_a.session() as s:
        events = s.scalars(sa.select(CaseEvent.action).where(CaseEvent.case_id == case.id)).all()
    assert events.count("supervise") == 1
    assert world_a.get(case).version == case.version
    # the next step starts a new deadline, which may be supervised again when it is missed
    moved = world_a.act("worker", case, "resolve", result="已修复")
    assert moved.supervised_at is None
    assert moved.reminded_at is None
    assert run(world_a, supervise_overdue, moved.deadline_at + dt.timedelta(hours=1)) == 1


def test_an_overdue_department_step_reaches_its_dispatcher_and_the_robots(world_a: World) -> None:
    from saas import notice_settings

    with world_a.session() as s:
        notice_settings.save_channel(s, None, "dingtalk", {"url": "https://robot.invalid/robot", "secret": ""}, True)
        s.commit()
    case = world_a.move(world_a.report("worker"), "worker:escalate cadre:accept cadre:escalate street:accept "
                                                  "street:dispatch dept:take")
    assert run(world_a, supervise_overdue, case.deadline_at + dt.timedelta(hours=1)) == 1
    assert "grid_cases.overdue" in kinds_for(world_a, "dept")
    assert "grid_cases.overdue" in kinds_for(world_a, "street")
    with world_a.session() as s:
        robots = s.scalars(sa.select(Delivery.channel).where(Delivery.kind == "grid_cases.overdue")).all()
    assert "dingtalk" in robots


def test_the_jobs_do_nothing_for_a_district_that_switched_the_module_off(app, world_a: World) -> None:
    case = world_a.act("worker", world_a.report("worker"), "handle")
    with world_a.session() as s:
        s.execute(sa.update(GridCase).where(GridCase.id == case.id).values(
            deadline_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1)))
        s.commit()
    world_a.factory.enable_module(world_a.tenant, "grid_cases", False)
    assert jobs.run_for_tenant(app, "grid_cases", "supervise_overdue", world_a.tenant.id) is False
    assert world_a.get(case).supervised_at is None
    world_a.factory.enable_module(world_a.tenant, "grid_cases", True)
    assert jobs.run_for_tenant(app, "grid_cases", "supervise_overdue", world_a.tenant.id) is True
    assert world_a.get(case).supervised_at is not None
    with app.app_context():
        db.session.remove()
