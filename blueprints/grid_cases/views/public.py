"""The residents' side: report without an account (the phone verified by a code), follow a case, rate it.

The report form is a district's door: anyone may open it, from the contact card's QR code (`?grid=<code>`)
or from the district's page. A resident who is not signed in gives a mobile number and the six-digit code
sent to it in the same form; the code signs them in, so "my reports" and each case's public page work
from then on. Following a case by its number goes through the kernel's resident sign-in (the phone code),
and a case's public page opens only for the phone that reported it. The public page shows the public
steps, with the role that acted but no staff names, and the report's and result's photos.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _

from blueprints.grid_cases import services
from blueprints.grid_cases.schemas import PublicCaseIn, RatingIn
from blueprints.grid_cases.services import cases as case_services
from blueprints.grid_cases.services.base import Actor, Refused
from blueprints.grid_cases.views import bp
from blueprints.grid_cases.views.cases import _photo, refuse
from blueprints.grid_cases.web import actor, uploads
from saas import auth, db, throttle
from saas.context import enabled_modules, role_book
from saas.rendering import render
from saas.schemas import Phone, Schema, Text, load_form
from tenants.models import OrgUnit


class CodeRequest(Schema):
    phone = Phone(required=True)


class VerifiedPhone(Schema):
    phone = Phone(required=True)
    code = Text(required=True, max_length=6, min_length=6)


class TrackForm(Schema):
    number = Text(required=True, max_length=32)
    phone = Phone(required=True)


def _code_refused(wait: int) -> Any:
    """The form's code line again, saying that no code went out and how long to wait (the button counts down)."""
    errors = {"phone": [throttle.too_many_codes(wait)]}
    return render("grid_cases/public_report.html", block="code", errors=errors, sent=False, citizen=None, wait=wait,
                  form={"phone": request.form.get("phone", "")}, **({} if request.htmx else _form_choices("")))


def _not_yours() -> Refused:
    return Refused(_("No report with this number was made from your phone."), 404)


def _citizen() -> Any:
    user = g.get("user")
    return user if user is not None and user.kind == "citizen" else None


def _form_choices(grid_code: str) -> dict[str, Any]:
    session = db.session()
    grids = list(session.scalars(sa.select(OrgUnit).where(OrgUnit.kind == "grid").order_by(OrgUnit.path).limit(2000)))
    communities = {u.id: u for u in session.scalars(sa.select(OrgUnit).where(
        OrgUnit.id.in_({u.parent_id for u in grids if u.parent_id})))} if grids else {}
    groups: dict[str, list[OrgUnit]] = {}
    for grid in grids:
        groups.setdefault(communities[grid.parent_id].name if grid.parent_id in communities else "", []).append(grid)
    fixed = next((u for u in grids if u.code == grid_code), None) if grid_code else None
    return {"categories": services.list_categories(session, active_only=True), "groups": groups, "fixed": fixed}


@bp.route("/report", methods=["GET", "POST"])
@throttle.code_check_limits
def report() -> Any:
    """The public report form (a district's door)."""
    if g.get("user") is not None and g.user.kind == "staff":
        return redirect(url_for("grid_cases.new_case", location=request.args.get("grid", "")))
    grid_code = (request.values.get("grid") or "")[:64]
    form: dict[str, Any] = {"location_code": grid_code, "source": "qr" if grid_code else "web"}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        form = dict(request.form)
        raw = {k: v for k, v in request.form.items() if k not in ("csrf_token", "phone", "code", "grid")}
        data, errors = load_form(PublicCaseIn(), raw)
        citizen = _citizen()
        if citizen is None:
            verified, phone_errors = load_form(VerifiedPhone(), {k: request.form.get(k, "") for k in ("phone", "code")})
            errors.update(phone_errors)
            if verified is not None and data is not None:
                # a staff number was sent no code (saas.auth.send_phone_code), so its code is always wrong
                if auth.find_staff(verified["phone"]) is not None or not auth.check_phone_code(
                        verified["phone"], verified["code"]):
                    auth.record_refused("auth.code_failed", None, phone=verified["phone"])
                    db.session.commit()  # keep the count of wrong tries
                    errors["code"] = [_("The code is wrong or has expired.")]
                else:
                    citizen = auth.citizen_for_phone(verified["phone"])
                    db.session.flush()
        if data is not None and citizen is not None and not errors:
            try:
                case = services.report_case(db.session(), g.tenant, _as(citizen), data, uploads(),
                                            source=data["source"])
            except services.ServiceError as err:
                db.session.rollback()
                errors = {k: [v] for k, v in err.errors.items()}
            else:
                auth.sign_in(citizen)
                db.session.commit()
                flash(_("Thank you. Your report %(number)s is received; we tell you by SMS how it goes.",
                        number=case.number), "success")
                return redirect(url_for("grid_cases.public_case", number=case.number))
    return render("grid_cases/public_report.html", form=form, errors=errors, citizen=_citizen(),
                  **_form_choices(form.get("location_code") or grid_code), status=422 if errors else 200)


def _as(citizen: Any) -> Actor:
    """The resident who just proved their phone, before the session knows them."""
    return Actor(citizen, role_book(), frozenset(enabled_modules()))


