"""Deadlines of a case's steps on the district's calendar: holidays, make-up working days (调休), overrides.

The 2026 national calendar (chinesecalendar): 1–7 October are the National Day holiday, Saturday 10 October
is a make-up working day, 26–27 September are the Mid-autumn holiday. Office hours are 9:00–17:30.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from blueprints.grid_cases.models import GridCase
from blueprints.grid_cases.services import cases as case_services
from blueprints.grid_cases.services import deadlines
from blueprints.grid_cases.services.base import settings
from saas import workdays
from tenants import district
from tests.blueprints.grid_cases.conftest import World

TZ = ZoneInfo("Asia/Shanghai")
CAL = workdays.WorkCalendar(tz=TZ)
CONF = {"accept_days": 1, "verify_days": 2, "urgent_step_hours": 2}


class Category:
    deadline_days = 3
    urgent_hours = 4


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=TZ)


def test_resolve_deadline_skips_the_national_day_holiday_and_counts_the_makeup_saturday() -> None:
    # received Wednesday 30 September at 23:30: the day of receipt never counts; 1–7 October are off;
    # Thursday 8 and Friday 9 are days 1 and 2; the make-up Saturday 10 October is day 3
    due = deadlines.step_deadline(CAL, CONF, "normal", "resolve", at("2026-09-30T23:30"), Category())
    assert due.astimezone(TZ).date() == dt.date(2026, 10, 10)
    assert due.astimezone(TZ).time() == dt.time.max


def test_acceptance_within_one_working_day_of_a_friday_evening_report_is_monday() -> None:
    due = deadlines.step_deadline(CAL, CONF, "normal", "accept", at("2026-11-20T20:00"), Category())
    assert due.astimezone(TZ).date() == dt.date(2026, 11, 23)


def test_urgent_hours_run_only_in_office_time_and_on_the_makeup_saturday() -> None:
    # Friday 9 October 16:30 with 4 working hours: one hour on Friday, three on the make-up Saturday
    due = deadlines.step_deadline(CAL, CONF, "urgent", "resolve", at("2026-10-09T16:30"), Category())
    assert due == at("2026-10-10T12:00")
    # an urgent acceptance (2 working hours) asked on the Mid-autumn holiday starts on Monday's opening
    due = deadlines.step_deadline(CAL, CONF, "urgent", "accept", at("2026-09-26T10:00"), Category())
    assert due == at("2026-09-28T11:00")


def test_a_district_holiday_the_library_does_not_know_moves_the_deadline() -> None:
    local = workdays.WorkCalendar(overrides={dt.date(2026, 10, 8): False}, tz=TZ)
    due = deadlines.step_deadline(local, CONF, "normal", "resolve", at("2026-09-30T09:00"), Category())
    assert due.astimezone(TZ).date() == dt.date(2026, 10, 12)  # 9, the make-up 10, then Monday 12


def test_an_extension_adds_working_days_to_the_handling_deadline() -> None:
    due = deadlines.step_deadline(CAL, CONF, "normal", "resolve", at("2026-09-30T09:00"), Category())
    assert deadlines.extend(CAL, due, 2).astimezone(TZ).date() == dt.date(2026, 10, 13)


def test_unknown_step_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown step"):
        deadlines.step_deadline(CAL, CONF, "normal", "lunch", at("2026-09-30T09:00"))


def test_a_case_reported_before_the_holiday_gets_its_deadlines_from_the_district_calendar(
        world_a: World, monkeypatch: pytest.MonkeyPatch) -> None:
    moment = at("2026-09-30T23:30").astimezone(dt.UTC)
    monkeypatch.setattr(case_services, "utcnow", lambda: moment)
    with world_a.session() as s:
        district.add_calendar_day(s, None, {"date": "2026-10-08", "is_workday": False, "note": "区里补休"})
        s.commit()
    case = world_a.report("worker")  # accepted at once: the next step (handle or pass on) is due in 1 day
    assert case.deadline_at.astimezone(TZ).date() == dt.date(2026, 10, 9)
    case = world_a.act("worker", case, "handle")
    # water: 3 working days; 8 October is the district's own day off, so 9, 10 (make-up) and 12
    assert case.resolve_by.astimezone(TZ).date() == dt.date(2026, 10, 12)
    assert case.deadline_at == case.resolve_by
    case = world_a.act("worker", case, "resolve", result="已修复")
    assert case.resolved_on_time is True
    with world_a.session() as s:
        assert settings(s)["verify_days"] == 2
    assert case.deadline_at.astimezone(TZ).date() == dt.date(2026, 10, 10)


def test_an_overdue_step_is_marked_and_a_late_resolution_counted(world_a: World,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    start = at("2026-11-16T10:00").astimezone(dt.UTC)  # a Monday
    monkeypatch.setattr(case_services, "utcnow", lambda: start)
    case = world_a.act("worker", world_a.report("worker"), "handle")
    late = case.resolve_by + dt.timedelta(minutes=1)
    assert not case.overdue(case.resolve_by)
    assert case.overdue(late)
    monkeypatch.setattr(case_services, "utcnow", lambda: late)
    case = world_a.act("worker", case, "resolve", result="已修复")
    assert case.resolved_on_time is False
    with world_a.session() as s:
        q, _errors = case_services.case_query(s, world_a.tenant, world_a.actor(s, "admin"), {"view": "overdue"},
                                              now=late + dt.timedelta(days=30))
        assert case.id in set(s.scalars(q.with_only_columns(GridCase.id)))
        q, _errors = case_services.case_query(s, world_a.tenant, world_a.actor(s, "admin"), {"view": "overdue"},
                                              now=late)
        assert case.id not in set(s.scalars(q.with_only_columns(GridCase.id)))  # the verification is not late


def test_an_approved_extension_counts_working_days_through_the_flow(world_a: World,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The department asks for 3 more days on the eve of the National Day holiday; the street approves: the
    handling deadline moves by 3 *working* days (12, 13, 14 October), not by 3 calendar days."""
    moment = at("2026-09-30T23:30").astimezone(dt.UTC)
    monkeypatch.setattr(case_services, "utcnow", lambda: moment)
    case = world_a.move(world_a.report("worker"), "worker:escalate cadre:accept cadre:escalate street:accept "
                                                  "street:dispatch dept:take")
    # water: 3 working days from 30 September: 8, 9 and the make-up Saturday 10 October
    assert case.resolve_by.astimezone(TZ).date() == dt.date(2026, 10, 10)
    case = world_a.act("dept", case, "request_extension", note="需采购材料", days=3)
    assert case.resolve_by.astimezone(TZ).date() == dt.date(2026, 10, 10)  # asked, not yet granted
    case = world_a.act("street", case, "approve_extension")
    assert case.resolve_by.astimezone(TZ).date() == dt.date(2026, 10, 14)
    assert case.deadline_at == case.resolve_by
    # refused, the deadline stays where it was
    case = world_a.act("dept", case, "request_extension", note="还需一周", days=5)
    case = world_a.act("street", case, "refuse_extension", note="请尽快处理")
    assert case.resolve_by.astimezone(TZ).date() == dt.date(2026, 10, 14)


def test_a_case_resolved_at_its_deadline_is_on_time(world_a: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The boundary: resolved at the very moment of the deadline counts as on time; a moment later does not."""
    start = at("2026-11-16T10:00").astimezone(dt.UTC)
    monkeypatch.setattr(case_services, "utcnow", lambda: start)
    on_time = world_a.act("worker", world_a.report("worker"), "handle")
    late = world_a.act("worker", world_a.report("worker"), "handle")
    monkeypatch.setattr(case_services, "utcnow", lambda: on_time.resolve_by)
    assert world_a.act("worker", on_time, "resolve", result="已修复").resolved_on_time is True
    monkeypatch.setattr(case_services, "utcnow", lambda: late.resolve_by + dt.timedelta(microseconds=1))
    assert world_a.act("worker", late, "resolve", result="已修复").resolved_on_time is False
