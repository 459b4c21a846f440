"""Cadre evaluation's field rules, used by the JSON API and by the pages' form posts."""

from __future__ import annotations

import marshmallow as ma

from saas.schemas import Id, Phone, Schema, Text


class CadreDimension(Schema):
    key = Text(required=True, max_length=20)
    name = Text(required=True, max_length=20)
    weight = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=100))


class CadreLevel(Schema):
    key = Text(required=True, max_length=20)
    name = Text(required=True, max_length=20)
    points = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0, max=100))
    counted = ma.fields.Boolean(required=True)


class CadreChannelWeights(Schema):
    onsite = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0, max=100))
    online = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0, max=100))
    department = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0, max=100))


class CadreCampaignIn(Schema):
    name = Text(required=True, max_length=100, min_length=1)
    period_start = ma.fields.Date(required=True)
    period_end = ma.fields.Date(required=True)
    opens_at = ma.fields.AwareDateTime(load_default=None, allow_none=True)
    closes_at = ma.fields.AwareDateTime(load_default=None, allow_none=True)
    min_ballots = ma.fields.Integer(load_default=None, allow_none=True, validate=ma.validate.Range(min=1, max=10000))
    dimensions = ma.fields.List(ma.fields.Nested(CadreDimension), load_default=None, allow_none=True)
    scale = ma.fields.List(ma.fields.Nested(CadreLevel), load_default=None, allow_none=True)
    channel_weights = ma.fields.Nested(CadreChannelWeights, load_default=None, allow_none=True)
    announce_at = ma.fields.AwareDateTime(load_default=None, allow_none=True)
    results_at = ma.fields.AwareDateTime(load_default=None, allow_none=True)
    followup_at = ma.fields.AwareDateTime(load_default=None, allow_none=True)
    areas = ma.fields.List(Text(max_length=40, min_length=1), load_default=None, allow_none=True,
                           validate=ma.validate.Length(min=1, max=40))


class CadreCampaignPatch(CadreCampaignIn):
    name = Text(load_default=None, max_length=100, min_length=1)
    period_start = ma.fields.Date(load_default=None)
    period_end = ma.fields.Date(load_default=None)
    # a schedule time left out stays as it is; a time sent as null is taken away (its step waits for the button)
    opens_at = ma.fields.AwareDateTime(allow_none=True)
    closes_at = ma.fields.AwareDateTime(allow_none=True)
    announce_at = ma.fields.AwareDateTime(allow_none=True)
    results_at = ma.fields.AwareDateTime(allow_none=True)
    followup_at = ma.fields.AwareDateTime(allow_none=True)


class CadreCampaignOut(Schema):
    id = Id()
    name = ma.fields.String()
    period_start = ma.fields.Date()
    period_end = ma.fields.Date()
    state = ma.fields.String()
    opens_at = ma.fields.AwareDateTime(allow_none=True)
    closes_at = ma.fields.AwareDateTime(allow_none=True)
    min_ballots = ma.fields.Integer()
    dimensions = ma.fields.List(ma.fields.Nested(CadreDimension))
    scale = ma.fields.List(ma.fields.Nested(CadreLevel))
    channel_weights = ma.fields.Nested(CadreChannelWeights)
    announce_at = ma.fields.AwareDateTime(allow_none=True)
    results_at = ma.fields.AwareDateTime(allow_none=True)
    followup_at = ma.fields.AwareDateTime(allow_none=True)
    areas = ma.fields.List(ma.fields.String())


class CadreTargetIn(Schema):
    name = Text(required=True, max_length=40, min_length=1)
    department = Text(required=True, max_length=60, min_length=1)
    section = Text(required=True, max_length=60, min_length=1)
    post = Text(load_default="", max_length=60)
    duties = Text(load_default="", max_length=2000)
    area = Text(load_default="", max_length=40)


class CadreTargetOut(CadreTargetIn):
    id = Id()


class CadreTransitionIn(Schema):
    action = ma.fields.String(required=True, validate=ma.validate.OneOf(
        ("announce", "open", "close", "publish", "followup")))


class CadreVerifiedPhone(Schema):
    phone = Phone(required=True)
    code = Text(required=True, max_length=6, min_length=6)


class CadreCodeRequest(Schema):
    phone = Phone(required=True)


class CadreReceiptIn(Schema):
    receipt = Text(required=True, max_length=32, min_length=4)


class CadreChannelResult(Schema):
    ballots = ma.fields.Integer()
    score = ma.fields.Float(allow_none=True)
    dimensions = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Float(allow_none=True))


class CadreResultOut(Schema):
    target = ma.fields.Nested(CadreTargetOut)
    rank = ma.fields.Integer(allow_none=True)
    area_rank = ma.fields.Integer(allow_none=True)
    ballots = ma.fields.Integer()
    scored = ma.fields.Boolean()
    total = ma.fields.Float(allow_none=True)
    unknown_share = ma.fields.Float()
    channels = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(CadreChannelResult))
