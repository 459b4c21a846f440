"""Per-department figures (`services.figures.department_figures`): counted by hand on a small district whose
items were accepted, answered, supervised and rated at known moments, the period, the departments asked for,
and the statement count, which does not grow with the number of items."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from blueprints.business_feedback import jobs
from blueprints.business_feedback.services import base, items
from blueprints.business_feedback.services.figures import DepartmentFigures, department_figures
from saas.db import statements

TZ = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ)


def at(monkeypatch, moment: dt.datetime) -> None:
    monkeypatch.setattr(items, "utcnow", lambda: moment)
    monkeypatch.setattr(base, "utcnow", lambda: moment)


def supervise(world, moment: dt.datetime) -> None:  # type: ignore[no-untyped-def]
    with world.session() as s:
        jobs.supervise_overdue(world.tenant.id, moment)
        s.commit()


def build(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """March 2026 has no holiday. Item 1 at 区市场监管局 (d1) only; item 2 at both departments, 区税务局 (d2)
    late and supervised twice, rated 不满意 and answered again; item 3 at d2 in April, not answered; item 4
    never accepted."""
    d1, d2 = world.unit_id("d1"), world.unit_id("d2")
    one, two, three = world.submit(), world.submit(), world.submit()
    world.submit()  # waits for triage: no department received it

    at(monkeypatch, local(2026, 3, 2, 10, 0))  # Monday
    world.act("office", one, "accept", department_ids=[d1], deadline_days=5)
    world.act("office", two, "accept", department_ids=[d1, d2], deadline_days=3)  # due Thursday 5 March
    at(monkeypatch, local(2026, 3, 4, 10, 0))
    world.act("dept", one, "answer", answer="已一次办结")  # 2 working days, on time
    at(monkeypatch, local(2026, 3, 4, 11, 0))
    world.act("sup", one, "rate", rating="satisfied")
    at(monkeypatch, local(2026, 3, 5, 9, 0))
    world.act("dept", two, "answer", answer="已协调")  # on time (overwritten by the second answer below)
    supervise(world, local(2026, 3, 6, 12, 0))  # d2 one working day late: 提醒
    supervise(world, local(2026, 3, 11, 12, 0))  # four: 督办
    at(monkeypatch, local(2026, 3, 12, 9, 0))
    world.act("dept2", two, "answer", answer="已补办")  # late
    at(monkeypatch, local(2026, 3, 12, 10, 0))
    world.act("sup", two, "rate", rating="unsatisfied", note="仍需跑两次")  # back to both, due 17 March
    at(monkeypatch, local(2026, 3, 13, 9, 0))
    world.act("dept", two, "answer", answer="已改为一次办")  # 1 working day after the return
    at(monkeypatch, local(2026, 3, 16, 9, 0))
    world.act("dept2", two, "answer", answer="已改为网上办")  # Friday and Monday: 2 working days
    at(monkeypatch, local(2026, 3, 16, 10, 0))
    world.act("sup", two, "rate", rating="basically")

    at(monkeypatch, local(2026, 4, 13, 10, 0))
    world.act("office", three, "accept", department_ids=[d2])
    monkeypatch.undo()  # back to now, when the supervisors are in term


def figures(world, **kwargs) -> dict[int, DepartmentFigures]:  # type: ignore[no-untyped-def]
    with world.session() as s:
        return department_figures(s, **kwargs)


def test_figures_of_each_department_match_the_hand_count(world_a, world_b, monkeypatch):
    build(world_b, monkeypatch)  # another district's items never count
    build(world_a, monkeypatch)
    d1, d2 = world_a.unit_id("d1"), world_a.unit_id("d2")
    got = figures(world_a)
    assert set(got) == {d1, d2}  # every department, not its sections
    assert got[d1] == DepartmentFigures(d1, "区市场监管局", received=2, answered=2, answered_on_time=2,
                                        average_answer_days=1.5, satisfied=1, basically_satisfied=1,
                                        unsatisfied=1, supervisions=(0, 0, 0))
    assert got[d2] == DepartmentFigures(d2, "区税务局", received=2, answered=1, answered_on_time=1,
                                        average_answer_days=2.0, satisfied=0, basically_satisfied=1,
                                        unsatisfied=1, supervisions=(1, 1, 0))
    assert (got[d1].on_time_share, got[d1].ratings, got[d1].satisfied_share) == (1.0, 3, pytest.approx(2 / 3))
    assert (got[d2].on_time_share, got[d2].satisfied_share, got[d2].supervised) == (1.0, 0.5, 2)
    assert got[d2].as_dict()["supervisions"] == [1, 1, 0]


def test_the_period_is_the_day_the_department_received_the_item(world_a, monkeypatch):
    build(world_a, monkeypatch)
    d1, d2 = world_a.unit_id("d1"), world_a.unit_id("d2")
    march = figures(world_a, since=dt.date(2026, 3, 2), until=dt.date(2026, 3, 31))
    assert (march[d1].received, march[d2].received, march[d2].supervisions) == (2, 1, (1, 1, 0))
    april = figures(world_a, since=dt.date(2026, 4, 1))
    assert april[d1] == DepartmentFigures(d1, "区市场监管局")
    assert april[d1].on_time_share is None
    assert april[d1].satisfied_share is None
    assert april[d2] == DepartmentFigures(d2, "区税务局", received=1)
    assert figures(world_a, until=dt.date(2026, 3, 1)) == {d1: DepartmentFigures(d1, "区市场监管局"),
                                                          d2: DepartmentFigures(d2, "区税务局")}


def test_only_the_departments_asked_for(world_a, world_b, monkeypatch):
    build(world_a, monkeypatch)
    d1 = world_a.unit_id("d1")
    assert list(figures(world_a, unit_ids=[d1])) == [d1]
    assert figures(world_a, unit_ids=[]) == {}
    assert figures(world_a, unit_ids=[world_b.unit_id("d1")]) == {}  # another district's is not found


def test_statement_count_does_not_grow_with_the_items(world_a, monkeypatch, backend):
    build(world_a, monkeypatch)

    def count() -> list[str]:
        with world_a.session() as s, statements() as seen:
            department_figures(s)
        return list(seen)

    seen = count()
    # the district, its calendar, the departments, the aggregate, the pairs of days, the 督办 levels; on
    # PostgreSQL the session's first statement also sets the district for row-level security
    assert len(seen) == 6 + (backend["name"] == "postgres")
    before = len(seen)
    d2 = world_a.unit_id("d2")
    for _ in range(6):
        item = world_a.submit()
        at(monkeypatch, local(2026, 3, 2, 10, 0))
        world_a.act("office", item, "accept", department_ids=[d2])
        monkeypatch.undo()
    assert len(count()) == before
    assert figures(world_a)[d2].received == 8
