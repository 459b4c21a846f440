"""Cadre evaluation's channels in the JSON API (on the module's `blp`): the organiser's rater groups, seat codes,
invitations, paper ballots and opinions; the raters' ballots online, from a seat and from a department, and the
proof-of-work challenge an online ballot carries. Every operation calls `channels`, as the pages do.

Like every district route of the API, the raters' operations need a token (the kernel's rule); the ballot is
still the person's named in it (their phone and its code, or their invitation), not the token's holder's, so an
app may cast ballots for the people using it, each once and each with a solved challenge."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g, request, url_for
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import abort

from blueprints.cadre_evaluation import channels, services
from blueprints.cadre_evaluation.api import blp
from blueprints.cadre_evaluation.schemas import CadreCodeRequest
from blueprints.cadre_evaluation.schemas_channels import (
    CadreChallengeOut,
    CadreDepartmentBallotIn,
    CadreGroupIn,
    CadreGroupOut,
    CadreInvitationOut,
    CadreInvitationsIn,
    CadreOnlineBallotIn,
    CadreReceiptOut,
    CadreSeatBallotIn,
    CadreSeatOut,
    CadreSeatsIn,
    CadreSheetBallotIn,
    CadreSheetCorrectionIn,
    CadreSheetOut,
    CadreTargetOpinionsOut,
)
from blueprints.cadre_evaluation.web import actor, answering, phone_verified
from saas import auth, db, throttle
from saas.auth import require
from saas.schemas import Schema

MANAGE = services.MANAGE
box_limits = throttle.keyed_limits("BALLOT_BOX_RATE_LIMIT", throttle.view_arg_key("cadre-box", "campaign_id"))


class CadreGroupPage(Schema):
    items = ma.fields.List(ma.fields.Nested(CadreGroupOut))


class CadreSeatPage(Schema):
    items = ma.fields.List(ma.fields.Nested(CadreSeatOut))


class CadreInvitationPage(Schema):
    items = ma.fields.List(ma.fields.Nested(CadreInvitationOut))


class CadreSheetPage(Schema):
    items = ma.fields.List(ma.fields.Nested(CadreSheetOut))


class CadreOpinionPage(Schema):
    items = ma.fields.List(ma.fields.Nested(CadreTargetOpinionsOut))


class CadreCodeSent(Schema):
    sent = ma.fields.Boolean()


def _public_campaign(campaign_id: int) -> Any:
    with answering(commit=False):
        campaign = services.get_campaign(db.session(), campaign_id)
    if campaign.state == "draft":
        abort(404, message=_("No such campaign."))
    return campaign


@blp.route("/campaigns/<int:campaign_id>/groups")
class CadreGroups(MethodView):
    @blp.response(200, CadreGroupPage)
    @require(MANAGE)
    def get(self, campaign_id: int) -> dict[str, Any]:
        """The campaign's rater groups with how many codes or invitations each was given"""
        with answering(commit=False):
            campaign = services.get_campaign(db.session(), campaign_id)
            rows = channels.list_groups(db.session(), campaign)
        return {"items": [{"id": r["group"].id, "name": r["group"].name, "channel": r["group"].channel,
                           "cap": r["group"].cap, "issued": r["issued"]} for r in rows]}

    @blp.arguments(CadreGroupIn)
    @blp.response(201, CadreGroupOut)
    @blp.alt_response(409, description="The rating has closed")
    @require(MANAGE)
    def post(self, data: dict[str, Any], campaign_id: int) -> Any:
        """Add a rater group (企业代表, 党风政风观测员, 特约监督员…) to a channel, with an optional cap"""
        with answering():
            group = channels.add_group(db.session(), g.tenant, actor(), campaign_id, data)
            out = {"id": group.id, "name": group.name, "channel": group.channel, "cap": group.cap, "issued": 0}
        return out


@blp.route("/campaigns/<int:campaign_id>/seat-codes")
class CadreSeatCodes(MethodView):
    @blp.arguments(CadreSeatsIn)
    @blp.response(201, CadreSeatPage)
    @blp.alt_response(409, description="The rating has closed")
    @require(MANAGE)
    def post(self, data: dict[str, Any], campaign_id: int) -> dict[str, Any]:
        """Make a batch of single-use seat codes; the codes are in this answer only (only their hashes are kept)"""
        with answering():
            made = channels.issue_seat_codes(db.session(), g.tenant, actor(), campaign_id, data["count"],
                                             data.get("group_id"), data.get("hours") or
                                             services.settings(db.session())["seat_hours"])
        return {"items": [{**m, "url": url_for("cadre_evaluation.seat", campaign_id=campaign_id, code=m["code"],
                                               _external=True)} for m in made]}


