"""District admin pages: modules and their settings, audit log, org tree, staff."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Blueprint, abort, flash, g, make_response, redirect, request, url_for
from flask_babel import gettext as _

from saas import db
from saas.auth import require
from saas.context import can, enabled_modules, module_settings, registry, role_book
from saas.modules import switch_off_effects
from saas.pagination import keyset_page
from saas.rendering import render
from saas.schemas import Id, Phone, Schema, SearchWords, Text, load_form
from tenants import auditing, services
from tenants.models import ORG_KIND_LABELS, ORG_PARENTS, ModuleSwitch, OrgUnit, RoleGrant, User

bp = Blueprint("tenant_admin", __name__, url_prefix="/t/<tenant>/admin")

AUDIT_PAGE = 50


def _module_rows() -> list[dict[str, Any]]:
    rows = {sw.module_key: sw for sw in db.session.scalars(sa.select(ModuleSwitch))}
    return [
        {"spec": spec, "enabled": bool(rows.get(spec.key) and rows[spec.key].enabled),
         "settings": module_settings(spec.key, rows)}
        for spec in registry()
    ]


@bp.get("/modules")
@require("tenant.modules")
def modules() -> Any:
    return render("tenants/modules.html", rows=_module_rows(), errors={})


@bp.post("/modules/<key>")
@require("tenant.modules")
def toggle_module(key: str) -> Any:
    if key not in registry():
        abort(404)
    enabled = request.form.get("enabled") == "1"
    spec = registry().get(key)
    assert spec is not None
    if not enabled and request.form.get("confirm") != "1" and key in enabled_modules():
        # switching off is asked once more, with what stops and that the data stays; nothing changes yet
        return render("tenants/module_off.html", spec=spec, effects=switch_off_effects(spec))
    services.set_module(db.session(), registry(), g.user, key, enabled, ip=request.remote_addr)
    db.session.commit()
    g.pop("enabled_modules", None)
    if enabled:
        flash(_("%(name)s is on.", name=spec.name(str(_locale()))), "success")
    else:
        flash(_("%(name)s is off; its data is kept and returns when you switch it on again.",
                name=spec.name(str(_locale()))), "info")
    if request.htmx:
        # the menu changes with the switch, so the page reloads; htmx swaps nothing when it reloads, so
        # rendering the page here would use up the flash message before the person could see it
        response = make_response("", 200)
        response.headers["HX-Refresh"] = "true"
        return response
    return redirect(url_for("tenant_admin.modules"))


@bp.post("/modules/<key>/settings")
@require("tenant.modules")
def module_settings_save(key: str) -> Any:
    spec = registry().get(key)
    if spec is None:
        abort(404)
    raw = {k: v for k, v in request.form.items() if k != "csrf_token"}
    for setting in spec.settings:
        if setting.type is bool:
            raw[setting.key] = "1" if setting.key in request.form else "0"
    try:
        services.update_module_settings(db.session(), registry(), g.user, key, raw, ip=request.remote_addr)
    except services.ServiceError as err:
        db.session.rollback()
        return render("tenants/modules.html", rows=_module_rows(), errors={key: err.errors}, status=422)
    db.session.commit()
    flash(_("Settings saved."), "success")
    return redirect(url_for("tenant_admin.modules"))


def _locale() -> str:
    from saas.i18n import locale_code

    return locale_code()


@bp.get("/audit")
@require("tenant.audit")
def audit_log() -> Any:
    filters, errors = load_form(auditing.AuditFilter(), request.args)
    filters = filters or {}
    q, qerrors = auditing.audit_query(filters, timezone=g.tenant.timezone, registry=registry())
    errors.update({k: [v] for k, v in qerrors.items()})
    entries, cursor = keyset_page(db.session(), q, AUDIT_PAGE) if not errors else ([], None)
    lines = auditing.describe(db.session(), registry(), role_book(), entries, _locale())
    next_args = {**{k: v for k, v in request.args.items() if k != "before"}, "before": cursor} if cursor else None
    return render("tenants/audit.html", block="results" if request.args.get("before") else None,
                  lines=lines, filters=dict(request.args), errors=errors, next_args=next_args,
                  object_kinds=auditing.object_kinds(registry()), status=422 if errors else 200)


# --- org tree -------------------------------------------------------------------------------------


class OrgUnitForm(Schema):
    kind = Text(required=True, max_length=16)
    code = Text(required=True, max_length=64)
    name = Text(required=True, max_length=120)
    parent_code = Text(required=True, max_length=64)


class NewUnitForm(Schema):
    kind = Text(required=True, max_length=16)
    code = Text(required=True, max_length=64)
    name = Text(required=True, max_length=120)
    parent_id = Id(required=True)
    unit_q = SearchWords()  # what was typed to find the parent


class OrgFilter(Schema):
    q = Text(load_default="", max_length=60)
    unit = Id(load_default=None)


ORG_SEARCH_LIMIT = 50


def _with_child_counts(units: list[OrgUnit]) -> list[tuple[OrgUnit, int]]:
    """Each unit with how many units hang directly under it (one grouped statement for the whole list)."""
    ids = [u.id for u in units]
    counts = dict(db.session.execute(
        sa.select(OrgUnit.parent_id, sa.func.count()).where(OrgUnit.parent_id.in_(ids)).group_by(OrgUnit.parent_id)
    ).all()) if ids else {}
    return [(u, counts.get(u.id, 0)) for u in units]


def _children_of(unit_id: int) -> list[tuple[OrgUnit, int]]:
    return _with_child_counts(list(db.session.scalars(
        sa.select(OrgUnit).where(OrgUnit.parent_id == unit_id).order_by(OrgUnit.code))))


@bp.route("/org", methods=["GET", "POST"])
@require("org.view")
def org_tree() -> Any:
    """The tree a level at a time: a unit, the way down to it and what hangs under it; deeper levels open in place
    (htmx) or as a page of their own; a search finds a unit anywhere by name or code."""
    errors: dict[str, list[str]] = {}
    form: dict[str, Any] = {}
    if request.method == "POST":
        if not can("org.manage"):
            abort(403)
        form = dict(request.form)
        data, errors = load_form(NewUnitForm(), request.form)
        if "parent_id" in errors:
            errors["parent_id"] = [_("Choose the unit it belongs under from the list.")]
        if data is not None:
            parent = _unit(data["parent_id"])
            try:
                if parent is None:
                    raise services.ServiceError({"parent_id": _("Choose the unit it belongs under from the list.")})
                unit = services.add_org_unit(db.session(), g.user, kind=data["kind"], code=data["code"],
                                             name=data["name"], parent=parent)
            except services.ServiceError as err:
                db.session.rollback()
                errors = {k if k != "parent" else "parent_id": [v] for k, v in err.errors.items()}
            else:
                db.session.commit()
                flash(_("Unit added."), "success")
                return redirect(url_for("tenant_admin.org_tree", unit=unit.parent_id))
    filters, ferrors = load_form(OrgFilter(), request.args)
    filters = filters or {}
    errors = {**errors, **ferrors}
    root = services.district_root(db.session())
    current = (_unit(filters["unit"]) if filters.get("unit") else None) or root
    trail_ids = [int(i) for i in current.path.strip("/").split("/") if i][:-1]
    trail = {u.id: u for u in db.session.scalars(sa.select(OrgUnit).where(OrgUnit.id.in_(trail_ids)))} \
        if trail_ids else {}
    found = None
    if filters.get("q"):
        parent = so.aliased(OrgUnit)
        found = db.session.execute(
            sa.select(OrgUnit, parent)
            .outerjoin(parent, sa.and_(parent.tenant_id == OrgUnit.tenant_id, parent.id == OrgUnit.parent_id))
            .where(sa.or_(OrgUnit.name.contains(filters["q"], autoescape=True),
                          OrgUnit.code.contains(filters["q"], autoescape=True)))
            .order_by(OrgUnit.path).limit(ORG_SEARCH_LIMIT)).all()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(OrgUnit))
    unit_q = (form.get("unit_q") or "").strip()[:60]
    kind = form.get("kind") or ""
    return render("tenants/org.html", current=current, trail=[trail[i] for i in trail_ids if i in trail],
                  children=_children_of(current.id), found=found, search_limit=ORG_SEARCH_LIMIT, q=filters.get("q"),
                  total=total, kinds=list(ORG_PARENTS), errors=errors, form=form, kind_labels=ORG_KIND_LABELS,
                  unit_q=unit_q, choices=unit_choices(unit_q, None, under_kind=kind) if unit_q else [],
                  status=422 if errors else 200)


@bp.get("/org/<int:unit_id>/children")
@require("org.view")
def org_children(unit_id: int) -> Any:
    """The units right under one, as the tree opens it in place."""
    if _unit(unit_id) is None:
        abort(404)
    return render("tenants/_org_children.html", children=_children_of(unit_id), kind_labels=ORG_KIND_LABELS)


# --- staff ----------------------------------------------------------------------------------------


STAFF_PAGE = 50
PICKER_LIMIT = 20


class NewPersonForm(Schema):
    name = Text(required=True, max_length=80)
    phone = Phone(load_default=None)
    username = Text(load_default="", max_length=64)
    password = Text(load_default="", max_length=128)
    role = Text(required=True, max_length=40)
    unit_id = Id(required=True)
    unit_q = SearchWords()  # what was typed to find the unit


class StaffFilter(Schema):
    q = Text(load_default="", max_length=40)
    unit = Text(load_default="", max_length=60)
    role = Text(load_default="", max_length=40)
    after = Id(load_default=None)


class PersonForm(Schema):
    name = Text(required=True, max_length=80)
    phone = Phone(load_default=None)


class GrantForm(Schema):
    role = Text(required=True, max_length=40)
    unit_id = Id(required=True)
    unit_q = SearchWords()  # what was typed to find the unit


def staff_query(filters: dict[str, Any]) -> sa.Select[Any]:
    """Staff by name (then id), narrowed by name or phone, by a unit's name and by role; keyset after a person."""
    q = sa.select(User).where(User.kind == "staff")
    if filters.get("q"):
        q = q.where(sa.or_(User.name.contains(filters["q"], autoescape=True),
                           User.phone.contains(filters["q"], autoescape=True)))
    if filters.get("unit") or filters.get("role"):
        held = sa.select(RoleGrant.id).where(RoleGrant.tenant_id == User.tenant_id, RoleGrant.user_id == User.id)
        if filters.get("role"):
            held = held.where(RoleGrant.role == filters["role"])
        if filters.get("unit"):
            held = held.join(OrgUnit, sa.and_(OrgUnit.tenant_id == RoleGrant.tenant_id,
                                              OrgUnit.id == RoleGrant.org_unit_id)
                             ).where(OrgUnit.name.contains(filters["unit"], autoescape=True))
        q = q.where(held.exists())
    if filters.get("after"):
        last = sa.select(User.name, User.id).where(User.id == filters["after"]).subquery()
        q = q.where(sa.tuple_(User.name, User.id) > sa.select(last.c.name, last.c.id).scalar_subquery())
    # one join, not the models' default selectin: with composite keys that sends `(tenant_id, user_id) IN ((..), ..)`
    # with hundreds of pairs, which PostgreSQL plans as as many ORs
    return q.order_by(User.name, User.id).options(so.joinedload(User.grants).joinedload(RoleGrant.org_unit))


