"""Cadre evaluation's channel pages (on the module's blueprint): the organiser's rater groups, seat codes,
invitations, paper ballots and opinions; the rater's pages behind a seat code or an invitation; the department
rater's form. Every view calls `channels`, which the JSON API calls too.

A seat code's or an invitation's page has the code in its path (it is what the printed QR code opens); like
the kernel's set-password links, such a page is limited per address, the code is single-use and stored only as a
hash, and the pages send no Referer off the site (the kernel's Referrer-Policy: same-origin).
"""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_smorest import abort

from blueprints.cadre_evaluation import channels, services
from blueprints.cadre_evaluation.schemas import CadreVerifiedPhone
from blueprints.cadre_evaluation.schemas_channels import CadreGroupIn, CadreInvitationsIn, CadreSeatsIn, CadreSheetIn
from blueprints.cadre_evaluation.views import _campaign, _labels, _ratings_from_form, bp
from blueprints.cadre_evaluation.web import actor, phone_verified
from saas import db, qr, throttle
from saas.auth import require
from saas.pdf import pdf_response
from saas.rendering import render
from saas.schemas import load_form

MANAGE = services.MANAGE
box_limits = throttle.keyed_limits("BALLOT_BOX_RATE_LIMIT", throttle.view_arg_key("cadre-box", "campaign_id"))


def opinions_from_form() -> dict[str, str]:
    return {key[2:]: value for key, value in request.form.items() if key.startswith("o-") and value.strip()}


def _errors(err: Exception) -> dict[str, list[str]]:
    db.session.rollback()
    if isinstance(err, services.ServiceError):
        return {k: [str(v)] for k, v in err.errors.items()}
    assert isinstance(err, services.Refused)
    return {"_form": [err.message]}


# --- the organiser ----------------------------------------------------------------------------------------------


def _channels_page(c: Any, *, errors: dict[str, Any] | None = None, form: dict[str, Any] | None = None,
                   status: int = 200) -> Any:
    session = db.session()
    return render("cadre_evaluation/channels.html", c=c, groups=channels.list_groups(session, c),
                  batches=channels.seat_batches(session, c), sheets=channels.list_sheets(session, c),
                  targets=services.list_targets(session, c), errors=errors or {}, form=form or {},
                  default_hours=services.settings(session)["seat_hours"], status=status, **_labels())


@bp.get("/campaigns/<int:campaign_id>/channels")
@require(MANAGE)
def channel_setup(campaign_id: int) -> Any:
    """Rater groups, seat codes, invitations and paper ballots of a campaign."""
    return _channels_page(_campaign(campaign_id))


@bp.post("/campaigns/<int:campaign_id>/groups")
@require(MANAGE)
def add_group(campaign_id: int) -> Any:
    c = _campaign(campaign_id)
    data, errors = load_form(CadreGroupIn(), {k: request.form.get(k, "") for k in ("name", "channel", "cap")
                                              if request.form.get(k, "") != "" or k != "cap"})
    if data is not None:
        try:
            channels.add_group(db.session(), g.tenant, actor(), campaign_id, data)
        except (services.ServiceError, services.Refused) as err:
            errors = _errors(err)
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("cadre_evaluation.channel_setup", campaign_id=campaign_id))
    return _channels_page(c, errors=errors, form=dict(request.form), status=422)


def _seat_url(c: Any, code: str) -> str:
    return url_for("cadre_evaluation.seat", campaign_id=c.id, code=code, _external=True)


@bp.post("/campaigns/<int:campaign_id>/seats")
@require(MANAGE)
def issue_seats(campaign_id: int) -> Any:
    """Make a batch of seat codes and answer with their printable sheet: the codes are never shown again."""
    c = _campaign(campaign_id)
    data, errors = load_form(CadreSeatsIn(), {k: request.form.get(k, "") for k in ("count", "group_id", "hours")
                                              if request.form.get(k, "") != ""})
    if data is not None:
        try:
            made = channels.issue_seat_codes(db.session(), g.tenant, actor(), campaign_id, data["count"],
                                             data.get("group_id"), data.get("hours") or
                                             services.settings(db.session())["seat_hours"])
        except (services.ServiceError, services.Refused) as err:
            errors = _errors(err)
        else:
            db.session.commit()
            items = [{**m, "url": _seat_url(c, m["code"]), "qr": qr.qr_svg_data_uri(_seat_url(c, m["code"]))}
                     for m in made]
            return _codes_sheet("cadre_evaluation/seats_print.html", c, items,
                                _("Seat codes of %(name)s", name=c.name), f"seats-{c.id}")
    return _channels_page(c, errors=errors, form=dict(request.form), status=422)


