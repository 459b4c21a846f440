"""The public doors of elderly visits: a neighbour's emergency report and a relative's (the family page).

Both prove the phone with the kernel's phone code, as grid cases' report form does: a neighbour not signed in
gives a mobile number and the six-digit code sent to it in the same form (the code signs them in as a resident),
a relative signs in through the residents' sign-in page. The neighbour's door is rate-limited per grid
(`NEIGHBOUR_GRID_RATE_LIMIT`) and per phone (`NEIGHBOUR_PHONE_RATE_LIMIT`) on top of the kernel's limits on
codes asked for and tried.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from blueprints.elderly_visits import services
from blueprints.elderly_visits.models import EMERGENCY_KINDS
from blueprints.elderly_visits.neighbours import grid_by_code, neighbour_report_errors, report_neighbour_emergency
from blueprints.elderly_visits.schemas import FamilyEmergencyIn
from blueprints.elderly_visits.views import bp
from saas import auth, db, throttle
from saas.actors import Actor, ServiceError
from saas.context import enabled_modules, role_book
from saas.rendering import render
from saas.schemas import Phone, Schema, Text, load_form, normalize_phone
from tenants.models import OrgUnit


class NeighbourEmergencyIn(Schema):
    grid = Text(required=True, max_length=64)
    name = Text(required=True, min_length=1, max_length=40)
    room = Text(load_default="", max_length=40)
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(EMERGENCY_KINDS))
    description = Text(load_default="", max_length=500)


class VerifiedPhone(Schema):
    phone = Phone(required=True)
    code = Text(required=True, max_length=6, min_length=6)


class CodeRequest(Schema):
    phone = Phone(required=True)


def _citizen() -> Any:
    user = g.get("user")
    return user if user is not None and user.kind == "citizen" else None


def _as(citizen: Any) -> Actor:
    """The resident who just proved their phone, before the session knows them."""
    return Actor(citizen, role_book(), frozenset(enabled_modules()))


def grid_key() -> str:
    """The grid a report names, per district: a flood on one grid's card is bounded however many phones it uses."""
    tenant = g.get("tenant")
    grid = (request.form.get("grid") or "").strip()[:64]
    return f"ev-neighbour-grid:{tenant.id if tenant is not None else '-'}:{grid}"


def reporter_key() -> str:
    """The phone a report comes from (the signed-in resident's, else the one typed), across the deployment."""
    citizen = _citizen()
    typed = (request.form.get("phone") or "").strip()[:64]
    phone = citizen.phone if citizen is not None else (normalize_phone(typed) or typed)
    return f"ev-neighbour-phone:{phone}"


def _grids(grid: OrgUnit | None) -> list[OrgUnit]:
    if grid is not None:
        return []
    return list(db.session().scalars(sa.select(OrgUnit).where(OrgUnit.kind == "grid").order_by(OrgUnit.path)
                                     .limit(2000)))


def _code_refused(wait: int) -> Any:
    """The form's code line again, saying that no code went out and how long to wait."""
    errors = {"phone": [throttle.too_many_codes(wait)]}
    form = {"phone": request.form.get("phone", ""), "grid": (request.form.get("grid") or "")[:64]}
    grid = grid_by_code(db.session(), form["grid"])
    return render("elderly_visits/neighbour.html", block="code", errors=errors, sent=False, citizen=None, wait=wait,
                  form=form, grid=grid, grids=_grids(grid), outcome=None,
                  emergency_labels=services.emergency_labels())


