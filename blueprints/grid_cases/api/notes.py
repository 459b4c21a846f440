"""Quick notes, claimed compounds and common problems."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import g
from flask.views import MethodView

from blueprints.grid_cases.api import blp
from blueprints.grid_cases.api.cases import case_out
from blueprints.grid_cases.models import CaseCategory, CommonProblem
from blueprints.grid_cases.schemas import (
    CaseOut,
    ClaimIn,
    ClaimOut,
    CommonLinkIn,
    CommonOut,
    CommonResolveIn,
    NoteFilter,
    NoteIn,
    NoteOut,
    NotePage,
    PromoteIn,
    SuggestionOut,
)
from blueprints.grid_cases.services import common as common_services
from blueprints.grid_cases.services import notes as note_services
from blueprints.grid_cases.web import actor, answering
from saas import db
from saas.auth import require
from saas.pagination import keyset_page
from tenants.models import OrgUnit


@blp.route("/notes")
class QuickNotes(MethodView):
    @blp.arguments(NoteFilter, location="query")
    @blp.response(200, NotePage)
    @require("grid_cases.report")
    def get(self, filters: dict[str, Any]) -> dict[str, Any]:
        """My quick notes (or, with `all`, those of the grids I see), newest first"""
        notes, cursor = keyset_page(db.session(), note_services.note_query(actor(), filters), filters["limit"])
        return {"items": note_services.notes_out(db.session(), notes), "next": cursor}

    @blp.arguments(NoteIn)
    @blp.response(201, NoteOut)
    @require("grid_cases.report")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Log a quick note (巡查, 走访, 宣传 or 服务)"""
        with answering():
            note = note_services.add_note(db.session(), g.tenant, actor(), data)
        return note_services.notes_out(db.session(), [note])[0]


@blp.route("/notes/<int:note_id>/promote")
class QuickNotePromote(MethodView):
    @blp.arguments(PromoteIn)
    @blp.response(201, CaseOut)
    @blp.alt_response(409, response="CONFLICT")
    @require("grid_cases.report")
    def post(self, data: dict[str, Any], note_id: int) -> dict[str, Any]:
        """Turn one of my notes into a case in its grid"""
        with answering():
            case = note_services.promote_note(db.session(), g.tenant, actor(), note_id, data)
        return case_out(case)


def _claims_out() -> list[dict[str, Any]]:
    claims = note_services.my_claims(db.session(), actor())
    units = {u.id: u for u in db.session.scalars(sa.select(OrgUnit).where(
        OrgUnit.id.in_([c.compound_id for c in claims])))} if claims else {}
    return [{"id": str(c.id), "compound_code": units[c.compound_id].code, "compound": units[c.compound_id].name,
             "created_at": c.created_at} for c in claims if c.compound_id in units]


@blp.route("/claims")
class Claims(MethodView):
    @blp.response(200, ClaimOut(many=True))
    @require("grid_cases.claim")
    def get(self) -> list[dict[str, Any]]:
        """The compounds I look after (包片)"""
        return _claims_out()

    @blp.arguments(ClaimIn)
    @blp.response(201, ClaimOut)
    @require("grid_cases.claim")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Look after a compound of my community (at most two)"""
        with answering():
            claim = note_services.claim_compound(db.session(), actor(), data["compound_code"])
        return next(c for c in _claims_out() if c["id"] == str(claim.id))


@blp.route("/claims/<int:claim_id>")
class ClaimById(MethodView):
    @blp.response(204)
    @require("grid_cases.claim")
    def delete(self, claim_id: int) -> None:
        """Stop looking after a compound"""
        with answering():
            note_services.release_compound(db.session(), actor(), claim_id)


def _problem_out(problem: CommonProblem) -> dict[str, Any]:
    session = db.session()
    place = session.scalars(sa.select(OrgUnit.name).where(OrgUnit.id == problem.place_id)).first() or ""
    category = session.scalars(sa.select(CaseCategory.name).where(CaseCategory.id == problem.category_id)).first()
    return {"id": str(problem.id), "title": problem.title, "state": problem.state, "place": place,
            "category": category or "", "created_at": problem.created_at, "result": problem.result,
            "resolved_at": problem.resolved_at,
            "cases": [c.number for c in common_services.problem_cases(session, problem)]}


@blp.route("/common-problems")
class CommonProblems(MethodView):
    @blp.response(200, CommonOut(many=True))
    @require("grid_cases.view")
    def get(self) -> list[dict[str, Any]]:
        """Common problems in my area, newest first"""
        return [_problem_out(p) for p in common_services.list_problems(db.session(), actor())]

    @blp.arguments(CommonLinkIn)
    @blp.response(201, CommonOut)
    @require("grid_cases.common")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Link open cases of one category in one compound or building as one common problem"""
        with answering():
            problem = common_services.link_common(db.session(), g.tenant, actor(), place_code=data["place_code"],
                                                  category_code=data["category_code"], title=data["title"],
                                                  case_ids=data.get("case_ids"))
        return _problem_out(problem)


@blp.route("/common-problems/suggestions")
class CommonSuggestions(MethodView):
    @blp.response(200, SuggestionOut(many=True))
    @require("grid_cases.common")
    def get(self) -> list[dict[str, Any]]:
        """Groups of open cases that reach the district's threshold for a common problem"""
        return common_services.suggestions(db.session(), actor())


@blp.route("/common-problems/<int:problem_id>/resolve")
class CommonResolve(MethodView):
    @blp.arguments(CommonResolveIn)
    @blp.response(200, CommonOut)
    @blp.alt_response(409, response="CONFLICT")
    @require("grid_cases.common")
    def post(self, data: dict[str, Any], problem_id: int) -> dict[str, Any]:
        """Resolve a common problem: every linked open case is resolved and its reporter told"""
        with answering():
            problem, _cases = common_services.resolve_common(db.session(), g.tenant, actor(), problem_id,
                                                             data["result"])
        return _problem_out(problem)