def _codes_sheet(template: str, c: Any, items: list[dict[str, Any]], title: str, fallback: str) -> Any:
    """The codes just made, the only time they exist in clear: as the print view, or as a PDF when the organiser
    pressed the PDF button (`as=pdf`); neither is kept in a cache."""
    if request.form.get("as") == "pdf":
        response = pdf_response(render_template(template, c=c, items=items, pdf=True), title, fallback)
    else:
        response = render(template, c=c, items=items)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/campaigns/<int:campaign_id>/invitations")
@require(MANAGE)
def issue_invitations(campaign_id: int) -> Any:
    """Invite the listed phones of an online group; answers with the printable invitations, shown only now."""
    c = _campaign(campaign_id)
    phones = [line.strip() for line in request.form.get("phones", "").splitlines() if line.strip()]
    data, errors = load_form(CadreInvitationsIn(), {"group_id": request.form.get("group_id", ""), "phones": phones})
    if data is not None:
        try:
            made = channels.issue_invitations(db.session(), g.tenant, actor(), campaign_id, data["group_id"],
                                              data["phones"])
        except (services.ServiceError, services.Refused) as err:
            errors = _errors(err)
        else:
            db.session.commit()
            items = [{**m, "url": url_for("cadre_evaluation.invited", campaign_id=c.id, token=m["token"],
                                          _external=True)} for m in made]
            for item in items:
                item["qr"] = qr.qr_svg_data_uri(item["url"])
            return _codes_sheet("cadre_evaluation/invitations_print.html", c, items,
                                _("Invitations to %(name)s", name=c.name), f"invitations-{c.id}")
    return _channels_page(c, errors=errors, form=dict(request.form), status=422)


@bp.post("/campaigns/<int:campaign_id>/sheets")
@require(MANAGE)
def enter_sheet(campaign_id: int) -> Any:
    """Enter a paper ballot from the meeting (no rater identity)."""
    c = _campaign(campaign_id)
    data, errors = load_form(CadreSheetIn(), {"number": request.form.get("number", "")})
    if data is not None:
        try:
            channels.enter_sheet(db.session(), g.tenant, actor(), campaign_id, data["number"],
                                 _ratings_from_form(c), opinions_from_form())
        except (services.ServiceError, services.Refused) as err:
            errors = _errors(err)
        else:
            db.session.commit()
            flash(_("Paper ballot %(number)s entered.", number=data["number"]), "success")
            return redirect(url_for("cadre_evaluation.channel_setup", campaign_id=campaign_id) + "#sheets")
    return _channels_page(c, errors=errors, form=dict(request.form), status=409 if "_form" in errors else 422)


def _sheet(c: Any, sheet_id: int) -> Any:
    sheet = next((s for s in channels.list_sheets(db.session(), c) if s.id == sheet_id), None)
    if sheet is None:
        abort(404)
    return sheet


@bp.route("/campaigns/<int:campaign_id>/sheets/<int:sheet_id>", methods=["GET", "POST"])
@require(MANAGE)
def correct_sheet(campaign_id: int, sheet_id: int) -> Any:
    """Correct a paper ballot: it is voided and replaced (both in the audit log), never edited."""
    c = _campaign(campaign_id)
    sheet = _sheet(c, sheet_id)
    errors: dict[str, Any] = {}
    form: dict[str, Any] = {f"r-{t}-{d}": lv for t, levels in sheet.ratings.items() for d, lv in levels.items()}
    form |= {f"o-{t}": text for t, text in (sheet.opinions or {}).items()}
    if request.method == "POST":
        form = dict(request.form)
        try:
            channels.correct_sheet(db.session(), g.tenant, actor(), campaign_id, sheet_id, _ratings_from_form(c),
                                   opinions_from_form())
        except (services.ServiceError, services.Refused) as err:
            errors = _errors(err)
        else:
            db.session.commit()
            flash(_("Paper ballot %(number)s corrected: the old entry is void.", number=sheet.number), "success")
            return redirect(url_for("cadre_evaluation.channel_setup", campaign_id=campaign_id) + "#sheets")
    return render("cadre_evaluation/sheet.html", c=c, sheet=sheet, targets=services.list_targets(db.session(), c),
                  form=form, errors=errors, status=(409 if "_form" in errors else 422) if errors else 200,
                  **_labels())