@bp.post("/report/code")
@throttle.code_send_limits(_code_refused)
def report_code() -> Any:
    """Send the six-digit code for the report form (a district's door); answers the form's code line."""
    # htmx sends the whole report form along with the number (the button sits inside it): read the number alone
    data, errors = load_form(CodeRequest(), {"phone": request.form.get("phone", "")})
    sent = False
    if data is not None:
        # the same answer for every number, a staff one included (which gets no code): see send_phone_code
        auth.send_phone_code(data["phone"])
        db.session.commit()
        sent = True
    return render("grid_cases/public_report.html", block="code", errors=errors, sent=sent, citizen=None,
                  form={"phone": request.form.get("phone", "")}, **({} if request.htmx else _form_choices("")),
                  status=422 if errors else 200)


@bp.get("/track")
def track() -> Any:
    """Follow a case by its number: the resident signs in with the phone that reported it (a door)."""
    errors: dict[str, list[str]] = {}
    form = dict(request.args)
    # the form sent, even empty (its fields are in the query), is checked and answered; the first visit is not
    if "number" in request.args or "phone" in request.args:
        data, errors = load_form(TrackForm(), {k: request.args.get(k, "") for k in ("number", "phone")})
        if data is not None:
            target = url_for("grid_cases.public_case", number=data["number"].upper())
            citizen = _citizen()
            if citizen is not None and citizen.phone == data["phone"]:
                return redirect(target)
            return redirect(url_for("auth.citizen", next=target, phone=data["phone"]))
    return render("grid_cases/track.html", form=form, errors=errors, status=422 if errors else 200)


@bp.get("/mine")
def mine() -> Any:
    """A resident's own reports."""
    citizen = _citizen()
    if citizen is None:
        return redirect(url_for("auth.citizen", next=url_for("grid_cases.mine")))
    rows: list[dict[str, Any]] = []
    cases, _cursor, _errors = case_services.list_cases(db.session(), g.tenant, actor(), {"view": "area"}, limit=50)
    rows = services.case_rows(db.session(), cases)
    return render("grid_cases/mine.html", rows=rows, labels=case_services.PUBLIC_STATE_LABELS)


def _public_case(number: str) -> Any:
    if _citizen() is None:
        return None
    try:
        return services.get_case(db.session(), actor(), number=number)
    except Refused:
        return None


def _public_context(case: Any) -> dict[str, Any]:
    session = db.session()
    me = actor()
    row = services.case_rows(session, [case])[0]
    events = services.timeline(session, case, public_only=True)
    photos = [p for p in case_services.photos_of(session, case) if p.stage in ("report", "result")]
    return {"case": case, "row": row, "events": events, "photos": photos,
            "state_label": case_services.PUBLIC_STATE_LABELS[case.state], "event_labels": case_services.EVENT_LABELS,
            "role_label": lambda role: case_services.event_role_label(me.book, role),
            "rating_labels": case_services.RATING_LABELS,
            "may_rate": case_services.allowed(me, case, "rate")}


@bp.get("/public/<number>")
def public_case(number: str) -> Any:
    if g.get("user") is not None and g.user.kind == "staff":
        # a staff member following a resident's link gets the staff page, if the case is in their area
        try:
            case = services.get_case(db.session(), actor(), number=number[:32])
        except Refused as err:
            return refuse(err)
        return redirect(url_for("grid_cases.case_detail", case_id=case.id))
    if _citizen() is None:
        return redirect(url_for("auth.citizen", next=url_for("grid_cases.public_case", number=number[:32])))
    case = _public_case(number[:32])
    if case is None:
        return refuse(_not_yours())
    return render("grid_cases/public_case.html", **_public_context(case), errors={}, form={})


@bp.post("/public/<number>/rate")
def public_rate(number: str) -> Any:
    if _citizen() is None:
        return redirect(url_for("auth.citizen", next=url_for("grid_cases.public_case", number=number[:32])))
    case = _public_case(number[:32])
    if case is None:
        return refuse(_not_yours())
    data, errors = load_form(RatingIn(), request.form)
    status = 422
    if data is not None:
        try:
            services.act(db.session(), g.tenant, actor(), case.id, "rate",
                         {"version": data["version"], "rating": data["rating"], "comment": data["comment"]})
        except services.ServiceError as err:
            db.session.rollback()
            errors = {k: [v] for k, v in err.errors.items()}
        except Refused as err:
            db.session.rollback()
            errors, status = {"_form": [err.message]}, err.status
        else:
            db.session.commit()
            flash(_("Thank you for your rating."), "success")
            return redirect(url_for("grid_cases.public_case", number=case.number))
        case = _public_case(number[:32]) or case
    return render("grid_cases/public_case.html", **_public_context(case), errors=errors, form=dict(request.form),
                  status=status)


@bp.get("/public/photos/<int:photo_id>")
def public_photo(photo_id: int) -> Any:
    if _citizen() is None:
        return refuse(_not_yours())
    return _photo(photo_id, thumb=request.args.get("size") == "thumb", public=True)
