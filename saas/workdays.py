"""Working days on a district's calendar: statutory holidays, make-up working days (调休) and local overrides.

Every deadline in every module is counted here. Which days are working days, in order of precedence:

1. the tenant's own `CalendarDay` rows (a local holiday, or next year's schedule before the library has it);
2. the national calendar of the `chinesecalendar` package (holidays and make-up working days);
3. for a year that package does not cover yet, Monday to Friday (`source` "assumed").

The counting rule follows the Civil Code (民法典 art. 201 and 203): the day something is received does not
count, counting starts the next day, and a period ends at the end (24:00) of its last day, in the tenant's
time zone. So "within 5 working days" of an item received on Wednesday 2026-09-30 at 23:30 ends with the
5th working day after 30 September, whatever the hour of receipt.

The functions are pure: they take the override map (`{date: is_workday}`) and the time zone explicitly.
`load_overrides(session)` reads a tenant's overrides once per session, so a job computing thousands of
deadlines issues one query; `calendar_for(session, tenant)` bundles the overrides and time zone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import event

from tenants.models import CalendarDay

Overrides = Mapping[dt.date, bool]
EMPTY: Overrides = MappingProxyType({})
DEFAULT_TIMEZONE = "Asia/Shanghai"
# a bound on every loop below: no real deadline is ten years of working days away
MAX_DAYS = 3660

# sources of a day's status, from strongest to weakest
OVERRIDE, NATIONAL, WEEKLY, ASSUMED = "override", "national", "weekly", "assumed"

# the library's holiday names, marked for translation (the zh_CN catalogue says 春节, 国庆节, ...)
HOLIDAY_LABELS = {
    "New Year's Day": _l("New Year's Day"),
    "Spring Festival": _l("Spring Festival"),
    "Tomb-sweeping Day": _l("Tomb-sweeping Day"),
    "Labour Day": _l("Labour Day"),
    "Dragon Boat Festival": _l("Dragon Boat Festival"),
    "National Day": _l("National Day"),
    "Mid-autumn Festival": _l("Mid-autumn Festival"),
    "Anti-Fascist 70th Day": _l("Anti-Fascist 70th Day"),
}


@dataclasses.dataclass(frozen=True)
class OfficeHours:
    """The hours a working day is open, for deadlines counted in hours (no lunch break is deducted)."""

    start: dt.time = dt.time(9, 0)
    end: dt.time = dt.time(17, 30)

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError("office hours must start before they end")


# the kernel's default for every module; a module or a tenant may pass its own
OFFICE_HOURS = OfficeHours()


@dataclasses.dataclass(frozen=True)
class NationalDay:
    """What the national calendar says about a day, before any tenant override."""

    is_workday: bool
    known: bool  # False: the library does not cover the year, Monday to Friday was assumed
    holiday: str | None = None  # the library's name of the holiday a day off or make-up day belongs to


@dataclasses.dataclass(frozen=True)
class DayInfo:
    """A day on a tenant's calendar: whether people work, and why."""

    day: dt.date
    is_workday: bool
    source: str  # OVERRIDE, NATIONAL, WEEKLY or ASSUMED
    national: NationalDay

    @property
    def holiday(self) -> str | None:
        return self.national.holiday

    @property
    def kind(self) -> str:
        """workday, makeup (a weekend day worked), holiday, or weekend (an ordinary Saturday or Sunday)."""
        weekend = self.day.weekday() >= 5
        if self.is_workday:
            return "makeup" if weekend else "workday"
        return "weekend" if weekend and self.source in (WEEKLY, ASSUMED) else "holiday"

    def label(self) -> str:
        """The holiday's name in the request's language, or an empty string."""
        return holiday_label(self.national.holiday)


def holiday_label(name: str | None) -> str:
    if not name:
        return ""
    label = HOLIDAY_LABELS.get(name)
    return str(label) if label is not None else gettext(name)


@functools.lru_cache(maxsize=16384)
def national_day(day: dt.date) -> NationalDay:
    """The national calendar's answer for `day` (cached: the library scans its tables on each call)."""
    try:
        is_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return NationalDay(is_workday=day.weekday() < 5, known=False)
    return NationalDay(is_workday=not is_holiday, known=True, holiday=name)


@functools.lru_cache(maxsize=256)
def national_published(year: int) -> bool:
    """Whether the installed `chinesecalendar` knows the holidays of `year`."""
    return national_day(dt.date(year, 6, 30)).known


