"""Elderly visits' JSON API under /api/v1/t/<tenant>/elderly_visits/ (flask-smorest; in the OpenAPI document).

The operations call the services the pages call; a refusal answers through `answering` (422, 403, 404, 409).
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g, request
from flask.views import MethodView
from flask_smorest import abort
from flask_smorest.fields import Upload as UploadField

from blueprints.elderly_visits import services
from blueprints.elderly_visits.schemas import (
    ActionIn,
    EmergencyIn,
    EmergencyOut,
    LinkIn,
    ListFilter,
    PersonIn,
    PersonOut,
    StepIn,
    VisitIn,
    VisitOut,
)
from blueprints.elderly_visits.web import actor, answering
from saas import db
from saas.api import Blueprint
from saas.auth import require
from saas.schemas import Schema

blp = Blueprint("elderly_visits_api", __name__, description="为老服务 / Elderly visits")


class PersonPage(Schema):
    items = ma.fields.List(ma.fields.Nested(PersonOut))


@blp.route("/people")
class ElderlyPeople(MethodView):
    @blp.arguments(ListFilter, location="query")
    @blp.response(200, PersonPage)
    @require("elderly_visits.view")
    def get(self, filters: dict[str, Any]) -> dict[str, Any]:
        """The residents one may see, by due date: `due` today, overdue, this week (default) or all"""
        return {"items": services.list_people(db.session(), g.tenant, actor(), **filters)}

    @blp.arguments(PersonIn)
    @blp.response(201, PersonOut)
    @require("elderly_visits.manage")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Register a resident with their contacts; the grid worker must work in the resident's grid"""
        with answering():
            person = services.register_person(db.session(), g.tenant, actor(), data)
        return services.person_out(db.session(), g.tenant, actor(), person)


@blp.route("/people/<int:person_id>")
class ElderlyPersonById(MethodView):
    @blp.response(200, PersonOut)
    @require("elderly_visits.view")
    def get(self, person_id: int) -> dict[str, Any]:
        """One resident; health notes, contacts and full numbers only for those who may see them (logged)"""
        with answering():
            person = services.get_person(db.session(), actor(), person_id)
            out = services.person_out(db.session(), g.tenant, actor(), person, detail=True)
        return out


class VisitPage(Schema):
    items = ma.fields.List(ma.fields.Nested(VisitOut))


@blp.route("/people/<int:person_id>/visits")
class ElderlyVisits(MethodView):
    @blp.response(200, VisitPage)
    @require("elderly_visits.view")
    def get(self, person_id: int) -> dict[str, Any]:
        """The resident's visits, newest first"""
        session = db.session()
        with answering(commit=False):
            person = services.get_person(session, actor(), person_id)
        visits = services.visits_of(session, person.id)
        names = services.user_names(session, [v.visitor_id for v in visits])
        cases = {n.visit_id: n.case_number for n in services.needs_of(session, person.id) if n.case_number}
        photos = services.photographed(session, [v.id for v in visits])
        return {"items": [services.visit_out(v, names, cases, photos) for v in visits]}

    @blp.arguments(VisitIn)
    @blp.response(201, VisitOut)
    @require("elderly_visits.visit")
    def post(self, data: dict[str, Any], person_id: int) -> dict[str, Any]:
        """Log a visit. `client_key` (or the `Idempotency-Key` header) sent again returns the visit already kept"""
        if not data.get("client_key") and request.headers.get("Idempotency-Key"):
            data["client_key"] = request.headers["Idempotency-Key"].strip()[:64]
        session = db.session()
        with answering():
            visit = services.log_visit(session, g.tenant, actor(), person_id, data)
            cases = {n.visit_id: n.case_number for n in services.needs_of(session, person_id) if n.case_number}
            out = services.visit_out(visit, services.user_names(session, [visit.visitor_id]), cases)
        return out


class EmergencyPage(Schema):
    items = ma.fields.List(ma.fields.Nested(EmergencyOut))


class EmergencyFilter(Schema):
    class Meta:
        unknown = ma.EXCLUDE

    open = ma.fields.Boolean(load_default=True)
    unlinked = ma.fields.Boolean(load_default=False, metadata={
        "description": "Only the reports nobody on the registry matched, waiting for a cadre to link the resident"})