def _staff_page(filters: dict[str, Any]) -> tuple[list[User], int | None]:
    rows = db.session.scalars(staff_query(filters).limit(STAFF_PAGE + 1)).unique().all()
    return list(rows[:STAFF_PAGE]), (rows[STAFF_PAGE - 1].id if len(rows) > STAFF_PAGE else None)


def unit_choices(query: str, role: str | None, *, under_kind: str = "") -> list[tuple[OrgUnit, OrgUnit | None]]:
    """The picker's units: those whose name or code holds `query`, of the kinds `role` may be held on (or that a
    unit of `under_kind` may hang under), each with its parent to tell apart the many units of one name."""
    parent = so.aliased(OrgUnit)
    q = (sa.select(OrgUnit, parent)
         .outerjoin(parent, sa.and_(parent.tenant_id == OrgUnit.tenant_id, parent.id == OrgUnit.parent_id))
         .order_by(OrgUnit.path).limit(PICKER_LIMIT))
    if query:
        q = q.where(sa.or_(OrgUnit.name.contains(query, autoescape=True),
                           OrgUnit.code.contains(query, autoescape=True)))
    spec = role_book().roles.get(role or "")
    if spec is not None and spec.unit_kinds:
        q = q.where(OrgUnit.kind.in_(spec.unit_kinds))
    if under_kind in ORG_PARENTS:
        q = q.where(OrgUnit.kind.in_(ORG_PARENTS[under_kind]))
    return [(unit, up) for unit, up in db.session.execute(q)]


