"""万人助万企 pages: a cadre's enterprises and the office's list of those not visited in time, an enterprise's
page (its cadre, visits and feedback), the phone form of a visit, and the office naming a cadre."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_smorest import abort

from blueprints.business_feedback import services
from blueprints.business_feedback.schemas import EnterpriseCadreIn, EnterpriseVisitIn
from blueprints.business_feedback.services import base, enterprises, lists, visits
from blueprints.business_feedback.services import items as item_services
from blueprints.business_feedback.views import bp
from blueprints.business_feedback.web import actor
from saas import db
from saas.auth import require
from saas.rendering import render
from saas.schemas import load_form

PROBLEM_SLOTS = 3  # problems a visit's form offers; the API takes up to 10


@bp.get("/visits")
@require("business_feedback.visit")
def visits_page() -> Any:
    session = db.session()
    me = actor()
    due = visits.due_visits(session, g.tenant, me) if visits.is_office(me) else None
    return render("business_feedback/visits.html", mine=visits.my_enterprises(session, g.tenant, me), due=due,
                  interval=base.settings(session)["visit_interval_days"])


def _enterprise(enterprise_id: int) -> Any:
    try:
        return visits.visible_enterprise(db.session(), actor(), enterprise_id)
    except services.Refused as err:
        db.session.rollback()
        abort(err.status, message=err.message)


def _enterprise_page(enterprise_id: int, errors: dict[str, list[str]] | None = None, status: int = 200) -> Any:
    session = db.session()
    me = actor()
    enterprise = _enterprise(enterprise_id)
    cadre = visits.cadre_of(session, enterprise.id)
    found, _cursor = services.list_items(session, me, {"enterprise_id": enterprise.id}, limit=50)
    return render("business_feedback/enterprise.html", enterprise=enterprises.enterprise_rows(session, [enterprise])[0],
                  cadre=cadre, cadre_name=dict(visits.cadres(session, me)).get(cadre.user_id, "") if cadre else "",
                  cadres=visits.cadres(session, me) if visits.is_office(me) else [],
                  visits=visits.visits_of(session, enterprise.id), items=services.item_rows(session, me, found),
                  may_visit=me.may("business_feedback.visit"), office=visits.is_office(me), errors=errors or {},
                  status=status)


@bp.get("/enterprises/<int:enterprise_id>")
@require("business_feedback.visit")
def enterprise_page(enterprise_id: int) -> Any:
    return _enterprise_page(enterprise_id)


@bp.post("/enterprises/<int:enterprise_id>/cadre")
@require("business_feedback.enterprises")
def enterprise_cadre(enterprise_id: int) -> Any:
    data, errors = load_form(EnterpriseCadreIn(), {k: v for k, v in request.form.items() if k == "user_id"})
    if data is not None:
        session = db.session()
        try:
            visits.assign_cadre(session, g.tenant, actor(), enterprise_id, data)
        except services.ServiceError as err:
            session.rollback()
            errors = {k: [v] for k, v in err.errors.items()}
        except services.Refused as err:
            session.rollback()
            abort(err.status, message=err.message)
        else:
            session.commit()
            flash(_("Cadre assigned."), "success")
            return redirect(url_for("business_feedback.enterprise_page", enterprise_id=enterprise_id))
    return _enterprise_page(enterprise_id, errors, 422)


def _visit_data(form: Any) -> dict[str, Any]:
    """The form's flat fields as the API's body: the problems' slots with a description become `problems`."""
    raw: dict[str, Any] = {k: v for k, v in form.items() if not k.startswith("problem_") and k != "csrf_token"
                           and (v != "" or k in ("visited_on", "visitors"))}
    raw["problems"] = [{"kind": form.get(f"problem_{i}_kind") or "problem",
                        "area_code": form.get(f"problem_{i}_area") or "",
                        "description": form.get(f"problem_{i}_description") or ""}
                       for i in range(PROBLEM_SLOTS) if (form.get(f"problem_{i}_description") or "").strip()]
    return raw


def _flat_errors(errors: dict[str, Any]) -> dict[str, list[str]]:
    """Nested errors of the problems (`problems: {0: {area_code: [...]}}`) as the form's fields' names."""
    out: dict[str, list[str]] = {}
    for key, value in errors.items():
        if key == "problems" and isinstance(value, list) and value and isinstance(value[0], dict):
            value = value[0]
        if key == "problems" and isinstance(value, dict):
            for i, fields in value.items():
                for field, messages in (fields.items() if isinstance(fields, dict) else [("_", fields)]):
                    name = {"area_code": "area", "description": "description", "kind": "kind"}.get(field, field)
                    out[f"problem_{i}_{name}"] = [str(m) for m in (messages if isinstance(messages, list)
                                                                   else [messages])]
        elif key.startswith("problems."):
            _p, i, field = key.split(".", 2)
            out[f"problem_{i}_{'area' if field == 'area_code' else field}"] = [str(value)]
        else:
            out[key] = [str(m) for m in value] if isinstance(value, list) else [str(value)]
    return out


@bp.route("/enterprises/<int:enterprise_id>/visits/new", methods=["GET", "POST"])
@require("business_feedback.visit")
def new_visit(enterprise_id: int) -> Any:
    session = db.session()
    enterprise = _enterprise(enterprise_id)
    errors: dict[str, list[str]] = {}
    form: dict[str, Any] = {"visited_on": base.today(session, g.tenant).isoformat()}
    if request.method == "POST":
        form = dict(request.form)
        data, raw_errors = load_form(EnterpriseVisitIn(), _visit_data(request.form))
        errors = _flat_errors(raw_errors)
        if data is not None:
            try:
                visit = visits.log_visit(session, g.tenant, actor(), enterprise.id, data)
            except services.ServiceError as err:
                session.rollback()
                errors = _flat_errors(err.errors)
            except services.Refused as err:
                session.rollback()
                errors = {"_form": [err.message]}
            else:
                session.commit()
                raised = len(data["problems"])
                flash(_("Visit of %(day)s logged; %(n)s problems sent to the office.", day=visit.visited_on.isoformat(),
                        n=raised), "success")
                return redirect(url_for("business_feedback.enterprise_page", enterprise_id=enterprise.id))
    return render("business_feedback/visit_new.html", enterprise=enterprise, form=form, errors=errors,
                  areas=lists.list_areas(session, active_only=True), slots=range(PROBLEM_SLOTS),
                  kinds={k: item_services.KIND_LABELS[k] for k in ("problem", "suggestion")},
                  status=422 if errors else 200)