def _emergencies_out(rows: list[Any], *, detail: bool = False) -> list[dict[str, Any]]:
    session = db.session()
    actions = services.actions_of(session, [e.id for e, _p in rows])
    units = services.unit_map(session, [e.grid_id for e, _p in rows])
    return [services.emergency_out(session, actor(), e, p, actions[e.id], units=units, detail=detail)
            for e, p in rows]


@blp.route("/emergencies")
class Emergencies(MethodView):
    @blp.arguments(EmergencyFilter, location="query")
    @blp.response(200, EmergencyPage)
    @require("elderly_visits.view")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Emergencies of the residents one sees, newest first (open ones only unless `open=false`)"""
        return {"items": _emergencies_out(services.list_emergencies(db.session(), actor(), open_only=args["open"],
                                                                    unlinked=args["unlinked"]))}


@blp.route("/people/<int:person_id>/emergencies")
class PersonEmergencies(MethodView):
    @blp.arguments(EmergencyIn)
    @blp.response(201, EmergencyOut)
    @require("elderly_visits.emergency")
    def post(self, data: dict[str, Any], person_id: int) -> dict[str, Any]:
        """Raise an emergency: the community, the workers and the emergency contacts hear at once"""
        with answering():
            emergency = services.raise_emergency(db.session(), g.tenant, actor(), person_id, data)
            person = services.get_person(db.session(), actor(), person_id)
            out = services.emergency_out(db.session(), actor(), emergency, person, [])
        return out


def _one(emergency_id: int, *, detail: bool = False) -> dict[str, Any]:
    emergency, person = services.get_emergency(db.session(), actor(), emergency_id)
    return _emergencies_out([(emergency, person)], detail=detail)[0]


@blp.route("/emergencies/<int:emergency_id>")
class EmergencyById(MethodView):
    @blp.response(200, EmergencyOut)
    @require("elderly_visits.view")
    def get(self, emergency_id: int) -> dict[str, Any]:
        """One emergency with what was done; the reporter's phone in full only for those who may read it (logged)"""
        with answering():
            out = _one(emergency_id, detail=True)
        return out


@blp.route("/emergencies/<int:emergency_id>/ack")
class EmergencyAck(MethodView):
    @blp.arguments(StepIn)
    @blp.response(200, EmergencyOut)
    @require("elderly_visits.view")
    def post(self, data: dict[str, Any], emergency_id: int) -> dict[str, Any]:
        """Take the emergency on (409 when someone else did just now)"""
        with answering():
            services.acknowledge_emergency(db.session(), actor(), emergency_id, data["version"])
            out = _one(emergency_id)
        return out


@blp.route("/emergencies/<int:emergency_id>/link")
class EmergencyLink(MethodView):
    @blp.arguments(LinkIn)
    @blp.response(200, EmergencyOut)
    @blp.alt_response(409, response="CONFLICT", description="Already linked, or someone acted on it just now")
    @require("elderly_visits.respond")
    def post(self, data: dict[str, Any], emergency_id: int) -> dict[str, Any]:
        """Link a report nobody on the registry matched to its resident; their workers and family are told"""
        with answering():
            services.link_emergency(db.session(), g.tenant, actor(), emergency_id, data)
            out = _one(emergency_id)
        return out


@blp.route("/emergencies/<int:emergency_id>/actions")
class EmergencyActions(MethodView):
    @blp.arguments(ActionIn)
    @blp.response(200, EmergencyOut)
    @require("elderly_visits.view")
    def post(self, data: dict[str, Any], emergency_id: int) -> dict[str, Any]:
        """Record what was done (120 called, family told, accompanied to hospital); acting takes it on"""
        with answering():
            services.add_action(db.session(), actor(), emergency_id, data)
            out = _one(emergency_id)
        return out


@blp.route("/emergencies/<int:emergency_id>/close")
class EmergencyClose(MethodView):
    @blp.arguments(StepIn)
    @blp.response(200, EmergencyOut)
    @require("elderly_visits.view")
    def post(self, data: dict[str, Any], emergency_id: int) -> dict[str, Any]:
        """Close the emergency with its outcome"""
        with answering():
            services.close_emergency(db.session(), actor(), emergency_id, data)
            out = _one(emergency_id)
        return out


class DashboardQuery(Schema):
    class Meta:
        unknown = ma.EXCLUDE

    month = ma.fields.String(load_default=None, allow_none=True, metadata={
        "description": "The month of the visits, needs and emergencies counted (\"2026-03\"; default this month)"})