@bp.get("/org/pick")
@require("org.view")
def unit_picker() -> Any:
    """The unit picker's options as the person types (htmx), or the same list on the page without script."""
    query = (request.args.get("unit_q") or "").strip()[:60]
    choices = unit_choices(query, request.args.get("role"), under_kind=request.args.get("kind") or "")
    return render("tenants/_unit_picker.html", choices=choices, unit_q=query,
                  field=request.args.get("field") if request.args.get("field") == "parent_id" else "unit_id",
                  kind_labels=ORG_KIND_LABELS)


@bp.route("/people", methods=["GET", "POST"])
@require("people.manage")
def people() -> Any:
    errors: dict[str, list[str]] = {}
    form: dict[str, Any] = {}
    if request.method == "POST":
        form = dict(request.form)
        raw = {k: v for k, v in request.form.items() if not (k == "phone" and not v.strip())}
        data, errors = _unit_chosen(load_form(NewPersonForm(), raw))
        if data is not None:
            errors = _add_person(data)
            if not errors:
                db.session.commit()
                flash(_("Person added."), "success")
                return redirect(url_for("tenant_admin.people"))
            db.session.rollback()
    filters, ferrors = load_form(StaffFilter(), request.args)
    errors = {**errors, **ferrors}
    staff, after = _staff_page(filters) if filters is not None else ([], None)
    next_args = {**{k: v for k, v in request.args.items() if k != "after"}, "after": after} if after else None
    unit_q = (form.get("unit_q") or "").strip()[:60]
    return render("tenants/people.html", block="results" if request.args.get("after") else None,
                  staff=staff, next_args=next_args, filters=dict(request.args), roles=role_book().roles,
                  errors=errors, form=form, unit_q=unit_q, kind_labels=ORG_KIND_LABELS,
                  choices=unit_choices(unit_q, form.get("role")) if form else [],
                  status=422 if errors else 200)


