"""Password pages of a district: a one-time link's page, changing one's own password, a forgotten one by phone code.

The link's token is in the address the SMS carries; its first request keeps only the link's id in the signed
session and redirects to an address without it (as Django's reset views do), and the page sends no Referer.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _

from saas import auth, db, passwords, throttle
from saas.rendering import render
from saas.schemas import Phone, Schema, Text, load_form

bp = Blueprint("passwords", __name__, url_prefix="/t/<tenant>")

LINK_KEY = "password_link"


class NewPassword(Schema):
    password = Text(load_default="", max_length=200)
    password2 = Text(load_default="", max_length=200)


class ChangePassword(NewPassword):
    current = Text(load_default="", max_length=200)


class ForgotPhone(Schema):
    phone = Phone(required=True)


class ResetWithCode(NewPassword):
    phone = Phone(required=True)
    code = Text(required=True, max_length=6, min_length=6)


def _no_referrer(response: Any) -> Any:
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _code_refused(wait: int) -> Any:
    """The forgotten-password form again, saying that no code went out and how long to wait."""
    errors = {"phone": [throttle.too_many_codes(wait)]}
    return render("auth/password_forgot.html", form=dict(request.form), errors=errors, wait=wait, status=429)


@bp.get("/password/<token>")
@throttle.address_limits
def open_link(token: str) -> Any:
    link = passwords.open_link(db.session(), token)
    if link is None:
        return _no_referrer(render("auth/password_link_dead.html", status=410))
    session[LINK_KEY] = link.id
    return _no_referrer(redirect(url_for("passwords.set_password")))


@bp.route("/password/set", methods=["GET", "POST"])
def set_password() -> Any:
    link = passwords.live_link(db.session(), session.get(LINK_KEY))
    if link is None:
        session.pop(LINK_KEY, None)
        return _no_referrer(render("auth/password_link_dead.html", status=410))
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        data, errors = load_form(NewPassword(), request.form)
        if data is not None:
            try:
                user = passwords.use_link(db.session(), link, data["password"], data["password2"],
                                          ip=request.remote_addr)
            except passwords.PasswordRefused as err:
                db.session.rollback()
                errors = {k: [v] for k, v in err.errors.items()}
            else:
                auth.sign_in(user)
                db.session.commit()
                flash(_("Your password is set. Welcome."), "success")
                return redirect(url_for("shell.home"))
    return _no_referrer(render("auth/password_set.html", errors=errors, status=422 if errors else 200))


@bp.route("/me/password", methods=["GET", "POST"])
@auth.login_required
def change() -> Any:
    if g.user.kind != "staff":
        abort(404)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        data, errors = load_form(ChangePassword(), request.form)
        if data is not None:
            try:
                passwords.change_password(db.session(), g.user, data["current"], data["password"], data["password2"],
                                          ip=request.remote_addr)
            except passwords.PasswordRefused as err:
                db.session.rollback()
                errors = {k: [v] for k, v in err.errors.items()}
            else:
                auth.sign_in(g.user)  # a fresh session for the person who just proved the new password
                db.session.commit()
                flash(_("Your password is changed."), "success")
                return redirect(url_for("shell.home"))
    return render("auth/password_change.html", errors=errors, forced=g.user.must_change_password,
                  status=422 if errors else 200)


@bp.route("/password/forgot", methods=["GET", "POST"])
@throttle.code_send_limits(_code_refused)
def forgot() -> Any:
    """A code to the phone of a staff account; the answer is the same whether the number has one or not."""
    errors: dict[str, list[str]] = {}
    form: dict[str, Any] = {}
    if request.method == "POST":
        form = dict(request.form)
        data, errors = load_form(ForgotPhone(), request.form)
        if data is not None:
            person = passwords.staff_by_phone(db.session(), data["phone"])
            if person is not None:
                auth.send_phone_code(data["phone"], person)
                db.session.commit()
            return render("auth/password_reset.html", form={"phone": data["phone"]}, errors={})
    return render("auth/password_forgot.html", form=form, errors=errors, status=422 if errors else 200)


@bp.post("/password/forgot/reset")
@throttle.code_check_limits
def reset() -> Any:
    data, errors = load_form(ResetWithCode(), request.form)
    if data is not None:
        try:
            passwords.reset_with_code(db.session(), data["phone"], data["code"], data["password"], data["password2"],
                                      ip=request.remote_addr)
        except passwords.PasswordRefused as err:
            db.session.commit()  # keep the count of wrong tries; no password was changed
            errors = {k: [v] for k, v in err.errors.items()}
        else:
            db.session.commit()
            flash(_("Your password is changed. Sign in with it."), "success")
            return redirect(url_for("auth.login"))
    form = {"phone": request.form.get("phone", "")[:20]}
    return render("auth/password_reset.html", form=form, errors=errors, status=422)
