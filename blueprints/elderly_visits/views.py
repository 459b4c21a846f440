"""Elderly visits' pages under /t/<tenant>/elderly_visits/: the worker's list on the phone, a resident, a visit
logged in under a minute, emergencies. Every view calls the services the JSON API calls."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, flash, g, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_smorest import abort
from werkzeug.datastructures import MultiDict

from blueprints.elderly_visits import services
from blueprints.elderly_visits.schemas import ActionIn, EmergencyIn, LinkIn, ListFilter, PersonIn, StepIn, VisitIn
from blueprints.elderly_visits.web import actor
from saas import db
from saas.auth import require
from saas.pictures import request_uploads
from saas.rendering import render
from saas.schemas import load_form
from tenants.models import OrgUnit

bp = Blueprint("elderly_visits", __name__, template_folder="templates")

LISTS = ("categories", "needs", "risks")


def refuse(err: services.Refused) -> Any:
    db.session.rollback()
    abort(err.status, message=err.message)


def _form(fields: tuple[str, ...] = LISTS) -> dict[str, Any]:
    """A posted form as the schema takes it: ticked boxes as lists, everything else as sent."""
    raw: dict[str, Any] = {k: v for k, v in request.form.items() if k not in fields}
    raw.update({name: request.form.getlist(name) for name in fields})
    return raw


def _labels() -> dict[str, Any]:
    return {"category_labels": services.category_labels(), "visit_kinds": services.visit_kind_labels(),
            "conditions": services.condition_labels(), "need_labels": services.need_labels(),
            "risk_labels": services.risk_labels(), "emergency_labels": services.emergency_labels(),
            "action_labels": services.action_labels(), "state_labels": services.state_labels()}


def _errors(err: services.ServiceError) -> dict[str, list[str]]:
    return {k: [str(v)] for k, v in err.errors.items()}


# --- the worker's list --------------------------------------------------------------------------------------


@bp.get("/")
@require("elderly_visits.view")
def home() -> Any:
    filters, errors = load_form(ListFilter(), request.args)
    filters = filters or {"due": "week", "q": "", "mine": False}
    rows = [] if errors else services.list_people(db.session(), g.tenant, actor(), **filters)
    open_emergencies = services.list_emergencies(db.session(), actor(), open_only=True, limit=20)
    return render("elderly_visits/home.html", rows=rows, filters=filters, errors=errors,
                  emergencies=open_emergencies, **_labels())


@bp.get("/widgets/due")
@require("elderly_visits.view")
def widget_due() -> Any:
    rows = services.list_people(db.session(), g.tenant, actor(), due="week", limit=50)
    return render("elderly_visits/_widget_due.html", today=sum(r["due_today"] for r in rows),
                  overdue=sum(r["overdue"] for r in rows), week=len(rows))


# --- the registry -------------------------------------------------------------------------------------------


def _grids() -> list[OrgUnit]:
    me = actor()
    paths = [u.path for u in me.units("elderly_visits.manage")]
    if not paths:
        return []
    return list(db.session().scalars(sa.select(OrgUnit).where(
        OrgUnit.kind == "grid", sa.or_(*[OrgUnit.path.startswith(p) for p in paths])).order_by(OrgUnit.code)))


@bp.route("/people/new", methods=["GET", "POST"])
@require("elderly_visits.manage")
def new_person() -> Any:
    errors: dict[str, list[str]] = {}
    form: dict[str, Any] = dict(request.form)
    grids = _grids()
    grid_code = request.values.get("grid_code") or (grids[0].code if len(grids) == 1 else "")
    if request.method == "POST":
        raw = _form(("categories",))
        raw["consent"] = "1" if "consent" in request.form else "0"
        contacts = []
        for i in range(3):
            contact = {key: raw.pop(f"contact{i}_{key}", "") for key in ("name", "phone", "relation")}
            if contact["name"] or contact["phone"]:
                contacts.append(contact)
        raw["contacts"] = contacts
        for key in ("phone", "backup_worker_id", "frequency_days"):
            if raw.get(key) == "":
                raw[key] = None
        data, errors = load_form(PersonIn(), raw)
        nested = errors.pop("contacts", None)
        if isinstance(nested, dict):
            # the schema names a contact's field by its place in the list; the form by its own field
            for i, fields in nested.items():
                for key, messages in (fields.items() if isinstance(fields, dict) else [("name", fields)]):
                    errors[f"contact{i}_{key}"] = messages if isinstance(messages, list) else [messages]
        elif nested:
            errors["contacts"] = nested
        if data is not None:
            try:
                person = services.register_person(db.session(), g.tenant, actor(), data)
            except services.ServiceError as err:
                db.session.rollback()
                errors = _errors(err)
            except services.Refused as err:
                return refuse(err)
            else:
                db.session.commit()
                flash(_("%(name)s is on the registry.", name=person.name), "success")
                return redirect(url_for("elderly_visits.person", person_id=person.id))
    grid = next((u for u in grids if u.code == grid_code), None)
    workers = services.grid_visitors(db.session(), actor(), grid) if grid is not None else []
    return render("elderly_visits/person_new.html", form=form, errors=errors, grids=grids, grid_code=grid_code,
                  workers=workers, selected=request.form.getlist("categories"), status=422 if errors else 200,
                  **_labels())


@bp.get("/people/<int:person_id>")
@require("elderly_visits.view")
def person(person_id: int) -> Any:
    session = db.session()
    me = actor()
    try:
        found = services.get_person(session, me, person_id)
    except services.Refused as err:
        return refuse(err)
    out = services.person_out(session, g.tenant, me, found, detail=True)
    visits = services.visits_of(session, found.id)
    names = services.user_names(session, [v.visitor_id for v in visits])
    needs = services.needs_of(session, found.id)
    cases = {n.visit_id: n.case_number for n in needs if n.case_number}
    emergencies = services.list_emergencies(session, me, person_id=found.id, limit=10)
    grid = services.unit_by_id(session, found.grid_id)
    # the view of sensitive fields is in the audit log: it commits with the page
    db.session.commit()
    photos = services.photographed(session, [v.id for v in visits])
    return render("elderly_visits/person.html", p=out,
                  visits=[services.visit_out(v, names, cases, photos) for v in visits],
                  needs=needs, emergencies=emergencies, may_visit=services.may_visit(me, found, grid),
                  **_labels())


# --- a visit ------------------------------------------------------------------------------------------------


@bp.route("/people/<int:person_id>/visit", methods=["GET", "POST"])
@require("elderly_visits.visit")
def visit(person_id: int) -> Any:
    session = db.session()
    errors: dict[str, list[str]] = {}
    try:
        found = services.get_person(session, actor(), person_id)
    except services.Refused as err:
        return refuse(err)
    form: dict[str, Any] = dict(request.form)
    if request.method == "POST":
        raw = _form(("needs", "risks"))
        raw["make_case"] = "1" if "make_case" in request.form else "0"
        for key in ("visited_at", "duration_min"):
            if raw.get(key) == "":
                raw[key] = None
        data, errors = load_form(VisitIn(), raw)
        if data is not None:
            try:
                done = services.log_visit(session, g.tenant, actor(), person_id, data, request_uploads("photo"))
            except services.ServiceError as err:
                db.session.rollback()
                errors = _errors(err)
            except services.Refused as err:
                return refuse(err)
            else:
                db.session.commit()
                flash(_("Visit logged."), "success")
                if done.needs and data.get("make_case"):
                    flash(_("The need went to the grid as a case."), "success")
                return redirect(url_for("elderly_visits.person", person_id=person_id))
    out = services.person_out(session, g.tenant, actor(), found)
    return render("elderly_visits/visit.html", p=out, form=form, errors=errors,
                  client_key=request.form.get("client_key") or uuid.uuid4().hex,
                  grid_cases_on="grid_cases" in actor().enabled, ticked_needs=request.form.getlist("needs"),
                  ticked_risks=request.form.getlist("risks"), status=422 if errors else 200, **_labels())


@bp.get("/visits/<int:visit_id>/photo")
@require("elderly_visits.view")
def visit_photo(visit_id: int) -> Any:
    """A visit's photo (`size=thumb` for the small one), for those who see the visit."""
    try:
        photo = services.visit_photo(db.session(), actor(), visit_id)
    except services.Refused as err:
        return refuse(err)
    response = make_response(photo.thumb if request.args.get("size") == "thumb" else photo.data)
    response.headers["Content-Type"] = photo.content_type
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["Content-Disposition"] = "inline"
    return response


