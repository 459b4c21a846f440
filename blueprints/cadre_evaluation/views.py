"""Cadre evaluation's pages under /t/<tenant>/cadre_evaluation/: the organiser's campaigns (set-up, open, close,
publish, participation, results) and the public campaign page where a citizen verifies their phone by code and
rates the targets they know, then checks their receipt. Every view calls the services the JSON API calls."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_smorest import abort

from blueprints.cadre_evaluation import services
from blueprints.cadre_evaluation.schemas import (
    CadreCampaignPatch,
    CadreCodeRequest,
    CadreReceiptIn,
    CadreTargetIn,
    CadreVerifiedPhone,
)
from blueprints.cadre_evaluation.web import actor
from saas import auth, db, throttle
from saas.auth import require
from saas.rendering import render
from saas.schemas import load_form
from saas.workdays import zone

bp = Blueprint("cadre_evaluation", __name__, template_folder="templates")
MANAGE = "cadre_evaluation.manage"


def _refuse(err: services.Refused) -> Any:
    db.session.rollback()
    abort(err.status, message=err.message)


def _campaign(campaign_id: int, *, public: bool = False) -> Any:
    try:
        campaign = services.get_campaign(db.session(), campaign_id)
    except services.Refused as err:
        return _refuse(err)
    if public and campaign.state == "draft":
        abort(404)
    return campaign


def _labels() -> dict[str, Any]:
    return {"state_labels": services.STATE_LABELS, "channel_labels": services.CHANNEL_LABELS}


# --- the organiser ------------------------------------------------------------------------------------------


@bp.get("/")
@require(MANAGE)
def home() -> Any:
    return render("cadre_evaluation/home.html", campaigns=services.list_campaigns(db.session()), form={},
                  errors={}, **_labels())


def _campaign_form() -> dict[str, Any]:
    raw: dict[str, Any] = {k: request.form.get(k, "") for k in ("name", "period_start", "period_end")
                           if request.form.get(k)}
    if request.form.get("min_ballots"):
        raw["min_ballots"] = request.form["min_ballots"]
    if any(request.form.get(f"w_{c}") for c in ("onsite", "online", "department")):
        raw["channel_weights"] = {c: request.form.get(f"w_{c}", "") for c in ("onsite", "online", "department")}
    for key in services.TIMES:  # the schedule: district time from the page; an emptied time is taken away
        if key in request.form:
            raw[key] = _district_time(request.form[key])
    return raw


def _district_time(value: str) -> str | None:
    """A `datetime-local` value (no zone) read as the district's time; what does not parse goes on to the schema,
    which refuses it in the user's language."""
    if not value.strip():
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return value
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone(g.tenant.timezone))).isoformat()


@bp.post("/campaigns")
@require(MANAGE)
def new_campaign() -> Any:
    data, errors = load_form(CadreCampaignPatch(), _campaign_form())
    if data is not None:
        missing = [k for k in ("name", "period_start", "period_end") if not data.get(k)]
        errors = {k: [_("This field is required.")] for k in missing}
    if not errors and data is not None:
        try:
            campaign = services.create_campaign(db.session(), g.tenant, actor(), data)
        except services.ServiceError as err:
            db.session.rollback()
            errors = {k: [str(v)] for k, v in err.errors.items()}
        else:
            db.session.commit()
            return redirect(url_for("cadre_evaluation.campaign", campaign_id=campaign.id))
    return render("cadre_evaluation/home.html", campaigns=services.list_campaigns(db.session()),
                  form=dict(request.form), errors=errors, status=422, **_labels())


def _manage_page(campaign: Any, errors: dict[str, Any] | None = None, form: dict[str, Any] | None = None,
                 status: int = 200) -> Any:
    session = db.session()
    results = services.tally(session, campaign) if campaign.state in ("closed", "published") else None
    return render("cadre_evaluation/campaign.html", c=campaign, targets=services.list_targets(session, campaign),
                  counts=services.participation(session, campaign), results=results, errors=errors or {},
                  form=form or {}, status=status, **_labels())


@bp.get("/campaigns/<int:campaign_id>")
@require(MANAGE)
def campaign(campaign_id: int) -> Any:
    return _manage_page(_campaign(campaign_id))


