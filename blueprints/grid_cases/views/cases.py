"""Staff pages of cases: the work lists, reporting, a case with its timeline and the steps one may take."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import flash, g, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_smorest import abort

from blueprints.grid_cases import services
from blueprints.grid_cases.models import GridCase
from blueprints.grid_cases.schemas import CaseFilter, CaseIn, TransitionIn
from blueprints.grid_cases.services import cases as case_services
from blueprints.grid_cases.services.base import Refused
from blueprints.grid_cases.views import bp
from blueprints.grid_cases.web import actor, uploads
from saas import db
from saas.auth import login_required, require
from saas.db import utcnow
from saas.rendering import render
from saas.schemas import load_form
from tenants.models import OrgUnit


def refuse(err: Refused) -> Any:
    db.session.rollback()
    abort(err.status, message=err.message)


# --- work lists ---------------------------------------------------------------------------------------


def filter_choices() -> dict[str, Any]:
    session = db.session()
    return {
        "categories": services.list_categories(session),
        "states": case_services.STATE_LABELS,
        "urgencies": case_services.URGENCY_LABELS,
    }


@bp.get("/")
@require("grid_cases.view")
def work() -> Any:
    me = actor()
    # the search form sends every field, the ones left empty too: the schema takes an empty one as no filter
    filters, errors = load_form(CaseFilter(), request.args)
    filters = filters or {}
    rows: list[dict[str, Any]] = []
    cursor = None
    views = case_services.views_for(me)
    if filters.get("view") and filters["view"] not in views:
        errors.setdefault("view", [_("Not one of the choices.")])
    if not errors:
        cases, cursor, qerrors = case_services.list_cases(db.session(), g.tenant, me, filters,
                                                          limit=filters.get("limit") or case_services.PAGE_SIZE)
        errors = {k: [v] for k, v in qerrors.items()}
        rows = services.case_rows(db.session(), cases)
    args = {k: v for k, v in request.args.items() if k != "before" and v}
    next_args = {**args, "before": cursor} if cursor else None
    return render("grid_cases/work.html", block="results" if request.args.get("before") else None, rows=rows,
                  views=views, view=filters.get("view") or "area", view_labels=case_services.VIEW_LABELS,
                  filters=dict(request.args), errors=errors, next_args=next_args, export_args=args,
                  **filter_choices(), status=422 if errors else 200)


@bp.get("/widgets/work")
@require("grid_cases.view")
def widget_work() -> Any:
    """What waits for the person: their own steps, and what is overdue in their area."""
    me = actor()
    session = db.session()
    counts = {}
    for view in case_services.views_for(me):
        if view in ("area", "mine", "claimed", "new"):
            continue
        q, _errors = case_services.case_query(session, g.tenant, me, {"view": view})
        counts[view] = session.scalar(sa.select(sa.func.count()).select_from(q.order_by(None).subquery())) or 0
    return render("grid_cases/_widget_work.html", counts=counts, view_labels=case_services.VIEW_LABELS)


# --- reporting ------------------------------------------------------------------------------------------


def report_choices() -> dict[str, Any]:
    """The grids (and their compounds) the person may report in, and the active categories."""
    me = actor()
    session = db.session()
    units = me.units("grid_cases.report")
    places: list[OrgUnit] = []
    if units:
        places = list(session.scalars(sa.select(OrgUnit).where(
            OrgUnit.kind.in_(("grid", "compound", "building")),
            sa.or_(*[OrgUnit.path.startswith(u.path) for u in units])).order_by(OrgUnit.path).limit(1000)))
    return {"categories": services.list_categories(session, active_only=True), "places": places,
            "urgencies": case_services.URGENCY_LABELS}


@bp.route("/new", methods=["GET", "POST"])
@require("grid_cases.report")
def new_case() -> Any:
    errors: dict[str, list[str]] = {}
    form: dict[str, Any] = {"location_code": request.args.get("location", "")}
    if request.method == "POST":
        form = dict(request.form)
        raw = {k: v for k, v in request.form.items() if v != "" or k in ("description", "category_code")}
        data, errors = load_form(CaseIn(), raw)
        if data is not None:
            try:
                case = services.report_case(db.session(), g.tenant, actor(), data, uploads(),
                                            source=data["source"], source_ref=data.get("source_ref"))
            except services.ServiceError as err:
                db.session.rollback()
                errors = {k: [v] for k, v in err.errors.items()}
            except Refused as err:
                db.session.rollback()
                errors = {"_form": [err.message]}
            else:
                db.session.commit()
                flash(_("Case %(number)s reported.", number=case.number), "success")
                return redirect(url_for("grid_cases.case_detail", case_id=case.id))
    return render("grid_cases/new.html", form=form, errors=errors, **report_choices(),
                  status=422 if errors else 200)


# --- one case -------------------------------------------------------------------------------------------


def detail_context(case: GridCase) -> dict[str, Any]:
    session = db.session()
    me = actor()
    row = services.case_rows(session, [case])[0]
    level = session.scalars(sa.select(OrgUnit).where(OrgUnit.id == case.level_unit_id)).first()
    actions = case_services.available_actions(me, case, level.kind if level else None)
    events = services.timeline(session, case)
    photos = case_services.photos_of(session, case)
    departments = []
    if any(t.action == "dispatch" for t in actions):
        departments = list(session.scalars(sa.select(OrgUnit).where(OrgUnit.kind == "department")
                                           .order_by(OrgUnit.code)))
    category = services.category_by_code(session, row["category_code"]) if row["category_code"] else None
    phone = case_services.reporter_phone_for(session, me, case)
    return {"case": case, "row": row, "actions": actions, "events": events, "photos": photos,
            "departments": departments, "default_department": category.department_id if category else None,
            "book": me.book, "event_labels": case_services.EVENT_LABELS,
            "state_labels": case_services.STATE_LABELS, "rating_labels": case_services.RATING_LABELS,
            "role_label": lambda role: case_services.event_role_label(me.book, role),
            "reveal_phone": phone is not None, "phone": phone, "now": utcnow()}


@bp.get("/cases/<int:case_id>")
@login_required
def case_detail(case_id: int) -> Any:
    try:
        case = services.get_case(db.session(), actor(), case_id)
    except Refused as err:
        return refuse(err)
    page = render("grid_cases/case.html", **detail_context(case), errors={}, failed=None, form={})
    db.session.commit()  # a view of the reporter's number is in the audit log
    return page


@bp.post(f"/cases/<int:case_id>/act/<any({', '.join(case_services.TRANSITIONS)}):action>")
@login_required
def case_act(case_id: int, action: str) -> Any:
    session = db.session()
    me = actor()
    try:
        case = services.get_case(session, me, case_id)
    except Refused as err:
        return refuse(err)
    raw = {k: v for k, v in request.form.items() if k != "csrf_token" and v != ""}
    data, errors = load_form(TransitionIn(), {**raw, "action": action})
    status = 422
    if data is not None:
        try:
            services.act(session, g.tenant, me, case_id, action, data, uploads())
        except services.ServiceError as err:
            session.rollback()
            errors = {k: [v] for k, v in err.errors.items()}
        except Refused as err:
            session.rollback()
            errors, status = {"_form": [err.message]}, err.status
        else:
            session.commit()
            flash(_("Done: %(action)s.", action=case_services.TRANSITIONS[action].label), "success")
            return redirect(url_for("grid_cases.case_detail", case_id=case_id))
    case = services.get_case(session, me, case_id)
    return render("grid_cases/case.html", **detail_context(case), errors=errors, failed=action,
                  form=dict(request.form), status=status)


@bp.get("/photos/<int:photo_id>")
@login_required
def photo(photo_id: int) -> Any:
    return _photo(photo_id, thumb=request.args.get("size") == "thumb")


def _photo(photo_id: int, *, thumb: bool, public: bool = False) -> Any:
    try:
        item = case_services.photo_for(db.session(), actor(), photo_id, public=public)
    except Refused as err:
        return refuse(err)
    response = make_response(item.thumb if thumb else item.data)
    response.headers["Content-Type"] = item.content_type
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["Content-Disposition"] = "inline"
    return response