@bp.post("/needs/<int:need_id>/resolve")
@require("elderly_visits.visit")
def resolve_need(need_id: int) -> Any:
    try:
        need = services.resolve_need(db.session(), actor(), need_id, request.form.get("result", "").strip()[:500])
    except services.ServiceError as err:
        db.session.rollback()
        flash(" ".join(str(v) for v in err.errors.values()), "error")
        return redirect(request.referrer or url_for("elderly_visits.home"))
    except services.Refused as err:
        return refuse(err)
    db.session.commit()
    flash(_("Need resolved."), "success")
    return redirect(url_for("elderly_visits.person", person_id=need.person_id))


# --- emergencies --------------------------------------------------------------------------------------------


@bp.route("/people/<int:person_id>/emergency", methods=["GET", "POST"])
@require("elderly_visits.emergency")
def raise_emergency(person_id: int) -> Any:
    session = db.session()
    errors: dict[str, list[str]] = {}
    try:
        found = services.get_person(session, actor(), person_id)
    except services.Refused as err:
        return refuse(err)
    if request.method == "POST":
        data, errors = load_form(EmergencyIn(), request.form)
        if data is not None:
            try:
                emergency = services.raise_emergency(session, g.tenant, actor(), person_id, data)
            except services.ServiceError as err:
                db.session.rollback()
                errors = _errors(err)
            except services.Refused as err:
                return refuse(err)
            else:
                db.session.commit()
                flash(_("Emergency raised: the community and the family are being told."), "success")
                return redirect(url_for("elderly_visits.emergency", emergency_id=emergency.id))
    out = services.person_out(session, g.tenant, actor(), found)
    return render("elderly_visits/emergency_new.html", p=out, form=dict(request.form), errors=errors,
                  status=422 if errors else 200, **_labels())


