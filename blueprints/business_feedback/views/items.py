"""Pages of feedback: the list, the submission form, one item with its steps, coordination, overdue list."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_smorest import abort

from blueprints.business_feedback import services
from blueprints.business_feedback.models import FeedbackItem
from blueprints.business_feedback.schemas import (
    FeedbackCoordinationIn,
    FeedbackItemFilter,
    FeedbackItemIn,
    FeedbackTransitionIn,
)
from blueprints.business_feedback.services import items as item_services
from blueprints.business_feedback.services import lists, supervision
from blueprints.business_feedback.views import bp
from blueprints.business_feedback.web import actor
from saas import db
from saas.auth import require
from saas.rendering import render
from saas.schemas import load_form
from tenants.models import OrgUnit


def _refuse(err: services.Refused) -> Any:
    db.session.rollback()
    abort(err.status, message=err.message)


@bp.get("/")
@require("business_feedback.view")
def items() -> Any:
    filters, errors = load_form(FeedbackItemFilter(), request.args)
    rows: list[dict[str, Any]] = []
    cursor = None
    if not errors and filters is not None:
        found, cursor = services.list_items(db.session(), actor(), filters, limit=filters["limit"])
        rows = services.item_rows(db.session(), actor(), found)
    return render("business_feedback/items.html", rows=rows, errors=errors, filters=dict(request.args),
                  next_before=cursor, states=services.STATE_LABELS, status=422 if errors else 200)


@bp.get("/widgets/summary")
@require("business_feedback.view")
def widget() -> Any:
    session = db.session()
    counts = dict(session.execute(sa.select(FeedbackItem.state, sa.func.count()).where(item_services.scope(actor()))
                                  .group_by(FeedbackItem.state)).all())
    return render("business_feedback/_widget.html", counts=counts, states=services.STATE_LABELS)


def _choices() -> dict[str, Any]:
    session = db.session()
    return {"areas": lists.list_areas(session, active_only=True), "kinds": item_services.KIND_LABELS,
            "urgencies": item_services.URGENCY_LABELS}


@bp.route("/new", methods=["GET", "POST"])
@require("business_feedback.submit")
def new_item() -> Any:
    errors: dict[str, list[str]] = {}
    form: dict[str, Any] = {}
    session = db.session()
    _sup, reason = services.current_term(session, g.tenant, actor().id)
    if request.method == "POST":
        form = dict(request.form)
        raw = {k: v for k, v in request.form.items() if v != "" or k in ("description", "area_code", "kind")}
        data, errors = load_form(FeedbackItemIn(), raw)
        if data is not None:
            try:
                item = services.submit_item(session, g.tenant, actor(), data)
            except services.ServiceError as err:
                session.rollback()
                errors = {k: [v] for k, v in err.errors.items()}
            except services.Refused as err:
                session.rollback()
                errors = {"_form": [err.message]}
            else:
                session.commit()
                flash(_("Feedback %(number)s submitted.", number=item.number), "success")
                return redirect(url_for("business_feedback.item_detail", item_id=item.id))
    return render("business_feedback/new.html", form=form, errors=errors, reason=reason, **_choices(),
                  status=422 if errors else 200)


def _detail(item: FeedbackItem) -> dict[str, Any]:
    session = db.session()
    me = actor()
    actions = item_services.available_actions(session, me, item)
    departments = []
    if any(t.action == "accept" for t in actions):
        departments = list(session.scalars(sa.select(OrgUnit).where(OrgUnit.kind == "department")
                                           .order_by(OrgUnit.code)))
    return {"item": item, "row": services.item_rows(session, me, [item])[0], "actions": actions,
            "events": services.timeline(session, me, item), "departments": departments,
            "coordinations": item_services.coordinations_of(session, item),
            "may_coordinate": me.may("business_feedback.triage") and item.state in ("assigned", "answered"),
            "rating_labels": item_services.RATING_LABELS, "level_labels": item_services.LEVEL_LABELS}


@bp.get("/items/<int:item_id>")
@require("business_feedback.view")
def item_detail(item_id: int) -> Any:
    try:
        item = services.get_item(db.session(), actor(), item_id)
    except services.Refused as err:
        return _refuse(err)
    return render("business_feedback/item.html", **_detail(item), errors={}, failed=None, form={})


@bp.post(f"/items/<int:item_id>/act/<any({', '.join(item_services.TRANSITIONS)}):action>")
@require("business_feedback.view")
def item_act(item_id: int, action: str) -> Any:
    session = db.session()
    me = actor()
    try:
        services.get_item(session, me, item_id)
    except services.Refused as err:
        return _refuse(err)
    raw: dict[str, Any] = {k: v for k, v in request.form.items() if k not in ("csrf_token", "department_ids")
                           and v != ""}
    raw["department_ids"] = request.form.getlist("department_ids")
    data, errors = load_form(FeedbackTransitionIn(), {**raw, "action": action})
    status = 422
    if data is not None:
        try:
            services.act(session, g.tenant, me, item_id, action, data)
        except services.ServiceError as err:
            session.rollback()
            errors = {k: [v] for k, v in err.errors.items()}
        except services.Refused as err:
            session.rollback()
            errors, status = {"_form": [err.message]}, err.status
        else:
            session.commit()
            flash(_("Done: %(action)s.", action=item_services.TRANSITIONS[action].label), "success")
            return redirect(url_for("business_feedback.item_detail", item_id=item_id))
    item = services.get_item(session, me, item_id)
    return render("business_feedback/item.html", **_detail(item), errors=errors, failed=action,
                  form=dict(request.form), status=status)


@bp.post("/items/<int:item_id>/coordinations")
@require("business_feedback.triage")
def item_coordinate(item_id: int) -> Any:
    session = db.session()
    data, errors = load_form(FeedbackCoordinationIn(), {k: v for k, v in request.form.items() if k != "csrf_token"})
    status = 422
    if data is not None:
        try:
            services.record_coordination(session, g.tenant, actor(), item_id, data)
        except services.ServiceError as err:
            session.rollback()
            errors = {k: [v] for k, v in err.errors.items()}
        except services.Refused as err:
            session.rollback()
            if err.status == 404:
                return _refuse(err)
            errors, status = {"_form": [err.message]}, err.status
        else:
            session.commit()
            flash(_("Coordination recorded."), "success")
            return redirect(url_for("business_feedback.item_detail", item_id=item_id))
    try:
        item = services.get_item(session, actor(), item_id)
    except services.Refused as err:
        return _refuse(err)
    return render("business_feedback/item.html", **_detail(item), errors=errors, failed="coordinate",
                  form=dict(request.form), status=status)


@bp.get("/overdue")
@require("business_feedback.overdue")
def overdue() -> Any:
    return render("business_feedback/overdue.html", groups=supervision.overdue_by_department(db.session()),
                  level_labels=item_services.LEVEL_LABELS)
