"""Elderly visits' field rules: the only home of them, used by the JSON API and by the pages' form posts."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_babel import gettext as _

from blueprints.elderly_visits.models import (
    ACTION_KINDS,
    CATEGORIES,
    CONDITIONS,
    EMERGENCY_KINDS,
    NEEDS,
    RISKS,
    SEXES,
    VISIT_KINDS,
)
from saas.schemas import Id, Phone, ResidentId, Schema, Text


class ContactIn(Schema):
    name = Text(required=True, max_length=40, min_length=1)
    relation = Text(load_default="", max_length=20)
    phone = Phone(required=True, metadata={"description": "A mainland mobile number: every contact needs one"})


class PersonIn(Schema):
    """A resident put on the registry. The grid worker must hold a grid worker's or leader's role on the grid."""

    name = Text(required=True, max_length=40, min_length=1)
    sex = ma.fields.String(required=True, validate=ma.validate.OneOf(SEXES))
    birth_date = ma.fields.Date(required=True)
    id_number = ResidentId(required=True)
    phone = Phone(load_default=None, allow_none=True)
    grid_code = Text(required=True, max_length=64, metadata={"description": "Code of the resident's grid"})
    place_code = Text(load_default="", max_length=64,
                      metadata={"description": "Code of the compound, building or unit inside the grid"})
    room = Text(load_default="", max_length=20)
    address = Text(load_default="", max_length=200)
    categories = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(CATEGORIES)), load_default=list,
                                validate=ma.validate.Length(max=len(CATEGORIES)))
    living = Text(load_default="", max_length=200)
    conditions = Text(load_default="", max_length=2000)
    care_notes = Text(load_default="", max_length=2000)
    worker_id = Id(required=True)
    backup_worker_id = Id(load_default=None, allow_none=True)
    frequency_days = ma.fields.Integer(load_default=None, allow_none=True, strict=False,
                                       validate=ma.validate.Range(min=1, max=366))
    consent = ma.fields.Boolean(required=True, metadata={"description": "The resident agreed to be registered"})
    consent_note = Text(load_default="", max_length=200)
    contacts = ma.fields.List(ma.fields.Nested(ContactIn), load_default=list, validate=ma.validate.Length(max=5))

    @ma.validates_schema
    def _consent_given(self, data: dict[str, Any], **_kw: Any) -> None:
        if not data.get("consent"):
            raise ma.ValidationError(_("Record the resident's consent before registering them."), "consent")


class VisitIn(Schema):
    kind = ma.fields.String(load_default="home", validate=ma.validate.OneOf(VISIT_KINDS))
    visited_at = ma.fields.DateTime(load_default=None, allow_none=True, metadata={
        "description": "When the visit took place (default: now; without an offset, the district's local time); "
                       "never in the future"})
    health = ma.fields.String(required=True, validate=ma.validate.OneOf(CONDITIONS))
    mood = ma.fields.String(required=True, validate=ma.validate.OneOf(CONDITIONS))
    needs = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(NEEDS)), load_default=list,
                           validate=ma.validate.Length(max=len(NEEDS)))
    need_note = Text(load_default="", max_length=500)
    make_case = ma.fields.Boolean(load_default=False, metadata={
        "description": "Open a grid case for the needs found, when grid cases is on for the district"})
    risks = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(RISKS)), load_default=list,
                           validate=ma.validate.Length(max=len(RISKS)))
    notes = Text(load_default="", max_length=2000)
    duration_min = ma.fields.Integer(load_default=None, allow_none=True, strict=False,
                                     validate=ma.validate.Range(min=1, max=600))
    client_key = Text(load_default=None, allow_none=True, max_length=64, metadata={
        "description": "A key made on the phone for this visit: sending it again keeps one visit"})


class EmergencyIn(Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(EMERGENCY_KINDS))
    description = Text(load_default="", max_length=1000)


class FamilyEmergencyIn(EmergencyIn):
    person_id = Id(required=True, metadata={"description": "The relative's id (one of `/family/relatives`)"})


class LinkIn(Schema):
    person_id = Id(required=True, metadata={"description": "The resident the emergency is about"})
    version = ma.fields.Integer(required=True, strict=False)


class ActionIn(Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(ACTION_KINDS))
    note = Text(load_default="", max_length=500)
    version = ma.fields.Integer(load_default=None, allow_none=True, strict=False)


class StepIn(Schema):
    version = ma.fields.Integer(required=True, strict=False)
    outcome = Text(load_default="", max_length=1000)


class ListFilter(Schema):
    class Meta:
        unknown = ma.EXCLUDE

    due = ma.fields.String(load_default="week", validate=ma.validate.OneOf(("today", "overdue", "week", "all")))
    q = Text(load_default="", max_length=40)
    mine = ma.fields.Boolean(load_default=False)


class ContactOut(Schema):
    name = ma.fields.String()
    relation = ma.fields.String()
    phone = ma.fields.String()


class PersonOut(Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    sex = ma.fields.String()
    age = ma.fields.Integer()
    id_number = ma.fields.String(metadata={"description": "Masked unless the reader may see sensitive fields"})
    phone = ma.fields.String()
    grid = ma.fields.String()
    place = ma.fields.String()
    room = ma.fields.String()
    categories = ma.fields.List(ma.fields.String())
    worker = ma.fields.String()
    frequency_days = ma.fields.Integer()
    last_visit_at = ma.fields.DateTime(allow_none=True)
    next_visit_on = ma.fields.Date()
    overdue = ma.fields.Boolean()
    sensitive = ma.fields.Boolean(metadata={"description": "Whether the sensitive fields below are shown"})
    living = ma.fields.String(allow_none=True)
    conditions = ma.fields.String(allow_none=True)
    care_notes = ma.fields.String(allow_none=True)
    contacts = ma.fields.List(ma.fields.Nested(ContactOut), allow_none=True)
    version = ma.fields.Integer()


class VisitOut(Schema):
    id = ma.fields.String()
    person_id = ma.fields.String()
    visitor = ma.fields.String()
    kind = ma.fields.String()
    visited_at = ma.fields.DateTime()
    planned_on = ma.fields.Date(allow_none=True)
    health = ma.fields.String()
    mood = ma.fields.String()
    needs = ma.fields.List(ma.fields.String())
    risks = ma.fields.List(ma.fields.String())
    notes = ma.fields.String()
    duration_min = ma.fields.Integer(allow_none=True)
    case_number = ma.fields.String(allow_none=True)
    has_photo = ma.fields.Boolean(metadata={"description": "A photo is at GET /visits/{visit_id}/photo"})


class ActionOut(Schema):
    kind = ma.fields.String()
    note = ma.fields.String()
    at = ma.fields.DateTime()
    by = ma.fields.String()


class EmergencyOut(Schema):
    id = ma.fields.String()
    person_id = ma.fields.String(allow_none=True, metadata={
        "description": "The resident, or null for a report nobody on the registry matched (until a cadre links it)"})
    person = ma.fields.String(metadata={"description": "The resident's name, or the name the reporter wrote"})
    linked = ma.fields.Boolean()
    source = ma.fields.String(metadata={"description": "Who raised it: worker, neighbour or family"})
    reported_name = ma.fields.String()
    reported_place = ma.fields.String()
    candidate_ids = ma.fields.List(ma.fields.String(), metadata={
        "description": "The residents a report could be about, when several matched"})
    reporter_phone = ma.fields.String(allow_none=True, metadata={
        "description": "The reporter's phone: in full for those who may read contacts, masked for others"})
    grid = ma.fields.String()
    kind = ma.fields.String()
    description = ma.fields.String()
    state = ma.fields.String()
    raised_at = ma.fields.DateTime()
    acknowledged_at = ma.fields.DateTime(allow_none=True)
    escalated_at = ma.fields.DateTime(allow_none=True)
    closed_at = ma.fields.DateTime(allow_none=True)
    outcome = ma.fields.String()
    actions = ma.fields.List(ma.fields.Nested(ActionOut))
    version = ma.fields.Integer()
