"""Sign-in pages: staff by password, citizens by phone code; personal API tokens."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from saas import audit, auth, db, throttle
from saas.db import utcnow
from saas.rendering import render, safe_next
from saas.schemas import NextUrl, Phone, Schema, Text, load_form
from saas.throttle import too_many_codes
from tenants.models import ApiToken

bp = Blueprint("auth", __name__, url_prefix="/t/<tenant>")


class LoginSchema(Schema):
    login = Text(required=True, max_length=64)
    password = Text(required=True, max_length=128)
    next = NextUrl(load_default="")


class PhoneSchema(Schema):
    phone = Phone(required=True)
    next = NextUrl(load_default="")


class CodeSchema(Schema):
    phone = Phone(required=True)
    code = Text(required=True, max_length=6, min_length=6)
    next = NextUrl(load_default="")


class TokenSchema(Schema):
    name = Text(required=True, max_length=80)


def _code_refused(wait: int) -> Any:
    """The code form again, saying that no code went out and how long to wait; the button counts down."""
    errors = {"phone": [too_many_codes(wait)]}
    return render("auth/citizen.html", errors=errors, form=dict(request.form), wait=wait, status=429)


@bp.route("/login", methods=["GET", "POST"])
@throttle.password_limits
def login() -> Any:
    errors: dict[str, list[str]] = {}
    form: dict[str, Any] = {"next": request.args.get("next", "")}
    if request.method == "POST":
        form = dict(request.form)
        data, errors = load_form(LoginSchema(), request.form)
        if data is not None:
            user = auth.authenticate_staff(data["login"], data["password"])
            if user is None:
                errors = {"_form": [_("Wrong username, phone number or password.")]}
                auth.record_refused("auth.login_failed", auth.find_staff(data["login"]))
                db.session.commit()
            else:
                auth.sign_in(user)
                audit.record(db.session(), user, "auth.login", "user", user.id, ip=request.remote_addr)
                db.session.commit()
                return redirect(safe_next(data["next"]) if data["next"] else url_for("shell.home"))
    return render("auth/login.html", errors=errors, form=form, status=422 if errors else 200)


@bp.post("/logout")
def logout() -> Any:
    auth.sign_out()
    db.session.commit()
    flash(_("You have signed out."), "info")
    return redirect(url_for("shell.home"))


@bp.route("/citizen", methods=["GET", "POST"])
@throttle.code_send_limits(_code_refused)
def citizen() -> Any:
    """A resident asks for a code to the phone; the code goes out through the notification layer."""
    errors: dict[str, list[str]] = {}
    # a module's page may send the resident here with the number already typed (`phone`) and where to go after
    form: dict[str, Any] = {"next": request.args.get("next", ""), "phone": request.args.get("phone", "")[:20]}
    if request.method == "POST":
        form = dict(request.form)
        data, errors = load_form(PhoneSchema(), request.form)
        if data is not None:
            # the same answer for every number, a staff one included (which gets no code): see send_phone_code
            auth.send_phone_code(data["phone"])
            db.session.commit()
            return render("auth/citizen_code.html", form=data, errors={})
    return render("auth/citizen.html", errors=errors, form=form, status=422 if errors else 200)


@bp.post("/citizen/verify")
@throttle.code_check_limits
def citizen_verify() -> Any:
    data, errors = load_form(CodeSchema(), request.form)
    if data is not None:
        if auth.find_staff(data["phone"]) is None and auth.check_phone_code(data["phone"], data["code"]):
            person = auth.citizen_for_phone(data["phone"])
            auth.sign_in(person)
            db.session.commit()
            return redirect(safe_next(data["next"]) if data["next"] else url_for("shell.home"))
        auth.record_refused("auth.code_failed", None, phone=data["phone"])
        db.session.commit()  # keep the count of wrong tries
        errors = {"code": [_("The code is wrong or has expired.")]}
    return render("auth/citizen_code.html", form=dict(request.form), errors=errors, status=422)


@bp.route("/me/tokens", methods=["GET", "POST"])
@auth.login_required
def tokens() -> Any:
    errors: dict[str, list[str]] = {}
    created = None
    if request.method == "POST":
        data, errors = load_form(TokenSchema(), request.form)
        if data is not None:
            row, created = auth.create_token(g.user, data["name"])
            db.session.flush()
            audit.record(db.session(), g.user, "token.create", "api_token", row.id, after={"name": row.name})
            db.session.commit()
    rows = db.session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == g.user.id).order_by(ApiToken.created_at.desc())
    ).all()
    return render("auth/tokens.html", rows=rows, created=created, errors=errors, status=422 if errors else 200)


@bp.post("/me/tokens/<int:token_id>/revoke")
@auth.login_required
def revoke_token(token_id: int) -> Any:
    row = db.session.scalars(
        sa.select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == g.user.id)
    ).first()
    if row is None:
        abort(404)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(db.session(), g.user, "token.revoke", "api_token", row.id, before={"name": row.name})
        db.session.commit()
        flash(_("Token revoked."), "info")
    return redirect(url_for("auth.tokens"))
