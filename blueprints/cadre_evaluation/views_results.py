"""Cadre evaluation's pages for results and follow-up (on the module's blueprint, `views.bp`): the organiser's
results (live counts while open, the tally from the close, ranks per area, a chart, anomaly flags, XLSX), the
follow-up report (actions with documents, rectification items, XLSX), the targets' import and photos; and the
public target list (评议对象公示) and results page (评后公示). Every view calls the services the JSON API calls."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app, flash, g, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_smorest import abort

from blueprints.cadre_evaluation import anomaly, followup, results, services, targets
from blueprints.cadre_evaluation.views import _campaign, _labels, _refuse, bp
from blueprints.cadre_evaluation.web import actor
from saas import db, imports
from saas.auth import require
from saas.exports import download
from saas.imports import staging_dir
from saas.rendering import render

MANAGE = services.MANAGE


def _date(raw: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw.strip()) if raw and raw.strip() else None
    except ValueError:
        return None


# --- the organiser's results ----------------------------------------------------------------------------------


@bp.get("/campaigns/<int:campaign_id>/results")
@require(MANAGE)
def results_page(campaign_id: int) -> Any:
    c = _campaign(campaign_id)
    session = db.session()
    rows = results.shown_to(session, actor(), c)
    return render("cadre_evaluation/results.html", c=c, rows=rows, counts=results.live_counts(session, c),
                  areas=results.by_area(c, rows) if rows else [], chart=results.chart_of(rows),
                  flags=anomaly.flags(session, c) if c.state not in services.PREPARING else None, **_labels())


@bp.get("/campaigns/<int:campaign_id>/results.xlsx")
@require(MANAGE)
def results_xlsx(campaign_id: int) -> Any:
    c = _campaign(campaign_id)
    try:
        rows = results.results_for(db.session(), actor(), c)
    except services.Refused as err:
        return _refuse(err)
    return download(results.export_xlsx(c, rows, g.tenant.timezone), f"cadre-results-{c.id}.xlsx")


# --- follow-up --------------------------------------------------------------------------------------------


def _followup_page(c: Any, errors: dict[str, Any] | None = None, form: dict[str, Any] | None = None,
                   status: int = 200) -> Any:
    rows = followup.report(db.session(), c, followup.today(g.tenant))
    return render("cadre_evaluation/followup.html", c=c, rows=rows, errors=errors or {}, form=form or {},
                  action_labels=followup.ACTION_LABELS, source_labels=followup.SOURCE_LABELS,
                  item_state_labels=followup.ITEM_STATE_LABELS, max_mb=followup.MAX_DOCUMENT_BYTES // (1024 * 1024),
                  status=status, **_labels())


@bp.get("/campaigns/<int:campaign_id>/followup")
@require(MANAGE)
def followup_page(campaign_id: int) -> Any:
    return _followup_page(_campaign(campaign_id))


@bp.get("/campaigns/<int:campaign_id>/followup.xlsx")
@require(MANAGE)
def followup_xlsx(campaign_id: int) -> Any:
    c = _campaign(campaign_id)
    rows = followup.report(db.session(), c, followup.today(g.tenant))
    return download(followup.export_xlsx(c, rows, g.tenant.timezone), f"cadre-followup-{c.id}.xlsx")


def _target_campaign(target_id: int) -> tuple[Any, Any]:
    try:
        return followup.get_target(db.session(), target_id)
    except services.Refused as err:
        return _refuse(err)


def _after(c: Any, errors: dict[str, Any], status: int = 422) -> Any:
    db.session.rollback()
    return _followup_page(c, errors, dict(request.form), status)


@bp.post("/targets/<int:target_id>/actions")
@require(MANAGE)
def add_action(target_id: int) -> Any:
    c, _t = _target_campaign(target_id)
    uploads = [f for f in request.files.getlist("document") if f and f.filename]
    documents = [(f.filename or "", f.stream.read(followup.MAX_DOCUMENT_BYTES + 1)) for f in uploads[:5]]
    for f in request.files.getlist("document"):
        f.close()  # a large upload is spooled to a temporary file: give it back now
    data = {"kind": request.form.get("kind"), "taken_on": _date(request.form.get("taken_on", "")),
            "note": request.form.get("note", "")[:2000]}
    try:
        followup.add_action(db.session(), g.tenant, actor(), target_id, data, documents)
    except services.ServiceError as err:
        return _after(c, {k: [str(v)] for k, v in err.errors.items()})
    except services.Refused as err:
        return _after(c, {"_form": [err.message]}, err.status)
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("cadre_evaluation.followup_page", campaign_id=c.id))


@bp.post("/targets/<int:target_id>/items")
@require(MANAGE)
def add_item(target_id: int) -> Any:
    c, _t = _target_campaign(target_id)
    data = {"source": request.form.get("source"), "text": request.form.get("text", ""),
            "owner": request.form.get("owner", ""), "deadline": _date(request.form.get("deadline", ""))}
    if request.form.get("deadline") and data["deadline"] is None:
        return _after(c, {"deadline": [_("Not a valid date.")]})
    try:
        followup.add_item(db.session(), g.tenant, actor(), target_id, data)
    except services.ServiceError as err:
        return _after(c, {k: [str(v)] for k, v in err.errors.items()})
    except services.Refused as err:
        return _after(c, {"_form": [err.message]}, err.status)
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("cadre_evaluation.followup_page", campaign_id=c.id))


@bp.post("/items/<int:item_id>/done")
@require(MANAGE)
def item_done(item_id: int) -> Any:
    try:
        item = followup.get_item(db.session(), item_id)
        c = services.get_campaign(db.session(), item.campaign_id)
        followup.update_item(db.session(), g.tenant, actor(), item_id, {"state": "done"})
    except services.Refused as err:
        return _refuse(err)
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("cadre_evaluation.followup_page", campaign_id=c.id))


@bp.get("/documents/<int:document_id>")
@require(MANAGE)
def document(document_id: int) -> Any:
    try:
        doc = followup.get_document(db.session(), document_id)
    except services.Refused as err:
        return _refuse(err)
    return followup.document_response(doc)


# --- targets: import and photos ---------------------------------------------------------------------------


def _import_page(c: Any, status: int = 200, **context: Any) -> Any:
    return render("cadre_evaluation/import.html", c=c, columns=targets.COLUMNS, status=status, **context)


@bp.get("/campaigns/<int:campaign_id>/import")
@require(MANAGE)
def import_targets(campaign_id: int) -> Any:
    return _import_page(_campaign(campaign_id))


@bp.post("/campaigns/<int:campaign_id>/import")
@require(MANAGE)
def import_preview(campaign_id: int) -> Any:
    c = _campaign(campaign_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _import_page(c, 422, file_error=_("Choose a file to upload."))
    data = upload.stream.read(targets.TARGETS.max_bytes + 1)
    upload.close()
    context = targets.TargetsContext(g.tenant, actor(), filename=upload.filename[:200], campaign_id=c.id)
    try:
        checked, token = imports.preview(db.session(), targets.TARGETS, context, data, directory=staging_dir(),
                                         secret=current_app.config["SECRET_KEY"], user_id=g.user.id)
    except imports.ImportFileError as err:
        return _import_page(c, 422, file_error=err.message)
    finally:
        db.session.rollback()
    return _import_page(c, 200 if checked.ok else 422, checked=checked, token=token)


@bp.post("/campaigns/<int:campaign_id>/import/confirm")
@require(MANAGE)
def import_confirm(campaign_id: int) -> Any:
    c = _campaign(campaign_id)
    context = targets.TargetsContext(g.tenant, actor(), campaign_id=c.id)
    try:
        checked, summary = imports.confirm(db.session(), targets.TARGETS, context, request.form.get("token", ""),
                                           directory=staging_dir(), secret=current_app.config["SECRET_KEY"],
                                           user_id=g.user.id)
    except imports.ImportExpired:
        return _import_page(c, 422, file_error=_("This import has expired or was already used. Upload the file "
                                                 "again."))
    except services.ServiceError as err:
        db.session.rollback()
        return _import_page(c, 422, file_error=" ".join(map(str, err.errors.values())))
    except services.Refused as err:
        db.session.rollback()
        return _import_page(c, err.status, file_error=err.message)
    if summary is None:
        db.session.rollback()
        return _import_page(c, 422, checked=checked)
    db.session.commit()
    flash(_("%(n)s targets imported.", n=summary["targets"]), "success")
    return redirect(url_for("cadre_evaluation.campaign", campaign_id=c.id))


@bp.post("/targets/<int:target_id>/photo")
@require(MANAGE)
def target_photo(target_id: int) -> Any:
    c, _t = _target_campaign(target_id)
    upload = request.files.get("photo")
    data = upload.stream.read(targets.MAX_PHOTO_BYTES + 1) if upload is not None else b""
    if upload is not None:
        upload.close()
    try:
        targets.set_photo(db.session(), g.tenant, actor(), target_id, data)
    except services.ServiceError as err:
        db.session.rollback()
        flash(str(next(iter(err.errors.values()))), "error")
        return redirect(url_for("cadre_evaluation.campaign", campaign_id=c.id), 303)
    except services.Refused as err:
        return _refuse(err)
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("cadre_evaluation.campaign", campaign_id=c.id))


# --- the public side --------------------------------------------------------------------------------------


@bp.get("/c/<int:campaign_id>/targets")
def public_targets(campaign_id: int) -> Any:
    """评议对象公示: the targets with their photo, post and duties, from the list's publication on."""
    c = _campaign(campaign_id, public=True)
    return render("cadre_evaluation/public_targets.html", c=c, targets=services.list_targets(db.session(), c),
                  with_photo=targets.with_photo(db.session(), c), **_labels())


@bp.get("/c/<int:campaign_id>/targets/<int:target_id>/photo")
def public_photo(campaign_id: int, target_id: int) -> Any:
    c = _campaign(campaign_id, public=True)
    try:
        target, body = targets.photo(db.session(), target_id, thumb=request.args.get("size") == "thumb")
    except services.Refused as err:
        return _refuse(err)
    if target.campaign_id != c.id:
        abort(404)
    response = make_response(body)
    response.headers["Content-Type"] = "image/jpeg"
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.get("/c/<int:campaign_id>/results")
def public_results(campaign_id: int) -> Any:
    """评后公示: the results once the organiser publishes them; before, a page saying when they come."""
    c = _campaign(campaign_id, public=True)
    rows = results.shown_to(db.session(), None, c)  # the public's: once published (services.results_for)
    return render("cadre_evaluation/public_results.html", c=c, rows=rows,
                  areas=results.by_area(c, rows) if rows else [], chart=results.chart_of(rows),
                  **_labels())
