"""The family's door in elderly visits' JSON API: a relative registered as a resident's emergency contact, with a
token of their own (a resident signed in by phone code), lists their relatives and raises an emergency for one,
through the service every door uses."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import abort

from blueprints.elderly_visits import services
from blueprints.elderly_visits.api import blp
from blueprints.elderly_visits.schemas import FamilyEmergencyIn
from blueprints.elderly_visits.web import actor, answering
from saas import db
from saas.schemas import Schema


class RelativeOut(Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    grid = ma.fields.String()


class RelativePage(Schema):
    items = ma.fields.List(ma.fields.Nested(RelativeOut))


def _family_actor() -> services.Actor:
    user = g.get("user")
    if user is None or user.kind != "citizen":
        abort(403, message=_("Only relatives signed in with their phone use the family door."))
    return actor()


@blp.route("/family/relatives")
class FamilyRelatives(MethodView):
    @blp.response(200, RelativePage)
    def get(self) -> dict[str, Any]:
        """The residents whose emergency contact is the token's person (a resident signed in by phone code)"""
        people = services.relatives_of(db.session(), _family_actor())
        units = services.unit_map(db.session(), [p.grid_id for p in people])
        return {"items": [{"id": str(p.id), "name": p.name, "grid": units[p.grid_id].name if p.grid_id in units
                           else ""} for p in people]}


class FamilyEmergencyOut(Schema):
    id = ma.fields.String()
    person = ma.fields.String()
    kind = ma.fields.String()
    state = ma.fields.String()
    raised_at = ma.fields.DateTime()


@blp.route("/family/emergencies")
class FamilyEmergencies(MethodView):
    @blp.arguments(FamilyEmergencyIn)
    @blp.response(201, FamilyEmergencyOut)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """A relative raises an emergency for their resident: the same notices and escalation as a worker's"""
        me = _family_actor()
        with answering():
            emergency = services.raise_family_emergency(db.session(), g.tenant, me, data["person_id"], data)
            out = {"id": str(emergency.id), "person": emergency.reported_name, "kind": emergency.kind,
                   "state": emergency.state, "raised_at": emergency.raised_at}
        return out