@bp.get("/emergencies")
@require("elderly_visits.view")
def emergencies() -> Any:
    rows = services.list_emergencies(db.session(), actor(), open_only=request.args.get("all") != "1",
                                     unlinked=request.args.get("unlinked") == "1")
    return render("elderly_visits/emergencies.html", rows=rows, show_all=request.args.get("all") == "1",
                  unlinked=request.args.get("unlinked") == "1", **_labels())


def _emergency_page(emergency_id: int, errors: dict[str, list[str]] | None = None, status: int = 200) -> Any:
    session = db.session()
    me = actor()
    try:
        emergency, person = services.get_emergency(session, me, emergency_id)
    except services.Refused as err:
        return refuse(err)
    out = services.emergency_out(session, me, emergency, person,
                                 services.actions_of(session, [emergency.id])[emergency.id], detail=True)
    # the phones to call, for those who may read them (the view is logged: it commits with the page)
    who = services.person_out(session, g.tenant, me, person, detail=True) if person is not None else None
    candidates: list[Any] = []
    q = (request.values.get("q") or "").strip()[:40]
    if person is None and emergency.state != "closed":
        candidates = services.candidates_of(session, me, emergency, q)
    db.session.commit()
    return render("elderly_visits/emergency.html", e=out, p=who, errors=errors or {}, status=status,
                  may_act=services.may_respond(session, me, emergency, person),
                  candidates=candidates, q=q, **_labels())


@bp.get("/emergencies/<int:emergency_id>")
@require("elderly_visits.view")
def emergency(emergency_id: int) -> Any:
    return _emergency_page(emergency_id)


@bp.post("/emergencies/<int:emergency_id>/link")
@require("elderly_visits.respond")
def link_emergency(emergency_id: int) -> Any:
    """Link an emergency nobody on the registry matched to the resident it is about."""
    data, errors = load_form(LinkIn(), MultiDict(request.form))
    if data is not None:
        try:
            services.link_emergency(db.session(), g.tenant, actor(), emergency_id, data)
        except services.ServiceError as err:
            db.session.rollback()
            errors = _errors(err)
        except services.Refused as err:
            return refuse(err)
        else:
            db.session.commit()
            flash(_("The emergency is now the resident's: their workers and family are told."), "success")
            return redirect(url_for("elderly_visits.emergency", emergency_id=emergency_id))
    return _emergency_page(emergency_id, {f"link_{k}": v for k, v in errors.items()}, 422)


@bp.post("/emergencies/<int:emergency_id>/<any(ack, action, close):step>")
@require("elderly_visits.view")
def emergency_step(emergency_id: int, step: str) -> Any:
    schema = {"ack": StepIn(), "action": ActionIn(), "close": StepIn()}[step]
    data, errors = load_form(schema, MultiDict(request.form))
    if data is not None:
        try:
            if step == "ack":
                services.acknowledge_emergency(db.session(), actor(), emergency_id, data["version"])
            elif step == "action":
                services.add_action(db.session(), actor(), emergency_id, data)
            else:
                services.close_emergency(db.session(), actor(), emergency_id, data)
        except services.ServiceError as err:
            db.session.rollback()
            errors = _errors(err)
        except services.Refused as err:
            return refuse(err)
        else:
            db.session.commit()
            flash({"ack": _("You have taken it on."), "action": _("Action recorded."),
                   "close": _("Emergency closed.")}[step], "success")
            return redirect(url_for("elderly_visits.emergency", emergency_id=emergency_id))
    return _emergency_page(emergency_id, {f"{step}_{k}": v for k, v in errors.items()}, 422)


from blueprints.elderly_visits import dashboard_views, import_views, neighbour_views  # noqa: E402,F401 - their routes join this blueprint
