"""The district settings API: names and time zone, the working-day calendar, and deadline arithmetic."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from flask import g, request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import abort

from saas import db, workdays
from saas.actors import ServiceError
from saas.api import Blueprint
from saas.auth import login_required, require
from saas.i18n import tenant_now
from saas.schemas import Schema
from tenants import district
from tenants.district import CalendarDayIn, DistrictSchema, NoSuchOverride

district_api = Blueprint("district_api", __name__, url_prefix="/api/v1/t/<tenant>/admin",
                         description="District settings and the working-day calendar")
calendar_api = Blueprint("calendar_api", __name__, url_prefix="/api/v1/t/<tenant>/calendar",
                         description="Deadlines counted in working days on the district's calendar")


class DistrictOut(Schema):
    slug = ma.fields.String()
    name_zh = ma.fields.String()
    name_en = ma.fields.String()
    timezone = ma.fields.String()


@district_api.route("/district")
class District(MethodView):
    @district_api.response(200, DistrictOut)
    @require("tenant.admin")
    def get(self) -> dict[str, Any]:
        """The district's names and time zone"""
        return district.district_fields(g.tenant)

    @district_api.arguments(DistrictSchema(partial=True))
    @district_api.response(200, DistrictOut)
    @require("tenant.admin")
    def patch(self, body: dict[str, Any]) -> dict[str, Any]:
        """Change the district's Chinese or English name or its time zone; the change is audited"""
        try:
            district.update_district(db.session(), g.tenant, g.user, body, ip=request.remote_addr)
        except ServiceError as err:
            db.session.rollback()
            abort(422, errors=err.errors)
        db.session.commit()
        return district.district_fields(g.tenant)


SOURCES = "override (the district's own), national (a statutory holiday or make-up working day), " \
          "weekly (an ordinary weekday or weekend), assumed (Monday to Friday: the year's schedule is not known yet)"


class CalendarDayOut(Schema):
    date = ma.fields.Date()
    is_workday = ma.fields.Boolean()
    source = ma.fields.String(metadata={"description": SOURCES})
    kind = ma.fields.String(metadata={"description": "workday, makeup, holiday or weekend"})
    holiday = ma.fields.String(allow_none=True, metadata={"description": "The statutory holiday, e.g. National Day"})
    label = ma.fields.String(metadata={"description": "The holiday's name in the request's language"})
    note = ma.fields.String(metadata={"description": "The district's note on its override"})
    national_is_workday = ma.fields.Boolean(metadata={"description": "What the national calendar says"})


class CalendarYearOut(Schema):
    year = ma.fields.Integer()
    timezone = ma.fields.String()
    national_published = ma.fields.Boolean(
        metadata={"description": "False when the national schedule of the year is not known yet"})
    days = ma.fields.List(ma.fields.Nested(CalendarDayOut))


class CalendarYearArgs(Schema):
    class Meta:
        unknown = ma.EXCLUDE

    year = ma.fields.Integer(validate=ma.validate.Range(min=district.FIRST_YEAR, max=district.LAST_YEAR),
                             metadata={"description": "Defaults to the current year in the district's time zone"})
    all = ma.fields.Boolean(load_default=False,
                            metadata={"description": "Every day of the year, not only holidays, make-up days "
                                                     "and overrides"})


def _day_out(day: dt.date) -> dict[str, Any]:
    row = district.override_on(db.session(), day)
    info = workdays.describe(day, workdays.load_overrides(db.session()))
    return district.day_fields(info, row.note if row else "")