@bp.get("/campaigns/<int:campaign_id>/opinions")
@require(channels.SEE_OPINIONS)
def opinions(campaign_id: int) -> Any:
    """Raters' opinions, without who wrote them: all for the organiser, a department's own targets for it."""
    c = _campaign(campaign_id)
    try:
        rows = channels.opinions_for(db.session(), actor(), campaign_id)
    except services.Refused as err:
        db.session.rollback()
        abort(err.status, message=err.message)
    return render("cadre_evaluation/opinions.html", c=c, rows=rows, may_manage=actor().may(services.MANAGE),
                  **_labels())


@bp.post("/campaigns/<int:campaign_id>/opinions/<int:opinion_id>/item")
@require(services.MANAGE)
def opinion_item(campaign_id: int, opinion_id: int) -> Any:
    """The organiser turns an opinion into a rectification item of its target."""
    _campaign(campaign_id)
    try:
        channels.item_from_opinion(db.session(), g.tenant, actor(), opinion_id)
    except services.Refused as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect(url_for("cadre_evaluation.opinions", campaign_id=campaign_id), 303)
    except services.ServiceError as err:
        db.session.rollback()
        flash("；".join(str(v) for v in err.errors.values()), "error")
        return redirect(url_for("cadre_evaluation.opinions", campaign_id=campaign_id), 303)
    db.session.commit()
    flash(_("The opinion is now a rectification item of its target."), "success")
    return redirect(url_for("cadre_evaluation.followup_page", campaign_id=campaign_id), 303)


# --- on site: a seat's page ----------------------------------------------------------------------------------


def _seat_page(c: Any, code: str, *, form: dict[str, Any] | None = None, errors: dict[str, Any] | None = None,
               refused: str | None = None, sent: bool = False, wait: int | None = None, status: int = 200,
               block: str | None = None) -> Any:
    return render("cadre_evaluation/seat.html", c=c, code=code, targets=services.list_targets(db.session(), c),
                  form=form or {}, errors=errors or {}, refused=refused, sent=sent, wait=wait, status=status,
                  block=block, send_url=url_for("cadre_evaluation.send_code", campaign_id=c.id), **_labels())


@bp.get("/c/<int:campaign_id>/seat/<code>")
@throttle.address_limits
def seat(campaign_id: int, code: str) -> Any:
    """What a seat's QR code opens: the rating form, or why the code cannot rate (unknown, spent, expired)."""
    c = _campaign(campaign_id, public=True)
    try:
        services.check_open(c)
        channels.find_seat(db.session(), c, code)
    except services.Refused as err:
        db.session.rollback()
        return _seat_page(c, code, refused=err.message, status=err.status)
    return _seat_page(c, code)


@bp.post("/c/<int:campaign_id>/seat/<code>")
@throttle.address_limits
@throttle.code_check_limits
@box_limits
def rate_seat(campaign_id: int, code: str) -> Any:
    """Rate from a seat: the phone is verified by its code; the seat is spent by the ballot."""
    c = _campaign(campaign_id, public=True)
    form = dict(request.form)
    verified, errors = load_form(CadreVerifiedPhone(), {k: request.form.get(k, "") for k in ("phone", "code")})
    if verified is not None:
        try:
            services.check_open(c)
            channels.find_seat(db.session(), c, code)
            services.check_ratings(c, services.list_targets(db.session(), c), _ratings_from_form(c))
        except services.ServiceError as err:
            errors = _errors(err)
        except services.Refused as err:
            db.session.rollback()
            return _seat_page(c, code, refused=err.message, status=err.status)
        else:
            if not phone_verified(verified["phone"], verified["code"]):
                db.session.commit()  # keep the count of wrong tries; nothing else was written
                errors["code"] = [_("The code is wrong or has expired.")]
    if not errors and verified is not None:
        try:
            receipt = channels.submit_seat_ballot(db.session(), g.tenant, c.id, code, verified["phone"],
                                                  _ratings_from_form(c), opinions_from_form())
        except (services.ServiceError, services.Refused) as err:
            errors = _errors(err)
        else:
            db.session.commit()
            services.move_ballots(db.session(), c)  # a transaction of its own (services.move_ballots)
            db.session.commit()
            return render("cadre_evaluation/thanks.html", c=c, receipt=receipt)
    form.pop("code", None)
    return _seat_page(c, code, form=form, errors=errors, status=409 if "_form" in errors else 422)