def describe(day: dt.date, overrides: Overrides = EMPTY) -> DayInfo:
    national = national_day(day)
    if day in overrides:
        return DayInfo(day, bool(overrides[day]), OVERRIDE, national)
    if not national.known:
        return DayInfo(day, national.is_workday, ASSUMED, national)
    return DayInfo(day, national.is_workday, NATIONAL if national.holiday else WEEKLY, national)


def is_workday(day: dt.date, overrides: Overrides = EMPTY) -> bool:
    if isinstance(day, dt.datetime):
        raise TypeError("is_workday takes a date; convert a datetime to the tenant's local date first")
    if day in overrides:
        return bool(overrides[day])
    return national_day(day).is_workday


def special_days(year: int, overrides: Overrides = EMPTY) -> list[DayInfo]:
    """The days of `year` that differ from an ordinary week, or that the tenant has overridden."""
    out = []
    day = dt.date(year, 1, 1)
    while day.year == year:
        info = describe(day, overrides)
        if info.source in (OVERRIDE, NATIONAL):
            out.append(info)
        day += dt.timedelta(days=1)
    return out


def zone(tz: str | ZoneInfo) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def local_date(moment: dt.date | dt.datetime, tz: str | ZoneInfo = DEFAULT_TIMEZONE) -> dt.date:
    """The tenant-local calendar day of a moment; a plain date is taken as already local."""
    if isinstance(moment, dt.datetime):
        if moment.tzinfo is None:
            raise ValueError("naive datetime: give it a time zone so the local day is known")
        return moment.astimezone(zone(tz)).date()
    return moment


def _check_span(n: int | float) -> None:
    if abs(n) > MAX_DAYS:
        raise ValueError(f"at most {MAX_DAYS} working days either way")


def working_day_after(
    start: dt.date | dt.datetime, n: int, overrides: Overrides = EMPTY, tz: str | ZoneInfo = DEFAULT_TIMEZONE
) -> dt.date:
    """The n-th working day after the local day of `start` (which never counts); n < 0 counts back.

    n == 0 is the day of `start` itself, working day or not.
    """
    _check_span(n)
    day = local_date(start, tz)
    step = dt.timedelta(days=1 if n >= 0 else -1)
    left = abs(n)
    while left:
        day += step
        if is_workday(day, overrides):
            left -= 1
    return day


def end_of_day(day: dt.date, tz: str | ZoneInfo = DEFAULT_TIMEZONE) -> dt.datetime:
    """The last instant of `day` in the tenant's time zone: a deadline is met up to and including it."""
    return dt.datetime.combine(day, dt.time.max, zone(tz))


def add_working_days(
    start: dt.date | dt.datetime,
    n: int,
    overrides: Overrides = EMPTY,
    tz: str | ZoneInfo = DEFAULT_TIMEZONE,
    *,
    until_office_close: bool = False,
    office: OfficeHours = OFFICE_HOURS,
) -> dt.datetime:
    """The deadline of something received at `start` and due within `n` working days.

    The day of receipt does not count, whatever the hour; the deadline is the end (23:59:59.999999, local)
    of the n-th working day after it, or its office closing time with `until_office_close`. Overdue means
    `now > deadline`.
    """
    day = working_day_after(start, n, overrides, tz)
    if until_office_close:
        return dt.datetime.combine(day, office.end, zone(tz))
    return end_of_day(day, tz)


def working_days_between(
    a: dt.date | dt.datetime, b: dt.date | dt.datetime, overrides: Overrides = EMPTY,
    tz: str | ZoneInfo = DEFAULT_TIMEZONE,
) -> int:
    """Working days d with local(a) < d <= local(b) (negative when b is before a).

    The inverse of `working_day_after`: `working_days_between(s, working_day_after(s, n)) == n`.
    """
    first, last = local_date(a, tz), local_date(b, tz)
    sign = 1
    if last < first:
        first, last, sign = last, first, -1
    if (last - first).days > 2 * MAX_DAYS:
        raise ValueError(f"at most {2 * MAX_DAYS} days apart")
    count = 0
    day = first + dt.timedelta(days=1)
    while day <= last:
        if is_workday(day, overrides):
            count += 1
        day += dt.timedelta(days=1)
    return sign * count


