"""The shell around the modules: home and dashboard, language switch, inbox, health checks."""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask, abort, current_app, g, jsonify, redirect, request, session, url_for
from flask_babel import gettext as _

from saas import db, health
from saas.auth import login_required
from saas.context import can, dashboard_widgets, enabled_modules, nav_entries, public_entries, registry
from saas.db import utcnow
from saas.i18n import local_dt, locale_code
from saas.notify import Notification
from saas.rendering import ELDER_COOKIE, elder_mode, error_items, render, safe_next
from saas.schemas import mask_phone
from tenants.models import Tenant

bp = Blueprint("shell", __name__)


@bp.get("/")
def landing() -> Any:
    tenants = db.session.scalars(sa.select(Tenant).where(Tenant.active.is_(True)).order_by(Tenant.slug)).all()
    return render("shell/landing.html", tenants=tenants)


@bp.get("/healthz")
def healthz() -> Any:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Any:
    results = health.checks(current_app, db.session())
    ok = health.ready(results)
    return jsonify(status="ok" if ok else "unavailable", checks=results), 200 if ok else 503


@bp.post("/lang")
def set_language() -> Any:
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next")))


@bp.post("/elder")
def set_elder_mode() -> Any:
    """The larger-text, higher-contrast pages (长辈版) on or off for this browser, with no account: a cookie."""
    response = redirect(safe_next(request.form.get("next")))
    if request.form.get("elder") == "1":
        response.set_cookie(ELDER_COOKIE, "1", max_age=400 * 24 * 3600, secure=request.is_secure, httponly=True,
                            samesite="Lax")
    else:
        response.delete_cookie(ELDER_COOKIE, secure=request.is_secure, httponly=True, samesite="Lax")
    return response


@bp.get("/t/<tenant>/")
def home() -> Any:
    if g.user is None or g.user.kind == "citizen":
        # a resident has no dashboard: the welcome page with what the district offers residents
        return render("shell/welcome.html")
    return render("shell/dashboard.html", widgets=dashboard_widgets())


@bp.get("/t/<tenant>/inbox")
@login_required
def inbox() -> Any:
    items = db.session.scalars(
        sa.select(Notification)
        .where(Notification.user_id == g.user.id)
        .order_by(Notification.created_at.desc())
        .limit(100)
    ).all()
    return render("shell/inbox.html", items=items)


@bp.get("/t/<tenant>/inbox/count")
@login_required
def inbox_count() -> Any:
    count = db.session.scalar(
        sa.select(sa.func.count()).select_from(Notification).where(
            Notification.user_id == g.user.id, Notification.read_at.is_(None)
        )
    )
    return render("shell/_inbox_count.html", count=count or 0)


@bp.post("/t/<tenant>/inbox/<int:item_id>/read")
@login_required
def inbox_read(item_id: int) -> Any:
    item = db.session.scalars(
        sa.select(Notification).where(Notification.id == item_id, Notification.user_id == g.user.id)
    ).first()
    if item is None:
        abort(404)
    if item.read_at is None:
        item.read_at = utcnow()
        db.session.commit()
    return render("shell/inbox.html", block="item", item=item)


@bp.post("/t/<tenant>/inbox/read-all")
@login_required
def inbox_read_all() -> Any:
    db.session.execute(
        sa.update(Notification)
        .where(Notification.user_id == g.user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    db.session.commit()
    return redirect(url_for("shell.inbox"))


@dataclasses.dataclass(frozen=True)
class MenuLink:
    url: str
    label: str
    module: str = ""


@dataclasses.dataclass(frozen=True)
class MenuGroup:
    label: str  # a module's name, "District administration", ... ("" for the first, unnamed group)
    module: str  # the module's key, or ""
    links: list[MenuLink]


def menu_groups() -> list[MenuGroup]:
    """What the person may open, grouped: the phone's drop-down lists it flat ("网格事件 · 案件分类"), a desktop's
    side navigation under each group's name."""
    if g.get("tenant") is None:
        return []
    user = g.get("user")
    public = [MenuLink(url_for(e.endpoint), str(e.label), spec.key) for spec, entries in public_entries()
              for e in entries]
    if user is None:
        return [MenuGroup("", "", [*public, MenuLink(url_for("auth.login"), _("Staff sign-in")),
                                   MenuLink(url_for("auth.citizen"), _("Resident sign-in"))])]
    groups = [MenuGroup("", "", [MenuLink(url_for("shell.home"), _("Dashboard")),
                                 *(public if user.kind == "citizen" else [])])]
    locale = locale_code()
    groups += [MenuGroup(spec.name(locale), spec.key, [MenuLink(url_for(e.endpoint), str(e.label), spec.key)
                                                       for e in entries]) for spec, entries in nav_entries()]
    admin = [MenuLink(url_for(endpoint), label) for allowed, endpoint, label in (
        (can("tenant.modules"), "tenant_admin.modules", _("Modules")),
        (can("org.view"), "tenant_admin.org_tree", _("Organisation")),
        (can("people.manage"), "tenant_admin.people", _("Staff")),
        (can("org.manage"), "imports.upload", _("Import")),
        (can("tenant.admin") or can("tenant.calendar"), "district.index", _("District settings")),
        (can("tenant.audit"), "tenant_admin.audit_log", _("Audit log")),
        (can("tenant.notices"), "notices.channels", _("Notification channels")),
    ) if allowed]
    if admin:
        groups.append(MenuGroup(_("District administration"), "", admin))
    mine = [MenuLink(url_for("notices.preferences"), _("My notices")),
            MenuLink(url_for("auth.tokens"), _("API tokens"))]
    if user.kind == "staff":
        mine.append(MenuLink(url_for("passwords.change"), _("Change password")))
    groups.append(MenuGroup(_("My account"), "", mine))
    return groups


def _template_globals() -> dict[str, Any]:
    return {
        "tenant": g.get("tenant"),
        "user": g.get("user"),
        "operator": g.get("operator"),
        "can": can,
        "menu_groups": menu_groups,
        "public_entries": public_entries,
        "enabled_modules": enabled_modules,
        "modules": registry,
        "locale": locale_code,
    }


def init_app(app: Flask) -> None:
    from saas import auth_views
    from saas.extensions import api
    from tenants import api as tenants_api
    from tenants import district_api, import_api, import_views, platform, settings_views
    from tenants import views as tenant_views

    app.register_blueprint(bp)
    app.register_blueprint(auth_views.bp)
    from saas import password_views

    app.register_blueprint(password_views.bp)
    from saas import notice_views

    app.register_blueprint(notice_views.bp)
    app.register_blueprint(tenant_views.bp)
    app.register_blueprint(import_views.bp)
    app.register_blueprint(settings_views.bp)
    app.register_blueprint(platform.bp)
    from tenants import staff_passwords

    app.register_blueprint(staff_passwords.bp)
    from saas import notice_api
    from saas.auth import api_login_required
    from saas.extensions import csrf

    for api_bp in [*tenants_api.blueprints(), *district_api.blueprints(), *import_api.blueprints(),
                   *notice_api.blueprints()]:
        csrf.exempt(api_bp)
        api.register_blueprint(api_bp)
        app.before_request_funcs.setdefault(api_bp.name, []).append(api_login_required)
    app.context_processor(_template_globals)
    app.add_template_global(error_items)
    app.add_template_global(elder_mode)
    app.add_template_filter(local_dt, "localtime")
    app.add_template_filter(mask_phone, "mask_phone")
