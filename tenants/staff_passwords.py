"""A district admin's password actions for one person: a temporary password, or a one-time set-password link."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, g, request
from flask_babel import gettext as _

from saas import db, passwords
from saas.auth import require
from saas.rendering import render
from saas.schemas import Schema, Text, load_form
from tenants.models import User

bp = Blueprint("staff_passwords", __name__, url_prefix="/t/<tenant>/admin/people")


class TemporaryPassword(Schema):
    password = Text(load_default="", max_length=200)
    password2 = Text(load_default="", max_length=200)


def _person(user_id: int) -> User:
    person = db.session.scalars(sa.select(User).where(User.id == user_id, User.kind == "staff")).first()
    if person is None:
        abort(404)
    return person


@bp.get("/<int:user_id>/password")
@require("people.manage")
def page(user_id: int) -> Any:
    return render("tenants/person_password.html", person=_person(user_id), errors={}, link=None)


@bp.post("/<int:user_id>/password/temporary")
@require("people.manage")
def temporary(user_id: int) -> Any:
    person = _person(user_id)
    data, errors = load_form(TemporaryPassword(), request.form)
    if data is not None:
        try:
            passwords.set_temporary_password(db.session(), g.user, person, data["password"], data["password2"],
                                             ip=request.remote_addr)
        except passwords.PasswordRefused as err:
            db.session.rollback()
            errors = {k: [v] for k, v in err.errors.items()}
        else:
            db.session.commit()
            flash(_("Temporary password set for %(name)s: they choose their own at their next sign-in.",
                    name=person.name), "success")
            return render("tenants/person_password.html", person=person, errors={}, link=None)
    return render("tenants/person_password.html", person=person, errors=errors, link=None, status=422)


@bp.post("/<int:user_id>/password/link")
@require("people.manage")
def link(user_id: int) -> Any:
    person = _person(user_id)
    try:
        url = passwords.issue_link(db.session(), g.user, g.tenant, person, ip=request.remote_addr)
    except passwords.PasswordRefused as err:
        db.session.rollback()
        return render("tenants/person_password.html", person=person, link=None, status=422,
                      errors={k: [v] for k, v in err.errors.items()})
    db.session.commit()
    response = render("tenants/person_password.html", person=person, errors={}, link=url)
    response.headers["Cache-Control"] = "no-store"
    return response