@bp.post("/campaigns/<int:campaign_id>/settings")
@require(MANAGE)
def save_campaign(campaign_id: int) -> Any:
    c = _campaign(campaign_id)
    data, errors = load_form(CadreCampaignPatch(), _campaign_form())
    if data is not None:
        try:
            services.update_campaign(db.session(), g.tenant, actor(), campaign_id, data)
        except services.ServiceError as err:
            db.session.rollback()
            errors = {k: [str(v)] for k, v in err.errors.items()}
        except services.Refused as err:
            db.session.rollback()
            errors = {"_form": [err.message]}
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("cadre_evaluation.campaign", campaign_id=campaign_id))
    return _manage_page(c, errors, dict(request.form), 422)


@bp.post("/campaigns/<int:campaign_id>/targets")
@require(MANAGE)
def add_target(campaign_id: int) -> Any:
    c = _campaign(campaign_id)
    data, errors = load_form(CadreTargetIn(), {k: request.form.get(k, "") for k in services.TARGET_FIELDS})
    if data is not None:
        try:
            services.add_target(db.session(), g.tenant, actor(), campaign_id, data)
        except services.ServiceError as err:
            db.session.rollback()
            errors = {k: [str(v)] for k, v in err.errors.items()}
        except services.Refused as err:
            db.session.rollback()
            errors = {"_form": [err.message]}
        else:
            db.session.commit()
            return redirect(url_for("cadre_evaluation.campaign", campaign_id=campaign_id))
    return _manage_page(c, errors, dict(request.form), 422)


@bp.post("/campaigns/<int:campaign_id>/<any(announce, open, close, publish, followup):action>")
@require(MANAGE)
def step(campaign_id: int, action: str) -> Any:
    c = _campaign(campaign_id)
    try:
        services.transition(db.session(), g.tenant, actor(), campaign_id, action)
    except services.Refused as err:
        db.session.rollback()
        return _manage_page(c, {"_form": [err.message]}, status=err.status)
    db.session.commit()
    flash(_("The campaign is now: %(state)s.", state=services.STATE_LABELS[c.state]), "success")
    return redirect(url_for("cadre_evaluation.campaign", campaign_id=campaign_id))


# --- the public side ----------------------------------------------------------------------------------------


@bp.get("/public")
def public_list() -> Any:
    """The district's campaigns that are open or done (a district's door)."""
    return render("cadre_evaluation/public_list.html", campaigns=services.list_campaigns(db.session(), public=True),
                  **_labels())


def _public_page(c: Any, *, form: dict[str, Any] | None = None, errors: dict[str, Any] | None = None,
                 receipt: str | None = None, receipt_state: str | None = None, sent: bool = False,
                 wait: int | None = None, status: int = 200, block: str | None = None) -> Any:
    session = db.session()
    results = services.tally(session, c) if c.state == "published" else None
    counts = services.participation(session, c) if c.state == "open" else None
    from blueprints.cadre_evaluation import channels

    pow_challenge = channels.challenge_for(session, c) if c.state == "open" else None
    return render("cadre_evaluation/public.html", pow=pow_challenge, block=block, c=c,
                  targets=services.list_targets(session, c), counts=counts, results=results, form=form or {},
                  errors=errors or {}, receipt=receipt, receipt_state=receipt_state, sent=sent, wait=wait,
                  status=status, **_labels())


@bp.get("/c/<int:campaign_id>")
def public(campaign_id: int) -> Any:
    """A campaign's public page: its targets (评议对象公示), the rating form while open, results once published."""
    return _public_page(_campaign(campaign_id, public=True))


def _code_refused(wait: int) -> Any:
    """The form's code line again, saying that no code went out and how long to wait."""
    c = _campaign(request.view_args["campaign_id"], public=True) if request.view_args else abort(404)
    return _public_page(c, form={"phone": request.form.get("phone", "")},
                        errors={"phone": [throttle.too_many_codes(wait)]}, wait=wait, status=429, block="code")


