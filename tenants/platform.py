"""Platform pages, outside any district: the operator signs in, lists and provisions districts."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _

from saas import auth, db
from saas.extensions import limiter
from saas.rendering import render
from saas.schemas import Schema, Text, load_form
from tenants import services
from tenants.models import PlatformOperator, Tenant

bp = Blueprint("platform", __name__, url_prefix="/platform")


class OperatorLogin(Schema):
    username = Text(required=True, max_length=64)
    password = Text(required=True, max_length=128)


class TenantForm(Schema):
    slug = Text(required=True, max_length=40)
    name_zh = Text(required=True, max_length=80)
    name_en = Text(load_default="", max_length=120)
    timezone = Text(load_default="Asia/Shanghai", max_length=64)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login() -> Any:
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        data, errors = load_form(OperatorLogin(), request.form)
        if data is not None:
            op = db.session.scalars(
                sa.select(PlatformOperator).where(PlatformOperator.username == data["username"])
            ).first()
            if auth.check_password(op.password_hash if op else None, data["password"]) and op is not None:
                session.clear()
                session["operator"] = op.id
                return redirect(url_for("platform.tenants"))
            errors = {"_form": [_("Wrong username or password.")]}
    return render("platform/login.html", errors=errors, status=422 if errors else 200)


@bp.post("/logout")
def logout() -> Any:
    session.pop("operator", None)
    return redirect(url_for("shell.landing"))


@bp.route("/", methods=["GET", "POST"])
@auth.operator_required
def tenants() -> Any:
    errors: dict[str, list[str]] = {}
    form: dict[str, Any] = {}
    if request.method == "POST":
        form = dict(request.form)
        data, errors = load_form(TenantForm(), request.form)
        if data is not None:
            try:
                services.create_tenant(db.session(), g.operator, **data)
            except services.ServiceError as err:
                db.session.rollback()
                errors = {k: [v] for k, v in err.errors.items()}
            else:
                db.session.commit()
                flash(_("District %(name)s created.", name=data["name_zh"]), "success")
                return redirect(url_for("platform.tenants"))
    rows = db.session.scalars(sa.select(Tenant).order_by(Tenant.slug)).all()
    return render("platform/tenants.html", rows=rows, errors=errors, form=form, status=422 if errors else 200)