@blp.route("/campaigns/<int:campaign_id>/invitations")
class CadreInvitations(MethodView):
    @blp.arguments(CadreInvitationsIn)
    @blp.response(201, CadreInvitationPage)
    @blp.alt_response(409, description="The rating has closed")
    @require(MANAGE)
    def post(self, data: dict[str, Any], campaign_id: int) -> dict[str, Any]:
        """Invite phones of an online group; the tokens are in this answer only (only their hashes are kept)"""
        with answering():
            made = channels.issue_invitations(db.session(), g.tenant, actor(), campaign_id, data["group_id"],
                                              data["phones"])
        return {"items": [{**m, "url": url_for("cadre_evaluation.invited", campaign_id=campaign_id,
                                               token=m["token"], _external=True)} for m in made]}


@blp.route("/campaigns/<int:campaign_id>/paper-ballots")
class CadrePaperBallots(MethodView):
    @blp.response(200, CadreSheetPage)
    @require(MANAGE)
    def get(self, campaign_id: int) -> dict[str, Any]:
        """The paper ballots entered, voided ones included (newest first)"""
        with answering(commit=False):
            campaign = services.get_campaign(db.session(), campaign_id)
            items = channels.list_sheets(db.session(), campaign)
        return {"items": items}

    @blp.arguments(CadreSheetBallotIn)
    @blp.response(201, CadreSheetOut)
    @blp.alt_response(409, description="The rating is not open")
    @require(MANAGE)
    def post(self, data: dict[str, Any], campaign_id: int) -> Any:
        """Enter a paper ballot from the meeting (no rater identity; audited)"""
        with answering():
            sheet = channels.enter_sheet(db.session(), g.tenant, actor(), campaign_id, data["number"],
                                         data["ratings"], data["opinions"])
        return sheet


@blp.route("/campaigns/<int:campaign_id>/paper-ballots/<int:sheet_id>")
class CadrePaperBallotById(MethodView):
    @blp.arguments(CadreSheetCorrectionIn)
    @blp.response(200, CadreSheetOut)
    @blp.alt_response(409, description="Already replaced, or the rating is not open")
    @require(MANAGE)
    def put(self, data: dict[str, Any], campaign_id: int, sheet_id: int) -> Any:
        """Correct a paper ballot: it is voided and its replacement (the answer) entered, both audited"""
        with answering():
            sheet = channels.correct_sheet(db.session(), g.tenant, actor(), campaign_id, sheet_id,
                                           data["ratings"], data["opinions"])
        return sheet


@blp.route("/campaigns/<int:campaign_id>/opinions")
class CadreOpinions(MethodView):
    @blp.response(200, CadreOpinionPage)
    @require(channels.SEE_OPINIONS)
    def get(self, campaign_id: int) -> dict[str, Any]:
        """Raters' opinions per target, without who wrote them: all for the organiser, a department's own"""
        with answering(commit=False):
            rows = channels.opinions_for(db.session(), actor(), campaign_id)
        return {"items": [{"target_id": r["target"].id, "name": r["target"].name,
                           "department": r["target"].department,
                           "opinions": [{"text": o.text, "channel": o.channel} for o in r["opinions"]]}
                          for r in rows]}


@blp.route("/campaigns/<int:campaign_id>/challenge")
class CadreChallenge(MethodView):
    @blp.response(200, CadreChallengeOut)
    def get(self, campaign_id: int) -> dict[str, Any]:
        """A proof-of-work challenge for one online ballot: find a decimal counter such that SHA-256 of
        "<challenge>:<counter>" starts with `bits` zero bits, and send both with the ballot"""
        campaign = _public_campaign(campaign_id)
        return channels.challenge_for(db.session(), campaign)


def _code_refused(wait: int) -> Any:
    from flask import jsonify

    return jsonify(code="rate_limited", message=throttle.too_many_codes(wait))


