"""Pages around the cases: quick notes (随手记), claimed compounds (包片) and common problems (共性问题)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _

from blueprints.grid_cases import services
from blueprints.grid_cases.models import CaseCategory
from blueprints.grid_cases.schemas import ClaimIn, CommonLinkIn, CommonResolveIn, NoteFilter, NoteIn, PromoteIn
from blueprints.grid_cases.services import common as common_services
from blueprints.grid_cases.services import notes as note_services
from blueprints.grid_cases.services.base import Refused
from blueprints.grid_cases.views import bp
from blueprints.grid_cases.views.cases import refuse
from blueprints.grid_cases.web import actor, uploads
from saas import db
from saas.auth import require
from saas.pagination import keyset_page
from saas.rendering import render
from saas.schemas import load_form
from tenants.models import OrgUnit, User

# --- quick notes ------------------------------------------------------------------------------------


def _notes_page(form: dict[str, Any], errors: dict[str, list[str]], status: int = 200, *,
                promote_id: str | None = None, promote_errors: dict[str, list[str]] | None = None) -> Any:
    session = db.session()
    me = actor()
    filters, ferrors = load_form(NoteFilter(), request.args)
    filters = filters or {}
    notes, cursor = keyset_page(session, note_services.note_query(me, filters), filters.get("limit") or 30) \
        if not ferrors else ([], None)
    rows = note_services.notes_out(session, notes)
    grids = [u for u in me.units("grid_cases.report") if u.kind == "grid"]
    args = {k: v for k, v in request.args.items() if k != "before" and v}
    return render("grid_cases/notes.html", block="results" if request.args.get("before") else None, rows=rows,
                  form=form, errors={**errors, **ferrors}, kinds=note_services.NOTE_KIND_LABELS, grids=grids,
                  next_args={**args, "before": cursor} if cursor else None, filters=dict(request.args),
                  categories=services.list_categories(session, active_only=True), promote_id=promote_id,
                  promote_errors=promote_errors or {}, status=status)


@bp.route("/notes", methods=["GET", "POST"])
@require("grid_cases.report")
def notes() -> Any:
    errors: dict[str, list[str]] = {}
    form: dict[str, Any] = {}
    if request.method == "POST":
        form = dict(request.form)
        data, errors = load_form(NoteIn(), request.form)
        if data is not None:
            try:
                note_services.add_note(db.session(), g.tenant, actor(), data, uploads())
            except services.ServiceError as err:
                db.session.rollback()
                errors = {k: [v] for k, v in err.errors.items()}
            except Refused as err:
                return refuse(err)
            else:
                db.session.commit()
                flash(_("Note saved."), "success")
                return redirect(url_for("grid_cases.notes"))
    return _notes_page(form, errors, 422 if errors else 200)


@bp.post("/notes/<int:note_id>/promote")
@require("grid_cases.report")
def note_promote(note_id: int) -> Any:
    data, errors = load_form(PromoteIn(), request.form)
    if data is not None:
        try:
            case = note_services.promote_note(db.session(), g.tenant, actor(), note_id, data)
        except services.ServiceError as err:
            db.session.rollback()
            errors = {k: [v] for k, v in err.errors.items()}
        except Refused as err:
            return refuse(err)
        else:
            db.session.commit()
            flash(_("Case %(number)s reported.", number=case.number), "success")
            return redirect(url_for("grid_cases.case_detail", case_id=case.id))
    try:
        note_services.note_by_id(db.session(), actor(), note_id)
    except Refused as err:
        return refuse(err)
    return _notes_page({}, {}, 422, promote_id=str(note_id), promote_errors=errors)


# --- claimed compounds --------------------------------------------------------------------------------


def _claims_page(errors: dict[str, list[str]], status: int = 200) -> Any:
    session = db.session()
    me = actor()
    compounds = note_services.claimable(session, me)
    holders = {uid for _c, uid in compounds if uid}
    names = dict(session.execute(sa.select(User.id, User.name).where(User.id.in_(holders))).all()) if holders else {}
    mine = note_services.my_claims(session, me)
    mine_units = {u.id: u for u in session.scalars(sa.select(OrgUnit).where(
        OrgUnit.id.in_([c.compound_id for c in mine])))} if mine else {}
    return render("grid_cases/claims.html", compounds=compounds, names=names, mine=mine, mine_units=mine_units,
                  errors=errors, max_claims=note_services.MAX_CLAIMS, status=status)


@bp.route("/claims", methods=["GET", "POST"])
@require("grid_cases.claim")
def claims() -> Any:
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        data, errors = load_form(ClaimIn(), request.form)
        if data is not None:
            try:
                note_services.claim_compound(db.session(), actor(), data["compound_code"])
            except services.ServiceError as err:
                db.session.rollback()
                errors = {k: [v] for k, v in err.errors.items()}
            except Refused as err:
                return refuse(err)
            else:
                db.session.commit()
                flash(_("You now look after this compound: its cases reach you."), "success")
                return redirect(url_for("grid_cases.claims"))
    return _claims_page(errors, 422 if errors else 200)


@bp.post("/claims/<int:claim_id>/release")
@require("grid_cases.claim")
def claim_release(claim_id: int) -> Any:
    try:
        note_services.release_compound(db.session(), actor(), claim_id)
    except Refused as err:
        return refuse(err)
    db.session.commit()
    flash(_("Compound released."), "info")
    return redirect(url_for("grid_cases.claims"))


# --- common problems ------------------------------------------------------------------------------------


def _common_page(errors: dict[str, list[str]], form: dict[str, Any], status: int = 200) -> Any:
    session = db.session()
    me = actor()
    problems = common_services.list_problems(session, me)
    places = {u.id: u for u in session.scalars(sa.select(OrgUnit).where(
        OrgUnit.id.in_({p.place_id for p in problems})))} if problems else {}
    cats = {c.id: c for c in session.scalars(sa.select(CaseCategory))}
    return render("grid_cases/common.html", suggestions=common_services.suggestions(session, me),
                  problems=problems, places=places, cats=cats, errors=errors, form=form, status=status)


@bp.route("/common", methods=["GET", "POST"])
@require("grid_cases.common")
def common() -> Any:
    errors: dict[str, list[str]] = {}
    form: dict[str, Any] = {}
    if request.method == "POST":
        form = dict(request.form)
        raw = {k: v for k, v in request.form.items() if k != "csrf_token"}
        raw["case_ids"] = request.form.getlist("case_ids") or None
        if raw["case_ids"] is None:
            raw.pop("case_ids")
        data, errors = load_form(CommonLinkIn(), raw)
        if data is not None:
            try:
                problem = common_services.link_common(
                    db.session(), g.tenant, actor(), place_code=data["place_code"],
                    category_code=data["category_code"], title=data["title"], case_ids=data.get("case_ids"))
            except services.ServiceError as err:
                db.session.rollback()
                errors = {k: [v] for k, v in err.errors.items()}
            except Refused as err:
                return refuse(err)
            else:
                db.session.commit()
                flash(_("Linked: resolving the common problem resolves every case in it."), "success")
                return redirect(url_for("grid_cases.common_detail", problem_id=problem.id))
    return _common_page(errors, form, 422 if errors else 200)


def _problem_context(problem_id: int) -> dict[str, Any]:
    session = db.session()
    me = actor()
    problem = common_services.problem_by_id(session, me, problem_id)
    cases = common_services.problem_cases(session, problem)
    place = session.scalars(sa.select(OrgUnit).where(OrgUnit.id == problem.place_id)).one()
    category = session.scalars(sa.select(CaseCategory).where(CaseCategory.id == problem.category_id)).one()
    return {"problem": problem, "rows": services.case_rows(session, cases), "place": place, "category": category,
            "may_resolve": problem.state == "open" and me.may("grid_cases.common", place)}


@bp.get("/common/<int:problem_id>")
@require("grid_cases.view")
def common_detail(problem_id: int) -> Any:
    try:
        context = _problem_context(problem_id)
    except Refused as err:
        return refuse(err)
    return render("grid_cases/common_problem.html", **context, errors={}, form={})


@bp.post("/common/<int:problem_id>/resolve")
@require("grid_cases.common")
def common_resolve(problem_id: int) -> Any:
    data, errors = load_form(CommonResolveIn(), request.form)
    status = 422
    if data is not None:
        try:
            _problem, resolved = common_services.resolve_common(db.session(), g.tenant, actor(), problem_id,
                                                                data["result"], uploads())
        except services.ServiceError as err:
            db.session.rollback()
            errors = {k: [v] for k, v in err.errors.items()}
        except Refused as err:
            db.session.rollback()
            if err.status == 404:
                return refuse(err)
            errors, status = {"_form": [err.message]}, err.status
        else:
            db.session.commit()
            flash(_("Resolved, with %(n)s cases: their reporters are told.", n=len(resolved)), "success")
            return redirect(url_for("grid_cases.common_detail", problem_id=problem_id))
    try:
        context = _problem_context(problem_id)
    except Refused as err:
        return refuse(err)
    return render("grid_cases/common_problem.html", **context, errors=errors, form=dict(request.form), status=status)