def _unit_chosen(loaded: tuple[dict[str, Any] | None, dict[str, Any]]) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """A form whose unit was typed but not chosen says so in words, not as a missing field."""
    data, errors = loaded
    if "unit_id" in errors:
        errors["unit_id"] = [_("Choose a unit from the list.")]
    return data, errors


def _unit(unit_id: int) -> OrgUnit | None:
    return db.session.scalars(sa.select(OrgUnit).where(OrgUnit.id == unit_id)).first()


def _add_person(data: dict[str, Any]) -> dict[str, list[str]]:
    unit = _unit(data["unit_id"])
    if unit is None:
        return {"unit_id": [_("Choose a unit from the list.")]}
    try:
        user = services.add_staff(db.session(), g.user, name=data["name"], phone=data["phone"],
                                  username=data["username"] or None, password=data["password"] or None)
        services.grant_role(db.session(), role_book(), g.user, user, data["role"], unit)
    except services.ServiceError as err:
        return {("unit_id" if k == "unit" else k): [v] for k, v in err.errors.items()}
    return {}


def _person(user_id: int) -> User:
    user = services.staff_member(db.session(), user_id)
    if user is None:
        abort(404)
    return user


def _person_page(user: User, errors: dict[str, list[str]] | None = None, form: dict[str, Any] | None = None,
                 grant_form: dict[str, Any] | None = None) -> Any:
    grant_form = grant_form or {}
    unit_q = (grant_form.get("unit_q") or request.args.get("unit_q") or "").strip()[:60]
    role = grant_form.get("role") or request.args.get("role")
    grants = db.session.scalars(sa.select(RoleGrant).where(RoleGrant.user_id == user.id)
                                .options(so.joinedload(RoleGrant.org_unit)).order_by(RoleGrant.id)).all()
    return render("tenants/person.html", person=user, grants=grants, roles=role_book().roles, errors=errors or {},
                  form=form or {"name": user.name, "phone": user.phone or ""}, grant_form=grant_form,
                  unit_q=unit_q, choices=unit_choices(unit_q, role) if (unit_q or role) else [],
                  kind_labels=ORG_KIND_LABELS, status=422 if errors else 200)