def add_working_hours(
    start: dt.datetime,
    hours: float | dt.timedelta,
    overrides: Overrides = EMPTY,
    tz: str | ZoneInfo = DEFAULT_TIMEZONE,
    office: OfficeHours = OFFICE_HOURS,
) -> dt.datetime:
    """The earliest moment by which `hours` of office time on working days have passed since `start`.

    Time outside office hours and on days off does not run: a request at 20:00 with 2 hours starts the
    clock at the next working day's opening. The answer is in the tenant's time zone.
    """
    tzinfo = zone(tz)
    if start.tzinfo is None:
        raise ValueError("naive datetime: give it a time zone")
    left = hours if isinstance(hours, dt.timedelta) else dt.timedelta(hours=hours)
    if left < dt.timedelta(0):
        raise ValueError("hours must not be negative")
    _check_span(left / dt.timedelta(days=1))
    cursor = start.astimezone(tzinfo)
    if not left:
        return cursor
    for _ in range(MAX_DAYS * 2):
        day = cursor.date()
        if is_workday(day, overrides):
            opens = dt.datetime.combine(day, office.start, tzinfo)
            closes = dt.datetime.combine(day, office.end, tzinfo)
            cursor = max(cursor, opens)
            if cursor < closes:
                # in UTC, so a zone with daylight saving time still counts real hours
                available = closes.astimezone(dt.UTC) - cursor.astimezone(dt.UTC)
                if left <= available:
                    return (cursor.astimezone(dt.UTC) + left).astimezone(tzinfo)
                left -= available
        cursor = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo)
    raise ValueError("no working day within reach")


@dataclasses.dataclass(frozen=True)
class WorkCalendar:
    """One tenant's calendar: its overrides, time zone and office hours, with the functions above bound."""

    overrides: Overrides = dataclasses.field(default_factory=lambda: EMPTY)
    tz: ZoneInfo = dataclasses.field(default_factory=lambda: ZoneInfo(DEFAULT_TIMEZONE))
    office: OfficeHours = OFFICE_HOURS

    def is_workday(self, day: dt.date) -> bool:
        return is_workday(day, self.overrides)

    def describe(self, day: dt.date) -> DayInfo:
        return describe(day, self.overrides)

    def local_date(self, moment: dt.date | dt.datetime) -> dt.date:
        return local_date(moment, self.tz)

    def working_day_after(self, start: dt.date | dt.datetime, n: int) -> dt.date:
        return working_day_after(start, n, self.overrides, self.tz)

    def add_working_days(
        self, start: dt.date | dt.datetime, n: int, *, until_office_close: bool = False
    ) -> dt.datetime:
        return add_working_days(start, n, self.overrides, self.tz, until_office_close=until_office_close,
                                office=self.office)

    def working_days_between(self, a: dt.date | dt.datetime, b: dt.date | dt.datetime) -> int:
        return working_days_between(a, b, self.overrides, self.tz)

    def add_working_hours(self, start: dt.datetime, hours: float | dt.timedelta) -> dt.datetime:
        return add_working_hours(start, hours, self.overrides, self.tz, self.office)

    def special_days(self, year: int) -> list[DayInfo]:
        return special_days(year, self.overrides)


# --- loading a tenant's overrides -------------------------------------------------------------------

_CACHE_KEY = "workdays.overrides"


def load_overrides(session: so.Session) -> Overrides:
    """The session's tenant's overrides as {date: is_workday}, read once per session and then cached.

    The cache lives in `session.info`, so it ends with the request (or the job's session) and is dropped
    when this session flushes a change to a `CalendarDay` or rolls back.
    """
    tenant_id = session.info.get("tenant_id")
    cache: dict[int, Overrides] = session.info.setdefault(_CACHE_KEY, {})
    if tenant_id in cache:
        return cache[tenant_id]
    # the kernel's tenant filter applies (and fails closed when no tenant is set)
    rows = session.scalars(sa.select(CalendarDay)).all()
    overrides: Overrides = MappingProxyType({row.day: row.is_workday for row in rows})
    if tenant_id is not None:
        cache[tenant_id] = overrides
    return overrides


def forget_overrides(session: so.Session) -> None:
    session.info.pop(_CACHE_KEY, None)


def calendar_for(session: so.Session, tenant: Any, office: OfficeHours = OFFICE_HOURS) -> WorkCalendar:
    """The working-day calendar of `tenant`, whose rows the session must be bound to."""
    bound = session.info.get("tenant_id")
    if bound != tenant.id:
        raise ValueError(f"session is bound to tenant {bound}, not {tenant.id}")
    return WorkCalendar(load_overrides(session), ZoneInfo(tenant.timezone or DEFAULT_TIMEZONE), office)


@event.listens_for(so.Session, "after_flush")
def _forget_on_change(s: so.Session, _ctx: Any) -> None:
    if _CACHE_KEY in s.info and any(isinstance(o, CalendarDay) for o in (*s.new, *s.dirty, *s.deleted)):
        forget_overrides(s)


@event.listens_for(so.Session, "after_soft_rollback")
def _forget_on_rollback(s: so.Session, _previous: Any) -> None:
    forget_overrides(s)
