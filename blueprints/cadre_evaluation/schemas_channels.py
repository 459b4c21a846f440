"""Field rules of cadre evaluation's channels, used by the JSON API and by the pages' form posts."""

from __future__ import annotations

import marshmallow as ma

from blueprints.cadre_evaluation.channels import MAX_BATCH
from saas.schemas import Id, Phone, Schema, Text

Ratings = ma.fields.Dict(keys=ma.fields.String(validate=ma.validate.Length(max=20)),
                         values=ma.fields.Dict(keys=ma.fields.String(validate=ma.validate.Length(max=20)),
                                               values=ma.fields.String(validate=ma.validate.Length(max=20))),
                         required=True, metadata={"description": "{target_id: {dimension key: level key}}"})
Opinions = ma.fields.Dict(keys=ma.fields.String(validate=ma.validate.Length(max=20)),
                          values=ma.fields.String(validate=ma.validate.Length(max=2000)), load_default=dict,
                          metadata={"description": "{target_id: text}, on rated targets only, at most 500 "
                                                   "characters each"})


class CadreGroupIn(Schema):
    name = Text(required=True, max_length=40, min_length=1)
    channel = ma.fields.String(required=True, validate=ma.validate.OneOf(("onsite", "online")))
    cap = ma.fields.Integer(load_default=None, allow_none=True, validate=ma.validate.Range(min=1, max=100000))


class CadreGroupOut(Schema):
    id = Id()
    name = ma.fields.String()
    channel = ma.fields.String()
    cap = ma.fields.Integer(allow_none=True)
    issued = ma.fields.Integer()


class CadreSeatsIn(Schema):
    count = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=MAX_BATCH))
    group_id = Id(load_default=None, allow_none=True)
    hours = ma.fields.Integer(load_default=None, allow_none=True, validate=ma.validate.Range(min=1, max=720))


class CadreSeatOut(Schema):
    seat = ma.fields.Integer()
    code = ma.fields.String(metadata={"description": "shown only in this answer; only its hash is kept"})
    url = ma.fields.String(metadata={"description": "what the seat's QR code opens"})


class CadreInvitationsIn(Schema):
    group_id = Id(required=True)
    phones = ma.fields.List(Phone(), required=True, validate=ma.validate.Length(min=1, max=MAX_BATCH))


class CadreInvitationOut(Schema):
    phone = ma.fields.String(metadata={"description": "masked"})
    token = ma.fields.String(metadata={"description": "shown only in this answer; only its hash is kept"})
    url = ma.fields.String()


class CadreSheetIn(Schema):
    number = Text(required=True, max_length=20, min_length=1)


class CadreSheetBallotIn(CadreSheetIn):
    ratings = Ratings
    opinions = Opinions


class CadreSheetCorrectionIn(Schema):
    ratings = Ratings
    opinions = Opinions


class CadreSheetOut(Schema):
    id = Id()
    number = ma.fields.String()
    state = ma.fields.String()
    replaces_id = Id(allow_none=True)
    ratings = ma.fields.Dict()
    opinions = ma.fields.Dict()


class CadreChallengeOut(Schema):
    challenge = ma.fields.String()
    bits = ma.fields.Integer(metadata={"description": "leading zero bits wanted of SHA-256(challenge + ':' + "
                                                      "answer), answer a decimal counter"})


class CadreOnlineBallotIn(Schema):
    phone = Phone(load_default=None)
    code = Text(load_default=None, max_length=6, min_length=6)
    invitation = Text(load_default=None, max_length=64, metadata={"description": "instead of phone and code"})
    ratings = Ratings
    opinions = Opinions
    pow_challenge = ma.fields.String(required=True, validate=ma.validate.Length(max=400))
    pow = ma.fields.String(required=True, validate=ma.validate.Length(max=12))


class CadreSeatBallotIn(Schema):
    seat_code = Text(required=True, max_length=64, min_length=1)
    phone = Phone(required=True)
    code = Text(required=True, max_length=6, min_length=6)
    ratings = Ratings
    opinions = Opinions


class CadreDepartmentBallotIn(Schema):
    ratings = Ratings
    opinions = Opinions


class CadreReceiptOut(Schema):
    receipt = ma.fields.String(metadata={"description": "the rater's receipt code; only its hash is kept"})


class CadreOpinionOut(Schema):
    text = ma.fields.String()
    channel = ma.fields.String()


class CadreTargetOpinionsOut(Schema):
    target_id = Id()
    name = ma.fields.String()
    department = ma.fields.String()
    opinions = ma.fields.List(ma.fields.Nested(CadreOpinionOut))