@blp.route("/campaigns/<int:campaign_id>/phone-codes")
class CadrePhoneCodes(MethodView):
    @blp.arguments(CadreCodeRequest)
    @blp.response(200, CadreCodeSent)
    @blp.alt_response(429, description="Too many codes for this number or address")
    @throttle.code_send_limits(_code_refused)
    def post(self, data: dict[str, Any], campaign_id: int) -> dict[str, Any]:
        """Send a six-digit code to a phone for an online or seat ballot (the same answer for every number)"""
        _public_campaign(campaign_id)
        auth.send_phone_code(data["phone"])
        db.session.commit()
        return {"sent": True}


def _moved(campaign_id: int) -> None:
    """Waiting ballots moved in a transaction of their own, apart from the ledger's (services.move_ballots)."""
    services.move_ballots(db.session(), services.get_campaign(db.session(), campaign_id))
    db.session.commit()


@blp.route("/campaigns/<int:campaign_id>/ballots")
class CadreOnlineBallots(MethodView):
    @blp.arguments(CadreOnlineBallotIn)
    @blp.response(201, CadreReceiptOut)
    @blp.alt_response(409, description="Already rated, a spent invitation or challenge, not open or closed")
    @blp.alt_response(429, description="Too many attempts for this phone, address or campaign")
    @throttle.code_check_limits
    @box_limits
    def post(self, data: dict[str, Any], campaign_id: int) -> dict[str, Any]:
        """Cast an online ballot by phone and code, or by invitation, with a solved challenge; answers the
        receipt code"""
        campaign = _public_campaign(campaign_id)
        if not data.get("invitation"):
            if not data.get("phone") or not data.get("code"):
                abort(422, errors={"json": {"code": [_("Give your mobile number and its code, or your "
                                                               "invitation code.")]}})
            with answering(commit=False):
                services.check_open(campaign)
                services.check_ratings(campaign, services.list_targets(db.session(), campaign), data["ratings"])
            if not phone_verified(data["phone"], data["code"]):
                db.session.commit()
                abort(422, errors={"json": {"code": [_("The code is wrong or has expired.")]}})
        with answering():
            receipt = channels.submit_online_ballot(
                db.session(), g.tenant, campaign.id, phone=data.get("phone"), token=data.get("invitation"),
                ratings=data["ratings"], opinions=data["opinions"], challenge=data["pow_challenge"],
                answer=data["pow"], address=request.remote_addr)
        _moved(campaign.id)
        return {"receipt": receipt}


@blp.route("/campaigns/<int:campaign_id>/seat-ballots")
class CadreSeatBallots(MethodView):
    @blp.arguments(CadreSeatBallotIn)
    @blp.response(201, CadreReceiptOut)
    @blp.alt_response(409, description="The seat code is spent or expired, already rated, not open or closed")
    @blp.alt_response(429, description="Too many attempts for this phone, address or campaign")
    @throttle.code_check_limits
    @box_limits
    def post(self, data: dict[str, Any], campaign_id: int) -> dict[str, Any]:
        """Cast an on-site ballot with a seat code and a verified phone; the seat code is spent"""
        campaign = _public_campaign(campaign_id)
        with answering(commit=False):
            services.check_open(campaign)
            channels.find_seat(db.session(), campaign, data["seat_code"])
            services.check_ratings(campaign, services.list_targets(db.session(), campaign), data["ratings"])
        if not phone_verified(data["phone"], data["code"]):
            db.session.commit()
            abort(422, errors={"json": {"code": [_("The code is wrong or has expired.")]}})
        with answering():
            receipt = channels.submit_seat_ballot(db.session(), g.tenant, campaign.id, data["seat_code"],
                                                  data["phone"], data["ratings"], data["opinions"])
        _moved(campaign.id)
        return {"receipt": receipt}


@blp.route("/campaigns/<int:campaign_id>/department-ballots")
class CadreDepartmentBallots(MethodView):
    @blp.arguments(CadreDepartmentBallotIn)
    @blp.response(201, CadreReceiptOut)
    @blp.alt_response(409, description="Already rated, not open or closed")
    @require(channels.RATE_DEPARTMENT)
    def post(self, data: dict[str, Any], campaign_id: int) -> dict[str, Any]:
        """A department rater's scores on targets (相关部门综合评); one ballot per person and target"""
        with answering():
            receipt = channels.submit_department_ballot(db.session(), g.tenant, actor(), campaign_id,
                                                        data["ratings"], data["opinions"])
        _moved(campaign_id)
        return {"receipt": receipt}
