"""District settings and the working-day calendar: names, time zone, and the tenant's calendar overrides.

Services take the session and the actor explicitly and never read request globals; the settings pages
and the JSON API call the same functions, and both get the same field rules from the schemas below.
Every change is audited with the state before and after.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _

from saas import audit, workdays
from saas.actors import ServiceError
from saas.schemas import Schema, Text
from tenants.models import CalendarDay, OrgUnit, Tenant

# overrides outside these years are typing mistakes, and far dates would overflow the arithmetic
FIRST_YEAR, LAST_YEAR = 2000, 2100
# time zones offered first in forms; any IANA name is accepted
COMMON_TIMEZONES = ("Asia/Shanghai", "Asia/Urumqi", "Asia/Hong_Kong", "Asia/Macau", "Asia/Taipei", "UTC")


class NoSuchOverride(ServiceError):
    """The tenant has no override on that day (the same answer whether it never had one or another tenant has)."""


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _check_zone(value: str) -> None:
    if value not in _known_zones():
        raise ma.ValidationError(_("Unknown time zone. Use a name like Asia/Shanghai."))


def _check_year(value: dt.date) -> None:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ma.ValidationError(_("Choose a date between %(first)s and %(last)s.", first=FIRST_YEAR, last=LAST_YEAR))


class Day(ma.fields.Date):
    """A calendar day as YYYY-MM-DD, surrounding spaces forgiven."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
        return super()._deserialize(value, attr, data, **kwargs)


class DistrictSchema(Schema):
    name_zh = Text(required=True, max_length=80, metadata={"description": "The district's Chinese name"})
    name_en = Text(load_default="", max_length=120, metadata={"description": "English name; may be empty"})
    timezone = Text(required=True, max_length=64, validate=[_check_zone],
                    metadata={"description": "IANA time zone, e.g. Asia/Shanghai"})


class CalendarDayIn(Schema):
    date = Day(required=True, validate=[_check_year], metadata={"description": "The day, YYYY-MM-DD"})
    is_workday = ma.fields.Boolean(required=True, metadata={"description": "true: people work; false: a day off"})
    note = Text(load_default="", max_length=120, metadata={"description": "Why, e.g. 2027 国庆节 (国务院通知)"})


def _validated(schema: ma.Schema, data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    try:
        return schema.load(dict(data), partial=partial)
    except ma.ValidationError as err:
        messages = err.messages if isinstance(err.messages, dict) else {"_form": err.messages}
        raise ServiceError(
            {k: " ".join(map(str, v)) if isinstance(v, list) else str(v) for k, v in messages.items()}
        ) from None


def parse_day(value: str | dt.date) -> dt.date:
    """A day from a URL or form; ServiceError with a clear message when it is not one."""
    return _validated(CalendarDayIn(only=("date",)), {"date": value})["date"]


# --- district ----------------------------------------------------------------------------------------


def district_fields(tenant: Tenant) -> dict[str, Any]:
    return {"slug": tenant.slug, "name_zh": tenant.name_zh, "name_en": tenant.name_en, "timezone": tenant.timezone}


def update_district(
    session: so.Session, tenant: Tenant, actor: Any, data: Mapping[str, Any], *, ip: str | None = None
) -> Tenant:
    """Change the district's names and time zone; fields left out stay as they are."""
    if session.info.get("tenant_id") != tenant.id:
        raise ServiceError(_("This district is not the one being administered."))
    values = _validated(DistrictSchema(), data, partial=True)
    before = {k: getattr(tenant, k) for k in values}
    changed = {k: v for k, v in values.items() if before[k] != v}
    if not changed:
        return tenant
    for key, value in changed.items():
        setattr(tenant, key, value)
    if "name_zh" in changed:
        # the root of the org tree is the district itself and carries its name
        root = session.scalars(sa.select(OrgUnit).where(OrgUnit.kind == "district")).first()
        if root is not None:
            root.name = changed["name_zh"]
    audit.record(session, actor, "district.update", "tenant", tenant.id,
                 before={k: before[k] for k in changed}, after=changed, ip=ip)
    session.flush()
    return tenant


# --- calendar ---------------------------------------------------------------------------------------


def override_on(session: so.Session, day: dt.date) -> CalendarDay | None:
    return session.scalars(sa.select(CalendarDay).where(CalendarDay.day == day)).first()


def overrides_in(session: so.Session, year: int) -> list[CalendarDay]:
    return list(session.scalars(
        sa.select(CalendarDay)
        .where(CalendarDay.day >= dt.date(year, 1, 1), CalendarDay.day <= dt.date(year, 12, 31))
        .order_by(CalendarDay.day)
    ))


def _day_fields(row: CalendarDay) -> dict[str, Any]:
    return {"date": row.day.isoformat(), "is_workday": row.is_workday, "note": row.note}


def add_calendar_day(
    session: so.Session, actor: Any, data: Mapping[str, Any], *, ip: str | None = None
) -> CalendarDay:
    """Override the national calendar on one day of the session's tenant."""
    values = _validated(CalendarDayIn(), data)
    day = values["date"]
    if override_on(session, day) is not None:
        raise ServiceError({"date": _("%(day)s already has an override; remove it first to change it.",
                                      day=day.isoformat())})
    row = CalendarDay(day=day, is_workday=values["is_workday"], note=values["note"])
    session.add(row)
    try:
        session.flush()
    except sa.exc.IntegrityError:
        # a twin request won the race for the (tenant_id, day) key; the transaction is lost either way
        session.rollback()
        raise ServiceError({"date": _("%(day)s already has an override; remove it first to change it.",
                                      day=day.isoformat())}) from None
    audit.record(session, actor, "calendar.add", "calendar_day", day.isoformat(), after=_day_fields(row), ip=ip)
    session.flush()
    workdays.forget_overrides(session)
    return row


def remove_calendar_day(session: so.Session, actor: Any, day: str | dt.date, *, ip: str | None = None) -> None:
    """Remove the tenant's override on `day`; the national calendar applies again."""
    when = parse_day(day)
    row = override_on(session, when)
    if row is None:
        raise NoSuchOverride({"date": _("There is no override on %(day)s.", day=when.isoformat())})
    audit.record(session, actor, "calendar.remove", "calendar_day", when.isoformat(), before=_day_fields(row), ip=ip)
    session.delete(row)
    session.flush()
    workdays.forget_overrides(session)


def calendar_year(session: so.Session, year: int, *, every_day: bool = False) -> list[dict[str, Any]]:
    """The year's holidays, make-up working days and overrides (or every day), each with why it is so."""
    notes = {row.day: row.note for row in overrides_in(session, year)}
    overrides = workdays.load_overrides(session)
    if every_day:
        days = [workdays.describe(dt.date(year, 1, 1) + dt.timedelta(days=i), overrides)
                for i in range((dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days)]
    else:
        days = workdays.special_days(year, overrides)
    return [day_fields(info, notes.get(info.day, "")) for info in days]


def day_fields(info: workdays.DayInfo, note: str = "") -> dict[str, Any]:
    return {
        "date": info.day,
        "is_workday": info.is_workday,
        "source": info.source,
        "kind": info.kind,
        "holiday": info.holiday,
        "label": info.label(),
        "note": note,
        "national_is_workday": info.national.is_workday,
    }