class CoverageOut(Schema):
    name = ma.fields.String()
    people = ma.fields.Integer()
    on_time = ma.fields.Integer(metadata={"description": "Residents whose visit is not overdue today"})
    visited = ma.fields.Integer(metadata={"description": "Residents visited at least once in the month"})
    rate = ma.fields.Float(allow_none=True, metadata={"description": "on_time / people"})


class OverdueOut(Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    grid = ma.fields.String()
    worker = ma.fields.String()
    due = ma.fields.Date()
    days = ma.fields.Integer()


class WorkerVisitsOut(Schema):
    worker = ma.fields.String()
    visits = ma.fields.Integer()


class NeedFiguresOut(Schema):
    kind = ma.fields.String()
    label = ma.fields.String()
    found = ma.fields.Integer()
    resolved = ma.fields.Integer()
    cases = ma.fields.Integer()


class EmergencyFiguresOut(Schema):
    kind = ma.fields.String()
    label = ma.fields.String()
    raised = ma.fields.Integer()
    acknowledged = ma.fields.Integer()
    escalated = ma.fields.Integer()
    median_min = ma.fields.Float(allow_none=True)


class DashboardOut(Schema):
    month = ma.fields.String()
    total = ma.fields.Nested(CoverageOut)
    communities = ma.fields.List(ma.fields.Nested(CoverageOut))
    grids = ma.fields.List(ma.fields.Nested(CoverageOut))
    overdue = ma.fields.List(ma.fields.Nested(OverdueOut))
    visits_per_worker = ma.fields.List(ma.fields.Nested(WorkerVisitsOut))
    needs = ma.fields.List(ma.fields.Nested(NeedFiguresOut))
    emergencies = ma.fields.List(ma.fields.Nested(EmergencyFiguresOut))
    response_median_min = ma.fields.Float(allow_none=True)
    response_max_min = ma.fields.Float(allow_none=True)


@blp.route("/dashboard")
class ElderlyDashboard(MethodView):
    @blp.arguments(DashboardQuery, location="query")
    @blp.response(200, DashboardOut)
    @require("elderly_visits.view")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Coverage by grid and community, the overdue list, visits per worker, needs and emergencies of a month"""
        from blueprints.elderly_visits import dashboard

        with answering(commit=False):
            board = dashboard.dashboard(db.session(), g.tenant, actor(), args.get("month"))
        return dashboard.dashboard_out(board)


class RegistryFile(Schema):
    file = UploadField(required=True, metadata={"description": "A list of residents, CSV (UTF-8 or GBK) or XLSX"})


class RegistryArgs(Schema):
    class Meta:
        unknown = ma.EXCLUDE

    dry_run = ma.fields.Boolean(load_default=True, metadata={"description": "Only check (the default)"})


class RegistryImportOut(Schema):
    dry_run = ma.fields.Boolean()
    people = ma.fields.Integer(metadata={"description": "Residents that are (or would be) registered"})
    ids = ma.fields.List(ma.fields.String(), metadata={"description": "The new residents' ids"})


@blp.route("/import")
class RegistryImport(MethodView):
    @blp.arguments(RegistryArgs, location="query")
    @blp.arguments(RegistryFile, location="files")
    @blp.response(200, RegistryImportOut)
    @require("elderly_visits.manage")
    def post(self, args: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        """Check a list of residents and, with dry_run=false, register them all; any bad row: 422, nothing stored"""
        from flask_babel import gettext as _

        from blueprints.elderly_visits import registry_import
        from saas import imports

        context = imports.ImportContext(g.tenant, actor(), filename=(files["file"].filename or "")[:200])
        data = files["file"].stream.read(imports.MAX_BYTES + 1)
        try:
            checked = imports.check_file(db.session(), registry_import.REGISTRY, context, data)
        except imports.ImportFileError as err:
            db.session.rollback()
            abort(422, errors={"file": [err.message]})
        if not checked.ok:
            db.session.rollback()
            abort(422, errors={"file": [message for _line, message in checked.errors] or [_("The file is empty.")]})
        if args["dry_run"]:
            db.session.rollback()
            return {"dry_run": True, "people": len(checked.rows), "ids": []}
        with answering():
            summary = registry_import.write_rows(db.session(), context, checked)
        return {"dry_run": False, **summary}


from blueprints.elderly_visits import family_api, photo_api  # noqa: E402,F401 - their operations join this blueprint
