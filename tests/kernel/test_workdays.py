"""Working-day arithmetic: statutory holidays, make-up days (调休), tenant overrides, unknown years, time zones."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
import sqlalchemy as sa
from sqlalchemy import event

from saas import db, workdays
from saas.workdays import OfficeHours, WorkCalendar
from tenants import district
from tenants.models import CalendarDay

SHANGHAI = ZoneInfo("Asia/Shanghai")
URUMQI = ZoneInfo("Asia/Urumqi")
D = dt.date


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0, tz: ZoneInfo = SHANGHAI) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=tz)


def end(day: dt.date, tz: ZoneInfo = SHANGHAI) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.max, tz)


# --- the national calendar as the library has it (checked, not guessed) ------------------------------


def test_library_has_2026_national_day_and_mid_autumn_as_assumed_here():
    """The facts the tests below rest on, read from chinesecalendar itself."""
    for day in [D(2026, 9, 25), D(2026, 9, 26), D(2026, 9, 27)]:
        assert chinese_calendar.get_holiday_detail(day) == (True, "Mid-autumn Festival")
    for i in range(7):
        assert chinese_calendar.get_holiday_detail(D(2026, 10, 1 + i)) == (True, "National Day")
    # the make-up working days of the National Day break: Sunday 20 September and Saturday 10 October
    assert chinese_calendar.get_holiday_detail(D(2026, 9, 20)) == (False, "National Day")
    assert chinese_calendar.get_holiday_detail(D(2026, 10, 10)) == (False, "National Day")
    assert D(2026, 9, 20).weekday() == 6
    assert D(2026, 10, 10).weekday() == 5
    # 春节 2026: 15-23 February off, Saturdays 14 and 28 February worked
    assert all(chinese_calendar.is_holiday(D(2026, 2, d)) for d in range(15, 24))
    assert chinese_calendar.is_workday(D(2026, 2, 14))
    assert chinese_calendar.is_workday(D(2026, 2, 28))
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(D(2027, 10, 1))


def test_is_workday_follows_holidays_and_make_up_days():
    assert workdays.is_workday(D(2026, 9, 30))
    assert not workdays.is_workday(D(2026, 10, 1))
    assert not workdays.is_workday(D(2026, 10, 3))
    assert workdays.is_workday(D(2026, 10, 10))  # a Saturday, worked
    assert not workdays.is_workday(D(2026, 10, 11))  # an ordinary Sunday
    assert workdays.is_workday(D(2026, 9, 20))  # a Sunday, worked


def test_is_workday_refuses_a_datetime():
    with pytest.raises(TypeError):
        workdays.is_workday(at(2026, 10, 1))


# --- the counting rule --------------------------------------------------------------------------------


def test_day_of_receipt_does_not_count_and_deadline_is_end_of_the_nth_working_day():
    # received on a plain Tuesday morning: 1 working day is the end of Wednesday
    assert workdays.add_working_days(at(2026, 9, 8, 8, 0), 1) == end(D(2026, 9, 9))
    # 9, 10, 11, 14, 15 September: the weekend between does not count
    assert workdays.add_working_days(at(2026, 9, 8, 8, 0), 5) == end(D(2026, 9, 15))
    # a week later the make-up Sunday 20 September counts: 16, 17, 18, 20, 21
    assert workdays.add_working_days(at(2026, 9, 15, 8, 0), 5) == end(D(2026, 9, 21))
    assert workdays.add_working_days(D(2026, 9, 15), 0) == end(D(2026, 9, 15))


def test_deadline_across_national_day_and_its_make_up_saturday():
    received = at(2026, 9, 30, 10, 0)  # Wednesday, the last working day before the break
    assert workdays.working_day_after(received, 1) == D(2026, 10, 8)  # 1-7 October are off
    assert workdays.working_day_after(received, 2) == D(2026, 10, 9)
    assert workdays.working_day_after(received, 3) == D(2026, 10, 10)  # the make-up Saturday counts
    assert workdays.working_day_after(received, 4) == D(2026, 10, 12)  # Sunday 11 October does not
    assert workdays.add_working_days(received, 3) == end(D(2026, 10, 10))


def test_deadline_across_mid_autumn_and_the_make_up_sunday():
    # Friday 18 September: the next working day is Sunday 20 September (调休)
    assert workdays.working_day_after(D(2026, 9, 18), 1) == D(2026, 9, 20)
    # Thursday 24 September: 25-27 September are 中秋, so the next working day is Monday 28
    assert workdays.working_day_after(D(2026, 9, 24), 1) == D(2026, 9, 28)
    # 5 working days from 24 September: 28, 29, 30 September, then 8 and 9 October
    assert workdays.working_day_after(D(2026, 9, 24), 5) == D(2026, 10, 9)


def test_deadline_across_spring_festival():
    received = D(2026, 2, 12)  # Thursday
    assert workdays.working_day_after(received, 1) == D(2026, 2, 13)
    assert workdays.working_day_after(received, 2) == D(2026, 2, 14)  # make-up Saturday
    assert workdays.working_day_after(received, 3) == D(2026, 2, 24)  # after 15-23 February
    assert workdays.working_days_between(D(2026, 2, 13), D(2026, 2, 24)) == 2  # 14 and 24 February


def test_counting_back_and_between_are_the_inverse_of_counting_forward():
    for start in [D(2026, 1, 1), D(2026, 2, 10), D(2026, 9, 17), D(2026, 9, 30), D(2026, 10, 3)]:
        for n in (1, 2, 5, 10, 20):
            due = workdays.working_day_after(start, n)
            assert workdays.working_days_between(start, due) == n
            assert workdays.working_days_between(due, start) == -n
    # counting back lands on the n-th working day before
    assert workdays.working_day_after(D(2026, 10, 8), -1) == D(2026, 9, 30)
    assert workdays.working_day_after(D(2026, 10, 12), -2) == D(2026, 10, 9)


def test_deadline_can_end_at_office_closing_instead_of_midnight():
    due = workdays.add_working_days(at(2026, 9, 30), 1, until_office_close=True)
    assert due == at(2026, 10, 8, 17, 30)


def test_absurd_spans_are_refused():
    with pytest.raises(ValueError, match="at most"):
        workdays.working_day_after(D(2026, 1, 1), 100_000)


# --- tenant overrides -----------------------------------------------------------------------------------


def test_override_turns_a_working_day_into_a_holiday():
    overrides = {D(2026, 10, 8): False}  # e.g. a local festival
    assert not workdays.is_workday(D(2026, 10, 8), overrides)
    assert workdays.working_day_after(D(2026, 9, 30), 1, overrides) == D(2026, 10, 9)
    info = workdays.describe(D(2026, 10, 8), overrides)
    assert (info.source, info.kind, info.national.is_workday) == ("override", "holiday", True)


def test_override_makes_a_saturday_a_working_day():
    overrides = {D(2026, 10, 17): True}
    assert workdays.working_day_after(D(2026, 10, 16), 1, overrides) == D(2026, 10, 17)
    assert workdays.working_day_after(D(2026, 10, 16), 1) == D(2026, 10, 19)
    assert workdays.describe(D(2026, 10, 17), overrides).kind == "makeup"


def test_override_beats_a_national_make_up_day():
    overrides = {D(2026, 10, 10): False}
    assert workdays.working_day_after(D(2026, 9, 30), 3, overrides) == D(2026, 10, 12)


# --- years the library does not cover -------------------------------------------------------------------


def test_year_the_library_does_not_know_falls_back_to_monday_to_friday():
    assert not workdays.national_published(2027)
    assert workdays.national_published(2026)
    info = workdays.describe(D(2027, 10, 1))  # a Friday
    assert (info.is_workday, info.source, info.national.known) == (True, "assumed", False)
    assert workdays.working_day_after(D(2027, 9, 30), 1) == D(2027, 10, 1)
    assert workdays.working_day_after(D(2027, 10, 1), 1) == D(2027, 10, 4)  # over the weekend
    assert workdays.describe(D(2027, 10, 2)).kind == "weekend"


def test_overrides_fill_in_a_year_before_the_library_publishes_it():
    # the district types in next year's 国庆 (1-7 October off, Saturday 9 October worked)
    overrides = {D(2027, 10, d): False for d in range(1, 8)} | {D(2027, 10, 9): True}
    assert workdays.working_day_after(D(2027, 9, 30), 1, overrides) == D(2027, 10, 8)
    assert workdays.working_day_after(D(2027, 9, 30), 2, overrides) == D(2027, 10, 9)


def test_counting_from_a_known_year_into_an_unknown_one():
    # Thursday 31 December 2026: 1 January 2027 is a Friday the library knows nothing about
    assert workdays.working_day_after(D(2026, 12, 31), 1) == D(2027, 1, 1)
    assert workdays.working_day_after(D(2026, 12, 31), 1, {D(2027, 1, 1): False}) == D(2027, 1, 4)


# --- time zones -----------------------------------------------------------------------------------------


def test_item_received_at_2330_shanghai_counts_from_that_shanghai_day():
    received = at(2026, 10, 8, 23, 30)  # Thursday night in Shanghai, 15:30 UTC
    assert received.astimezone(dt.UTC).date() == D(2026, 10, 8)
    assert workdays.add_working_days(received, 1) == end(D(2026, 10, 9))


def test_item_received_after_midnight_shanghai_belongs_to_the_next_day_though_utc_says_otherwise():
    received = dt.datetime(2026, 10, 8, 16, 30, tzinfo=dt.UTC)  # 00:30 on Friday 9 October in Shanghai
    assert workdays.local_date(received) == D(2026, 10, 9)
    # counted from 9 October, the next working day is the make-up Saturday, not Friday
    assert workdays.add_working_days(received, 1) == end(D(2026, 10, 10))
    assert workdays.add_working_days(received, 1).utcoffset() == dt.timedelta(hours=8)


def test_the_tenants_time_zone_decides_the_local_day():
    received = dt.datetime(2026, 10, 8, 17, 0, tzinfo=dt.UTC)  # 01:00 Friday in Shanghai, 23:00 Thursday in Urumqi
    assert workdays.add_working_days(received, 1, tz="Asia/Shanghai") == end(D(2026, 10, 10))
    assert workdays.add_working_days(received, 1, tz=URUMQI) == end(D(2026, 10, 9), URUMQI)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        workdays.add_working_days(dt.datetime(2026, 9, 30, 23, 30), 1)
    with pytest.raises(ValueError, match="naive"):
        workdays.add_working_hours(dt.datetime(2026, 9, 30, 9, 0), 1)


# --- working hours --------------------------------------------------------------------------------------


def test_working_hours_skip_the_night_and_the_holiday():
    # 16:30 on Wednesday 30 September: one hour left that day, three more after the National Day break
    assert workdays.add_working_hours(at(2026, 9, 30, 16, 30), 4) == at(2026, 10, 8, 12, 0)


def test_working_hours_start_at_opening_when_received_before_or_after_hours():
    assert workdays.add_working_hours(at(2026, 9, 29, 7, 15), 2) == at(2026, 9, 29, 11, 0)
    assert workdays.add_working_hours(at(2026, 9, 28, 20, 0), 2) == at(2026, 9, 29, 11, 0)


def test_working_hours_run_on_a_make_up_saturday_but_not_an_ordinary_one():
    assert workdays.add_working_hours(at(2026, 10, 10, 9, 0), 1) == at(2026, 10, 10, 10, 0)
    assert workdays.add_working_hours(at(2026, 10, 17, 9, 0), 1) == at(2026, 10, 19, 10, 0)


def test_working_hours_edges():
    # a task that fits exactly ends at closing time, not the next morning
    assert workdays.add_working_hours(at(2026, 9, 29, 9, 0), 8.5) == at(2026, 9, 29, 17, 30)
    assert workdays.add_working_hours(at(2026, 9, 29, 9, 0), dt.timedelta(hours=8, minutes=31)) == \
        at(2026, 9, 30, 9, 1)
    assert workdays.add_working_hours(at(2026, 9, 29, 12, 0), 0) == at(2026, 9, 29, 12, 0)
    # an answer in the tenant's zone for a start given in UTC
    assert workdays.add_working_hours(dt.datetime(2026, 9, 29, 1, 0, tzinfo=dt.UTC), 1) == at(2026, 9, 29, 10, 0)
    with pytest.raises(ValueError, match="negative"):
        workdays.add_working_hours(at(2026, 9, 29), -1)


def test_office_hours_are_a_kernel_default_that_can_be_replaced():
    assert (workdays.OFFICE_HOURS.start, workdays.OFFICE_HOURS.end) == (dt.time(9, 0), dt.time(17, 30))
    early = OfficeHours(dt.time(8, 0), dt.time(12, 0))
    cal = WorkCalendar(office=early)
    assert cal.add_working_hours(at(2026, 9, 29, 11, 0), 2) == at(2026, 9, 30, 9, 0)
    with pytest.raises(ValueError, match="start before"):
        OfficeHours(dt.time(18, 0), dt.time(9, 0))


def test_special_days_of_2026_list_the_holidays_and_make_up_days():
    days = {info.day: info for info in workdays.special_days(2026)}
    assert days[D(2026, 10, 1)].holiday == "National Day"
    assert days[D(2026, 10, 10)].kind == "makeup"
    assert days[D(2026, 2, 17)].holiday == "Spring Festival"
    assert D(2026, 10, 11) not in days  # an ordinary Sunday is not special
    assert workdays.special_days(2027) == []
    assert [i.day for i in workdays.special_days(2027, {D(2027, 2, 8): False})] == [D(2027, 2, 8)]


# --- the loader: one query per session, per tenant --------------------------------------------------------


@contextlib.contextmanager
def calendar_queries(engine: sa.Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if "calendar_days" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_thousands_of_deadlines_cost_one_query(app, factory, tenant_a):
    with factory.as_tenant(tenant_a) as s:
        district.add_calendar_day(s, None, {"date": "2026-10-08", "is_workday": False})
        s.commit()
    with factory.as_tenant(tenant_a) as s, calendar_queries(s.get_bind()) as seen:
        starts = [at(2026, 9, 1) + dt.timedelta(hours=7 * i) for i in range(2000)]
        deadlines = [workdays.calendar_for(s, tenant_a).add_working_days(t, 5) for t in starts]
        assert len(deadlines) == 2000
        assert workdays.calendar_for(s, tenant_a).working_day_after(D(2026, 9, 30), 1) == D(2026, 10, 9)
        assert len(seen) == 1


def test_cached_overrides_are_dropped_when_the_calendar_changes(app, factory, tenant_a):
    with factory.as_tenant(tenant_a) as s:
        assert workdays.calendar_for(s, tenant_a).working_day_after(D(2026, 9, 30), 1) == D(2026, 10, 8)
        district.add_calendar_day(s, None, {"date": "2026-10-08", "is_workday": False})
        assert workdays.calendar_for(s, tenant_a).working_day_after(D(2026, 9, 30), 1) == D(2026, 10, 9)
        s.rollback()
        assert workdays.calendar_for(s, tenant_a).working_day_after(D(2026, 9, 30), 1) == D(2026, 10, 8)
        # a change made behind the service's back is seen too, once flushed
        s.add(CalendarDay(day=D(2026, 10, 9), is_workday=False, note=""))
        s.flush()
        assert workdays.calendar_for(s, tenant_a).working_day_after(D(2026, 9, 30), 2) == D(2026, 10, 10)
        s.rollback()


def test_tenant_b_overrides_do_not_touch_tenant_a(app, factory, tenant_a, tenant_b):
    with factory.as_tenant(tenant_b) as s:
        district.add_calendar_day(s, None, {"date": "2026-10-08", "is_workday": False, "note": "乙区 local"})
        s.commit()
        assert workdays.calendar_for(s, tenant_b).working_day_after(D(2026, 9, 30), 1) == D(2026, 10, 9)
    with factory.as_tenant(tenant_a) as s:
        assert workdays.load_overrides(s) == {}
        assert workdays.calendar_for(s, tenant_a).working_day_after(D(2026, 9, 30), 1) == D(2026, 10, 8)


def test_one_session_switching_tenants_keeps_their_overrides_apart(app, factory, tenant_a, tenant_b):
    with factory.as_tenant(tenant_b) as s:
        district.add_calendar_day(s, None, {"date": "2026-10-08", "is_workday": False})
        s.commit()
    with app.app_context():
        with db.tenant_context(tenant_b.id) as s:
            assert D(2026, 10, 8) in workdays.load_overrides(s)
        with db.tenant_context(tenant_a.id) as s:
            assert workdays.load_overrides(s) == {}


def test_calendar_for_refuses_a_session_bound_to_another_tenant(app, factory, tenant_a, tenant_b):
    with factory.as_tenant(tenant_a) as s, pytest.raises(ValueError, match="bound to tenant"):
        workdays.calendar_for(s, tenant_b)


def test_calendar_uses_the_tenants_time_zone(app, factory, tenant_a):
    with factory.as_tenant(tenant_a) as s:
        received = dt.datetime(2026, 10, 8, 17, 0, tzinfo=dt.UTC)
        assert workdays.calendar_for(s, tenant_a).add_working_days(received, 1) == end(D(2026, 10, 10))
        district.update_district(s, tenant_a, None, {"timezone": "Asia/Urumqi"})
        s.commit()
        assert workdays.calendar_for(s, tenant_a).add_working_days(received, 1) == end(D(2026, 10, 9), URUMQI)