@bp.route("/neighbour", methods=["GET", "POST"])
@throttle.code_check_limits
@throttle.keyed_limits("NEIGHBOUR_GRID_RATE_LIMIT", grid_key)
@throttle.keyed_limits("NEIGHBOUR_PHONE_RATE_LIMIT", reporter_key)
def neighbour_emergency() -> Any:
    """Report an emergency for an elderly neighbour (the grid comes from the contact card's QR code)."""
    form: dict[str, Any] = {"grid": (request.values.get("grid") or "")[:64]}
    errors: dict[str, Any] = {}
    outcome = None
    citizen = _citizen()
    if request.method == "POST":
        form = {k: v for k, v in request.form.items() if k not in ("csrf_token", "code")}
        data, errors = load_form(NeighbourEmergencyIn(), {k: v for k, v in form.items() if k != "phone"})
        if data is not None:
            errors = {k: [v] for k, v in neighbour_report_errors(db.session(), data).items()}
        phone = citizen.phone if citizen is not None else None
        if citizen is None:
            verified, phone_errors = load_form(VerifiedPhone(), {k: request.form.get(k, "") for k in ("phone", "code")})
            errors.update(phone_errors)
            if verified is not None and data is not None and not errors:
                # a staff number was sent no code (saas.auth.send_phone_code), so its code is always wrong
                if auth.find_staff(verified["phone"]) is not None or not auth.check_phone_code(
                        verified["phone"], verified["code"]):
                    auth.record_refused("auth.code_failed", None, phone=verified["phone"])
                    db.session.commit()  # keep the count of wrong tries
                    errors["code"] = [_("The code is wrong or has expired.")]
                else:
                    citizen = auth.citizen_for_phone(verified["phone"])
                    phone = verified["phone"]
        if data is not None and citizen is not None and phone and not errors:
            try:
                outcome = report_neighbour_emergency(db.session(), g.tenant, {**data, "phone": phone}, _as(citizen))
            except ServiceError as err:
                db.session.rollback()
                errors = {k: [str(v)] for k, v in err.errors.items()}
                citizen = _citizen()
            else:
                if _citizen() is None:
                    auth.sign_in(citizen)
                db.session.commit()
    grid = grid_by_code(db.session(), form.get("grid", ""))
    return render("elderly_visits/neighbour.html", form=form, errors=errors, grid=grid, grids=_grids(grid),
                  outcome=outcome, citizen=_citizen() or (citizen if outcome else None),
                  emergency_labels=services.emergency_labels(), status=422 if errors else 200)


@bp.post("/neighbour/code")
@throttle.code_send_limits(_code_refused)
def neighbour_code() -> Any:
    """Send the six-digit code for the neighbour's report; answers the form's code line."""
    data, errors = load_form(CodeRequest(), {"phone": request.form.get("phone", "")})
    sent = False
    if data is not None:
        # the same answer for every number, a staff one included (which gets no code): see send_phone_code
        auth.send_phone_code(data["phone"])
        db.session.commit()
        sent = True
    form = {"phone": request.form.get("phone", ""), "grid": (request.form.get("grid") or "")[:64]}
    grid = grid_by_code(db.session(), form["grid"])
    return render("elderly_visits/neighbour.html", block="code", errors=errors, sent=sent, citizen=None, form=form,
                  grid=grid, grids=_grids(grid), outcome=None, emergency_labels=services.emergency_labels(),
                  status=422 if errors else 200)


# --- the family's door ----------------------------------------------------------------------------------------


@bp.route("/family", methods=["GET", "POST"])
def family() -> Any:
    """A relative registered as a resident's emergency contact raises an emergency for them (signed in by code)."""
    user = g.get("user")
    if user is None:
        return redirect(url_for("auth.citizen", next=url_for("elderly_visits.family")))
    if user.kind != "citizen":
        abort(403)
    me = _as(user)
    session = db.session()
    errors: dict[str, Any] = {}
    form: dict[str, Any] = {}
    if request.method == "POST":
        form = {k: v for k, v in request.form.items() if k != "csrf_token"}
        data, errors = load_form(FamilyEmergencyIn(), form)
        if data is not None:
            try:
                services.raise_family_emergency(session, g.tenant, me, data["person_id"], data)
            except ServiceError as err:
                db.session.rollback()
                errors = {k: [str(v)] for k, v in err.errors.items()}
            except services.Refused as err:
                db.session.rollback()
                errors = {"person_id": [err.message]}
            else:
                db.session.commit()
                flash(_("Emergency sent: the grid workers and the community are told now and will call you."),
                      "success")
                return redirect(url_for("elderly_visits.family"))
    relatives = services.relatives_of(session, me)
    return render("elderly_visits/family.html", form=form, errors=errors, relatives=relatives,
                  emergency_labels=services.emergency_labels(), status=422 if errors else 200)