# --- online by invitation ------------------------------------------------------------------------------------


def _invited_page(c: Any, token: str, *, form: dict[str, Any] | None = None, errors: dict[str, Any] | None = None,
                  refused: str | None = None, status: int = 200) -> Any:
    session = db.session()
    return render("cadre_evaluation/invited.html", c=c, token=token, targets=services.list_targets(session, c),
                  form=form or {}, errors=errors or {}, refused=refused, status=status,
                  pow=channels.challenge_for(session, c), **_labels())


@bp.get("/c/<int:campaign_id>/invited/<token>")
@throttle.address_limits
def invited(campaign_id: int, token: str) -> Any:
    """What an invitation opens: the rating form for the invited person (no phone code needed)."""
    c = _campaign(campaign_id, public=True)
    try:
        services.check_open(c)
        channels.find_invitation(db.session(), c, token)
    except services.Refused as err:
        db.session.rollback()
        return _invited_page(c, token, refused=err.message, status=err.status)
    return _invited_page(c, token)


@bp.post("/c/<int:campaign_id>/invited/<token>")
@throttle.address_limits
@box_limits
def rate_invited(campaign_id: int, token: str) -> Any:
    c = _campaign(campaign_id, public=True)
    try:
        receipt = channels.submit_online_ballot(
            db.session(), g.tenant, c.id, token=token, ratings=_ratings_from_form(c), opinions=opinions_from_form(),
            challenge=request.form.get("pow_challenge", ""), answer=request.form.get("pow", ""),
            address=request.remote_addr)
    except (services.ServiceError, services.Refused) as err:
        return _invited_page(c, token, form=dict(request.form), errors=_errors(err),
                             status=getattr(err, "status", 422) if isinstance(err, services.Refused) else 422)
    db.session.commit()
    services.move_ballots(db.session(), c)
    db.session.commit()
    return render("cadre_evaluation/thanks.html", c=c, receipt=receipt)


# --- departmental ---------------------------------------------------------------------------------------------


@bp.get("/department")
@require(channels.RATE_DEPARTMENT)
def department_home() -> Any:
    """The open campaigns a department rater may score."""
    campaigns = [c for c in services.list_campaigns(db.session(), public=True) if c.state == "open"]
    return render("cadre_evaluation/department_home.html", campaigns=campaigns, **_labels())


def _department_page(c: Any, *, form: dict[str, Any] | None = None, errors: dict[str, Any] | None = None,
                     status: int = 200) -> Any:
    session = db.session()
    targets = services.list_targets(session, c)
    done = channels.rated_by(session, c, channels.department_key(c, actor()))
    return render("cadre_evaluation/department.html", c=c, targets=[t for t in targets if t.id not in done],
                  done=[t for t in targets if t.id in done],
                  figures=channels.department_figures(session, actor(), c, targets),
                  form=form or {}, errors=errors or {}, status=status, **_labels())


@bp.get("/department/<int:campaign_id>")
@require(channels.RATE_DEPARTMENT)
def department(campaign_id: int) -> Any:
    c = _campaign(campaign_id, public=True)
    return _department_page(c)


@bp.post("/department/<int:campaign_id>")
@require(channels.RATE_DEPARTMENT)
def rate_department(campaign_id: int) -> Any:
    c = _campaign(campaign_id, public=True)
    try:
        receipt = channels.submit_department_ballot(db.session(), g.tenant, actor(), c.id, _ratings_from_form(c),
                                                    opinions_from_form())
    except (services.ServiceError, services.Refused) as err:
        errors = _errors(err)
        return _department_page(c, form=dict(request.form), errors=errors,
                                status=409 if "_form" in errors else 422)
    db.session.commit()
    services.move_ballots(db.session(), c)
    db.session.commit()
    return render("cadre_evaluation/thanks.html", c=c, receipt=receipt)



