"""District settings pages: the district's names and time zone, and its working-day calendar."""

from __future__ import annotations

import calendar as pycal
import datetime as dt
from typing import Any

import marshmallow as ma
from babel.dates import format_skeleton, get_day_names
from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_babel import format_date, get_locale
from flask_babel import gettext as _

from saas import db, workdays
from saas.actors import ServiceError
from saas.auth import login_required, require
from saas.context import can
from saas.i18n import tenant_now
from saas.rendering import render
from saas.schemas import Schema, load_form
from tenants import district

bp = Blueprint("district", __name__, url_prefix="/t/<tenant>/admin/district")


def _field_lists(errors: dict[str, str]) -> dict[str, list[str]]:
    return {k: [v] for k, v in errors.items()}


@bp.get("/home")
@login_required
def index() -> Any:
    """The menu's one link: settings for whoever may edit them, the calendar otherwise."""
    if can("tenant.admin"):
        return redirect(url_for("district.settings"))
    if can("tenant.calendar"):
        return redirect(url_for("district.calendar"))
    abort(403)


@bp.route("/", methods=["GET", "POST"])
@require("tenant.admin")
def settings() -> Any:
    tenant = g.tenant
    errors: dict[str, list[str]] = {}
    form: dict[str, Any] = district.district_fields(tenant)
    if request.method == "POST":
        form = {k: v for k, v in request.form.items() if k in ("name_zh", "name_en", "timezone")}
        try:
            district.update_district(db.session(), tenant, g.user, form, ip=request.remote_addr)
        except ServiceError as err:
            db.session.rollback()
            errors = _field_lists(err.errors)
        else:
            db.session.commit()
            flash(_("District settings saved."), "success")
            return redirect(url_for("district.settings"))
    return render("tenants/district.html", form=form, errors=errors, zones=district.COMMON_TIMEZONES,
                  status=422 if errors else 200)


class CalendarQuery(Schema):
    class Meta:
        unknown = ma.EXCLUDE

    year = ma.fields.Integer(validate=ma.validate.Range(min=district.FIRST_YEAR, max=district.LAST_YEAR))
    month = ma.fields.Integer(validate=ma.validate.Range(min=1, max=12))


def _month_grid(year: int, month: int, overrides: workdays.Overrides) -> list[list[workdays.DayInfo | None]]:
    weeks = pycal.Calendar(firstweekday=0).monthdayscalendar(year, month)
    return [[workdays.describe(dt.date(year, month, d), overrides) if d else None for d in week] for week in weeks]


def _calendar_context(year: int, month: int, *, form: dict[str, Any] | None = None,
                      errors: dict[str, list[str]] | None = None) -> dict[str, Any]:
    session = db.session()
    overrides = workdays.load_overrides(session)
    rows = district.overrides_in(session, year)
    special = workdays.special_days(year, overrides)
    by_month: dict[int, list[workdays.DayInfo]] = {}
    for info in special:
        by_month.setdefault(info.day.month, []).append(info)
    locale = get_locale()
    return {
        "year": year,
        "month": month,
        "published": workdays.national_published(year),
        "by_month": sorted(by_month.items()),
        "notes": {row.day: row.note for row in rows},
        "rows": rows,
        "national": {row.day: workdays.national_day(row.day) for row in rows},
        "grid": _month_grid(year, month, overrides),
        "weekdays": [get_day_names("abbreviated", locale=locale)[i] for i in range(7)],
        "month_name": lambda m: format_date(dt.date(year, m, 1), "LLLL"),
        "month_title": format_skeleton("yMMMM", dt.date(year, month, 1), locale=locale),
        "day_label": lambda d: format_skeleton("MMMdEEE", d, locale=locale),
        "first_year": district.FIRST_YEAR,
        "last_year": district.LAST_YEAR,
        "form": form or {},
        "errors": errors or {},
    }


@bp.get("/calendar")
@require("tenant.calendar")
def calendar() -> Any:
    query, errors = load_form(CalendarQuery(), request.args)
    today = tenant_now(g.tenant.timezone).date()
    year = (query or {}).get("year") or today.year
    month = (query or {}).get("month") or (today.month if year == today.year else 1)
    return render("tenants/calendar.html", block="calendar_body",
                  status=422 if errors else 200, **_calendar_context(year, month, errors=errors))


@bp.post("/calendar")
@require("tenant.calendar")
def calendar_add() -> Any:
    form = {k: v for k, v in request.form.items() if k in ("date", "is_workday", "note")}
    try:
        row = district.add_calendar_day(db.session(), g.user, form, ip=request.remote_addr)
    except ServiceError as err:
        db.session.rollback()
        view = _view_from(request.form)
        return render("tenants/calendar.html", block="calendar_body", status=422,
                      **_calendar_context(*view, form=form, errors=_field_lists(err.errors)))
    db.session.commit()
    day = row.day
    message = _("%(day)s is now a working day.", day=day.isoformat()) if row.is_workday else \
        _("%(day)s is now a day off.", day=day.isoformat())
    if request.htmx:
        # the view moves to the month of the new override, so its effect is in sight
        return render("tenants/calendar.html", block="calendar_body", message=message,
                      **_calendar_context(day.year, day.month))
    flash(message, "success")
    return redirect(url_for("district.calendar", year=day.year, month=day.month))


@bp.post("/calendar/<day>/delete")
@require("tenant.calendar")
def calendar_remove(day: str) -> Any:
    try:
        when = district.parse_day(day)
        district.remove_calendar_day(db.session(), g.user, when, ip=request.remote_addr)
    except ServiceError:
        db.session.rollback()
        abort(404)
    db.session.commit()
    message = _("The override on %(day)s is removed; the national calendar applies again.", day=when.isoformat())
    if request.htmx:
        return render("tenants/calendar.html", block="calendar_body", message=message,
                      **_calendar_context(*_view_from(request.form, when)))
    flash(message, "info")
    return redirect(url_for("district.calendar", year=when.year, month=when.month))


def _view_from(form: Any, fallback: dt.date | None = None) -> tuple[int, int]:
    """The year and month the page was showing, from the form's hidden fields, within bounds."""
    query, _errors = load_form(CalendarQuery(), {k: form.get(f"view_{k}", "") for k in ("year", "month")
                                                 if form.get(f"view_{k}")})
    today = fallback or tenant_now(g.tenant.timezone).date()
    query = query or {}
    return query.get("year") or today.year, query.get("month") or today.month