@district_api.route("/calendar")
class Calendar(MethodView):
    @district_api.arguments(CalendarYearArgs, location="query")
    @district_api.response(200, CalendarYearOut)
    @require("tenant.calendar")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """A year's statutory holidays, make-up working days (调休) and the district's overrides"""
        year = args.get("year") or tenant_now(g.tenant.timezone).year
        return {"year": year, "timezone": g.tenant.timezone, "national_published": workdays.national_published(year),
                "days": district.calendar_year(db.session(), year, every_day=args["all"])}

    @district_api.arguments(CalendarDayIn)
    @district_api.response(201, CalendarDayOut)
    @require("tenant.calendar")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Override the national calendar on one day: a local day off, or a working day; audited"""
        try:
            row = district.add_calendar_day(db.session(), g.user, body, ip=request.remote_addr)
        except ServiceError as err:
            db.session.rollback()
            abort(422, errors=err.errors)
        db.session.commit()
        return _day_out(row.day)


@district_api.route("/calendar/<day>")
class CalendarDayByDate(MethodView):
    @district_api.response(200, CalendarDayOut)
    @district_api.alt_response(422, response="UNPROCESSABLE_ENTITY")
    @require("tenant.calendar")
    def get(self, day: str) -> dict[str, Any]:
        """One day of the district's calendar, and why it is a working day or not"""
        try:
            when = district.parse_day(day)
        except ServiceError as err:
            abort(422, errors=err.errors)
        return _day_out(when)

    @district_api.response(204)
    @district_api.alt_response(422, response="UNPROCESSABLE_ENTITY")
    @require("tenant.calendar")
    def delete(self, day: str) -> None:
        """Remove the district's override on a day (YYYY-MM-DD); the national calendar applies again"""
        try:
            district.remove_calendar_day(db.session(), g.user, day, ip=request.remote_addr)
        except NoSuchOverride as err:
            db.session.rollback()
            abort(404, errors=err.errors)
        except ServiceError as err:
            db.session.rollback()
            abort(422, errors=err.errors)
        db.session.commit()


class Moment(ma.fields.Field):
    """A day (YYYY-MM-DD) or a moment (ISO 8601); a moment without an offset is read in the district's zone."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        if not isinstance(value, str) or len(value) > 40:
            raise ma.ValidationError(_("Use a date like 2026-09-30 or a time like 2026-09-30T23:30:00+08:00."))
        text = value.strip()
        # an unencoded "+08:00" in a query string arrives as " 08:00"
        text = re.sub(r"^(\S+T[\d:.]+) (\d\d:?\d\d)$", r"\1+\2", text)
        try:
            if len(text) == 10:
                parsed: dt.date = dt.date.fromisoformat(text)
            else:
                parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ma.ValidationError(
                _("Use a date like 2026-09-30 or a time like 2026-09-30T23:30:00+08:00.")) from None
        if not district.FIRST_YEAR <= parsed.year <= district.LAST_YEAR:
            raise ma.ValidationError(_("Choose a date between %(first)s and %(last)s.", first=district.FIRST_YEAR,
                                       last=district.LAST_YEAR))
        return parsed


class DeadlineArgs(Schema):
    class Meta:
        unknown = ma.EXCLUDE

    start = Moment(required=True, metadata={
        "description": "When the item was received: 2026-09-30, or 2026-09-30T23:30:00+08:00 (no offset: the "
                       "district's time zone)", "type": "string"})
    days = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0, max=1000),
                             metadata={"description": "Working days allowed"})
    until_office_close = ma.fields.Boolean(load_default=False, metadata={
        "description": "End the deadline at office closing time instead of midnight"})


class DeadlineOut(Schema):
    start = ma.fields.String(metadata={"description": "The start as read, in the district's time zone"})
    days = ma.fields.Integer()
    deadline = ma.fields.DateTime(metadata={"description": "The last instant that is still in time"})
    deadline_date = ma.fields.Date(metadata={"description": "The deadline's day in the district's time zone"})
    timezone = ma.fields.String()
    rule = ma.fields.String()


RULE = ("The day of receipt does not count; the deadline is the end of the n-th working day after it, "
        "in the district's time zone, on the national calendar with the district's overrides.")


@calendar_api.route("/add-working-days")
class AddWorkingDays(MethodView):
    @calendar_api.arguments(DeadlineArgs, location="query")
    @calendar_api.response(200, DeadlineOut)
    @login_required
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The deadline of an item received at `start` and due within `days` working days"""
        cal = workdays.calendar_for(db.session(), g.tenant)
        start = args["start"]
        if isinstance(start, dt.datetime):
            start = start.replace(tzinfo=cal.tz) if start.tzinfo is None else start.astimezone(cal.tz)
        deadline = cal.add_working_days(start, args["days"], until_office_close=args["until_office_close"])
        return {"start": start.isoformat(), "days": args["days"], "deadline": deadline,
                "deadline_date": deadline.date(), "timezone": g.tenant.timezone, "rule": RULE}


def blueprints() -> list[Blueprint]:
    return [district_api, calendar_api]
