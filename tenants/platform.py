"""Platform pages, outside any district: the operator signs in, lists and provisions districts."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from saas import audit, auth, db, job_board, throttle
from saas.rendering import render
from saas.schemas import Phone, Schema, Text, load_form
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
    admin_name = Text(required=True, max_length=80)
    admin_phone = Phone(required=True)


@bp.route("/login", methods=["GET", "POST"])
@throttle.password_limits
def login() -> Any:
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        data, errors = load_form(OperatorLogin(), request.form)
        if data is not None:
            op = db.session.scalars(
                sa.select(PlatformOperator).where(PlatformOperator.username == data["username"])
            ).first()
            if auth.check_password(op.password_hash if op else None, data["password"]) and op is not None:
                auth.sign_in_operator(op)
                db.session.commit()
                return redirect(url_for("platform.tenants"))
            errors = {"_form": [_("Wrong username or password.")]}
    return render("platform/login.html", errors=errors, status=422 if errors else 200)


@bp.post("/logout")
def logout() -> Any:
    auth.sign_out_operator()
    db.session.commit()
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
                tenant, admin, link = services.provision_district(
                    db.session(), current_app.extensions["saas.roles"], g.operator, ip=request.remote_addr, **data)
            except services.ServiceError as err:
                db.session.rollback()
                errors = {k: [v] for k, v in err.errors.items()}
            else:
                db.session.commit()
                # the link is shown once, on this answer, never kept in a flash message (the session cookie)
                response = render("platform/created.html", district=tenant, admin=admin, link=link,
                                  hours=current_app.config["PASSWORD_LINK_HOURS"])
                response.headers["Cache-Control"] = "no-store"
                return response
    rows = db.session.scalars(sa.select(Tenant).order_by(Tenant.slug)).all()
    return render("platform/tenants.html", rows=rows, errors=errors, form=form, status=422 if errors else 200)


def _tenant(slug: str) -> Tenant:
    tenant = db.session.scalars(sa.select(Tenant).where(Tenant.slug == slug)).first()
    if tenant is None:
        abort(404)
    return tenant


@bp.post("/<slug>/suspend")
@auth.operator_required
def suspend(slug: str) -> Any:
    tenant = _tenant(slug)
    if request.form.get("confirm") != "1":
        # asked once more, with what stops and that the data stays; nothing changes yet
        return render("platform/suspend.html", district=tenant)
    if services.set_tenant_active(db.session(), g.operator, tenant, False, ip=request.remote_addr):
        db.session.commit()
        flash(_("%(name)s is suspended; its data is kept.", name=tenant.name_zh), "info")
    return redirect(url_for("platform.tenants"))


@bp.post("/<slug>/reactivate")
@auth.operator_required
def reactivate(slug: str) -> Any:
    tenant = _tenant(slug)
    if services.set_tenant_active(db.session(), g.operator, tenant, True, ip=request.remote_addr):
        db.session.commit()
        flash(_("%(name)s is active again.", name=tenant.name_zh), "success")
    return redirect(url_for("platform.tenants"))


@bp.get("/jobs")
@auth.operator_required
def jobs() -> Any:
    """Queues, failed jobs across districts, the periodic jobs' runs, the cron's heartbeat and the workers."""
    found = job_board.board(current_app)
    slugs = {tenant_id: slug for tenant_id, slug in db.session.execute(sa.select(Tenant.id, Tenant.slug))}
    return render("platform/jobs.html", board=found, slugs=slugs)


@bp.post("/jobs/<queue>/<job_id>/retry")
@auth.operator_required
def retry_job(queue: str, job_id: str) -> Any:
    job = job_board.failed_job(current_app, queue, job_id)
    if job is None or not job_board.retry(current_app, queue, job_id):
        flash(_("That job is no longer among the failed ones."), "error")
        return redirect(url_for("platform.jobs"))
    tenant_id = (job.meta or {}).get("tenant_id")
    slug = db.session.scalar(sa.select(Tenant.slug).where(Tenant.id == tenant_id)) if tenant_id else None
    audit.record_platform(db.session.connection(), g.operator, "platform.job_retry", district_id=tenant_id,
                          district_slug=slug or "", details={"queue": queue, "job": job_id, "func": job.func_name},
                          ip=request.remote_addr)
    db.session.commit()
    flash(_("The job is back on its queue."), "success")
    return redirect(url_for("platform.jobs"))