@bp.post("/c/<int:campaign_id>/code")
@throttle.code_send_limits(_code_refused)
def send_code(campaign_id: int) -> Any:
    """Send the six-digit code for the rating form; answers the form's code line."""
    c = _campaign(campaign_id, public=True)
    data, errors = load_form(CadreCodeRequest(), {"phone": request.form.get("phone", "")})
    sent = False
    if data is not None:
        # the same answer for every number, a staff one included (which gets no code): see send_phone_code
        auth.send_phone_code(data["phone"])
        db.session.commit()
        sent = True
    return _public_page(c, form={"phone": request.form.get("phone", "")}, errors=errors, sent=sent,
                        status=422 if errors else 200, block="code")


def _ratings_from_form(c: Any) -> dict[str, dict[str, str]]:
    ratings: dict[str, dict[str, str]] = {}
    for key, value in request.form.items():
        if key.startswith("r-") and value:
            _prefix, target_id, dimension = [*key.split("-", 2), "", ""][:3]
            ratings.setdefault(target_id, {})[dimension] = value
    return ratings


@bp.post("/c/<int:campaign_id>/rate")
@throttle.code_check_limits
@throttle.keyed_limits("BALLOT_BOX_RATE_LIMIT", throttle.view_arg_key("cadre-box", "campaign_id"))
def rate(campaign_id: int) -> Any:
    """Submit a ballot: the phone is verified by its code in the same form; one ballot per person and target."""
    c = _campaign(campaign_id, public=True)
    form = dict(request.form)
    status: int | None = None
    verified, errors = load_form(CadreVerifiedPhone(), {k: request.form.get(k, "") for k in ("phone", "code")})
    if verified is not None:
        try:
            services.check_open(c)
            services.check_ratings(c, services.list_targets(db.session(), c), _ratings_from_form(c))
        except services.ServiceError as err:
            errors = {k: [str(v)] for k, v in err.errors.items()}
        except services.Refused as err:
            errors = {"_form": [err.message]}
        else:
            # a staff number was sent no code (saas.auth.send_phone_code), so its code is always wrong
            if auth.find_staff(verified["phone"]) is not None or not auth.check_phone_code(
                    verified["phone"], verified["code"]):
                auth.record_refused("auth.code_failed", None, phone=verified["phone"])
                db.session.commit()  # keep the count of wrong tries; nothing else was written
                errors["code"] = [_("The code is wrong or has expired.")]
    if not errors and verified is not None:
        try:
            from blueprints.cadre_evaluation import channels, views_channels

            code = channels.submit_online_ballot(
                db.session(), g.tenant, c.id, phone=verified["phone"], ratings=_ratings_from_form(c),
                opinions=views_channels.opinions_from_form(), challenge=request.form.get("pow_challenge", ""),
                answer=request.form.get("pow", ""), address=request.remote_addr)
        except services.ServiceError as err:
            db.session.rollback()
            errors = {k: [str(v)] for k, v in err.errors.items()}
        except services.Refused as err:
            db.session.rollback()
            errors = {"_form": [err.message]}
            status = err.status
        else:
            db.session.commit()
            # a transaction of its own, apart from the ledger's: see services.move_ballots
            services.move_ballots(db.session(), c)
            db.session.commit()
            return render("cadre_evaluation/thanks.html", c=c, receipt=code)
    form.pop("code", None)
    form.pop("pow", None)
    return _public_page(c, form=form, errors=errors, status=status or (409 if "_form" in errors else 422))


@bp.route("/c/<int:campaign_id>/receipt", methods=["GET", "POST"])
@throttle.address_limits
def receipt(campaign_id: int) -> Any:
    """Check a receipt code: says whether that ballot was counted, and nothing else."""
    c = _campaign(campaign_id, public=True)
    state: str | None = None
    errors: dict[str, Any] = {}
    if request.method == "POST":
        data, errors = load_form(CadreReceiptIn(), {"receipt": request.form.get("receipt", "")})
        if data is not None:
            state = services.check_receipt(db.session(), c.id, data["receipt"]) or "unknown"
    return render("cadre_evaluation/receipt.html", c=c, state=state, errors=errors,
                  form={"receipt": request.form.get("receipt", "")}, status=422 if errors else 200)


from blueprints.cadre_evaluation import views_channels, views_results  # noqa: E402,F401  (the channels' and results' pages join this blueprint)