@bp.get("/people/<int:user_id>")
@require("people.manage")
def person(user_id: int) -> Any:
    return _person_page(_person(user_id))


@bp.post("/people/<int:user_id>")
@require("people.manage")
def save_person(user_id: int) -> Any:
    user = _person(user_id)
    raw = {k: v for k, v in request.form.items() if not (k == "phone" and not v.strip())}
    data, errors = load_form(PersonForm(), raw)
    if data is not None:
        try:
            services.update_staff(db.session(), g.user, user, name=data["name"], phone=data["phone"])
        except services.ServiceError as err:
            errors = {k: [v] for k, v in err.errors.items()}
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("tenant_admin.person", user_id=user.id))
    db.session.rollback()
    return _person_page(_person(user_id), errors, form=dict(request.form))


@bp.post("/people/<int:user_id>/roles")
@require("people.manage")
def add_grant(user_id: int) -> Any:
    user = _person(user_id)
    data, errors = _unit_chosen(load_form(GrantForm(), request.form))
    if data is not None:
        unit = _unit(data["unit_id"])
        if unit is None:
            errors = {"unit_id": [_("Choose a unit from the list.")]}
        else:
            try:
                services.grant_role(db.session(), role_book(), g.user, user, data["role"], unit)
            except services.ServiceError as err:
                errors = {("unit_id" if k == "unit" else k): [v] for k, v in err.errors.items()}
            else:
                db.session.commit()
                flash(_("Role granted."), "success")
                return redirect(url_for("tenant_admin.person", user_id=user.id))
    db.session.rollback()
    return _person_page(_person(user_id), errors, grant_form=dict(request.form))


@bp.post("/people/<int:user_id>/active")
@require("people.manage")
def set_active(user_id: int) -> Any:
    user = _person(user_id)
    active = request.form.get("active") == "1"
    try:
        services.set_staff_active(db.session(), g.user, user, active)
    except services.ServiceError as err:
        db.session.rollback()
        return _person_page(_person(user_id), {k: [v] for k, v in err.errors.items()})
    db.session.commit()
    flash(_("Reactivated: they can sign in again.") if active
          else _("Deactivated: they cannot sign in, and every browser they were signed in on is signed out."), "info")
    return redirect(url_for("tenant_admin.person", user_id=user.id))


@bp.post("/people/grants/<int:grant_id>/revoke")
@require("people.manage")
def revoke_grant(grant_id: int) -> Any:
    grant = db.session.scalars(sa.select(RoleGrant).where(RoleGrant.id == grant_id)
                               .options(so.joinedload(RoleGrant.org_unit))).first()
    if grant is None:
        abort(404)
    if request.form.get("confirm") != "1":
        user = _person(grant.user_id)
        return render("tenants/revoke_confirm.html", grant=grant, person=user, roles=role_book().roles)
    user_id = grant.user_id
    services.revoke_role(db.session(), g.user, grant)
    db.session.commit()
    flash(_("Role removed."), "info")
    return redirect(url_for("tenant_admin.person", user_id=user_id))

