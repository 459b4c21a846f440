"""Pages of the roster (supervisors, their terms and certificates) and of the district's enterprises."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_smorest import abort

from blueprints.business_feedback import services
from blueprints.business_feedback.schemas import DismissalIn, EnterpriseIn, SupervisorIn, SupervisorPatch
from blueprints.business_feedback.services import base, enterprises, lists, roster
from blueprints.business_feedback.views import bp
from blueprints.business_feedback.web import actor
from saas import db
from saas.auth import require
from saas.pdf import pdf_response
from saas.rendering import render
from saas.schemas import load_form


def _form(keys: tuple[str, ...] = ()) -> dict[str, Any]:
    return {k: v for k, v in request.form.items() if k != "csrf_token" and (v != "" or k in keys)}


def _run(fn: Any, *args: Any) -> tuple[Any, dict[str, list[str]], int]:
    session = db.session()
    try:
        result = fn(session, g.tenant, actor(), *args)
    except services.ServiceError as err:
        session.rollback()
        return None, {k: [v] for k, v in err.errors.items()}, 422
    except services.Refused as err:
        session.rollback()
        if err.status == 404:
            abort(404, message=err.message)
        return None, {"_form": [err.message]}, err.status
    session.commit()
    return result, {}, 200


def _roster_page(form: dict[str, Any], errors: dict[str, list[str]], status: int = 200) -> Any:
    session = db.session()
    wanted = request.args.get("status") if request.args.get("status") in roster.STATUSES else None
    return render("business_feedback/supervisors.html", rows=roster.list_supervisors(session, g.tenant, wanted),
                  kinds=lists.list_kinds(session, active_only=True), groups=roster.SOURCE_GROUP_LABELS,
                  statuses=roster.STATUS_LABELS, wanted=wanted, form=form, errors=errors, status=status)


@bp.route("/supervisors", methods=["GET", "POST"])
@require("business_feedback.roster")
def supervisors() -> Any:
    if request.method == "GET":
        return _roster_page({}, {})
    data, errors = load_form(SupervisorIn(), _form(("kind_code", "source_group")))
    if data is None:
        return _roster_page(dict(request.form), errors, 422)
    sup, errors, status = _run(roster.appoint_supervisor, data)
    if errors:
        return _roster_page(dict(request.form), errors, status)
    flash(_("Supervisor appointed: certificate %(no)s.", no=sup.certificate_no), "success")
    return redirect(url_for("business_feedback.supervisors"))


def _one(supervisor_id: int) -> dict[str, Any]:
    session = db.session()
    try:
        sup = roster.get_supervisor(session, supervisor_id)
    except services.Refused as err:
        abort(404, message=err.message)
    return roster.supervisor_rows(session, [sup], base.today(session, g.tenant),
                                  base.settings(session)["expiry_reminder_days"])[0]


def _edit_page(supervisor_id: int, errors: dict[str, list[str]], form: dict[str, Any], status: int = 200) -> Any:
    session = db.session()
    return render("business_feedback/supervisor.html", row=_one(supervisor_id),
                  kinds=lists.list_kinds(session, active_only=True), groups=roster.SOURCE_GROUP_LABELS,
                  errors=errors, form=form, status=status)


@bp.route("/supervisors/<int:supervisor_id>", methods=["GET", "POST"])
@require("business_feedback.roster")
def supervisor_edit(supervisor_id: int) -> Any:
    if request.method == "GET":
        return _edit_page(supervisor_id, {}, {})
    data, errors = load_form(SupervisorPatch(), _form())
    status = 422
    if data is not None:
        _sup, errors, status = _run(roster.update_supervisor, supervisor_id, data)
        if not errors:
            flash(_("Saved."), "success")
            return redirect(url_for("business_feedback.supervisor_edit", supervisor_id=supervisor_id))
    return _edit_page(supervisor_id, errors, dict(request.form), status)


@bp.post("/supervisors/<int:supervisor_id>/dismiss")
@require("business_feedback.roster")
def supervisor_dismiss(supervisor_id: int) -> Any:
    data, errors = load_form(DismissalIn(), _form(("reason",)))
    status = 422
    if data is not None:
        _sup, errors, status = _run(roster.dismiss_supervisor, supervisor_id, data)
        if not errors:
            flash(_("Supervisor dismissed."), "success")
            return redirect(url_for("business_feedback.supervisor_edit", supervisor_id=supervisor_id))
    return _edit_page(supervisor_id, errors, dict(request.form), status)


def _certificates(rows: list[dict[str, Any]], title: str, pdf_url: str, pdf: bool = False) -> str:
    return render_template("business_feedback/certificate.html", rows=rows, title=title, pdf=pdf, pdf_url=pdf_url,
                           back=url_for("business_feedback.supervisors"))


@bp.get("/supervisors/<int:supervisor_id>/certificate")
@require("business_feedback.roster")
def certificate(supervisor_id: int) -> Any:
    """聘任证书: one certificate to print (A5 landscape)."""
    row = _one(supervisor_id)
    return _certificates([row], row["certificate_no"],
                         url_for("business_feedback.certificate_pdf", supervisor_id=supervisor_id))


@bp.get("/supervisors/<int:supervisor_id>/certificate.pdf")
@require("business_feedback.roster")
def certificate_pdf(supervisor_id: int) -> Any:
    row = _one(supervisor_id)
    html = _certificates([row], row["certificate_no"], "", pdf=True)
    return pdf_response(html, _("Appointment certificate %(no)s", no=row["certificate_no"]), str(row["id"]))


def _batch() -> tuple[str, list[dict[str, Any]]]:
    """The certificates of a batch (第一批; every batch when none is named), dismissed supervisors left out."""
    batch = (request.args.get("batch") or "").strip()[:40]
    rows = [r for r in roster.list_supervisors(db.session(), g.tenant)
            if r["status"] != "dismissed" and (not batch or r["batch"] == batch)]
    return batch, sorted(rows, key=lambda r: r["certificate_no"])


@bp.get("/supervisors/certificates")
@require("business_feedback.roster")
def certificates() -> Any:
    """A batch's certificates at once, one to a page."""
    batch, rows = _batch()
    return _certificates(rows, _("Appointment certificates %(batch)s", batch=batch),
                         url_for("business_feedback.certificates_pdf", batch=batch or None))


@bp.get("/supervisors/certificates.pdf")
@require("business_feedback.roster")
def certificates_pdf() -> Any:
    batch, rows = _batch()
    title = _("Appointment certificates %(batch)s", batch=batch)
    return pdf_response(_certificates(rows, title, "", pdf=True), title.strip(), "certificates")


def _enterprises_page(form: dict[str, Any], errors: dict[str, list[str]], status: int = 200) -> Any:
    session = db.session()
    q = (request.args.get("q") or "").strip()[:100] or None
    return render("business_feedback/enterprises.html",
                  rows=enterprises.enterprise_rows(session, enterprises.list_enterprises(session, q)),
                  q=q or "", form=form, errors=errors, status=status)


@bp.route("/enterprises", methods=["GET", "POST"])
@require("business_feedback.enterprises")
def enterprises_page() -> Any:
    if request.method == "GET":
        return _enterprises_page({}, {})
    data, errors = load_form(EnterpriseIn(), _form(("name", "credit_code")))
    if data is None:
        return _enterprises_page(dict(request.form), errors, 422)
    row, errors, status = _run(enterprises.add_enterprise, data)
    if errors:
        return _enterprises_page(dict(request.form), errors, status)
    flash(_("Enterprise %(name)s registered.", name=row.name), "success")
    return redirect(url_for("business_feedback.enterprises_page"))
