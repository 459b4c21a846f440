"""Field rules of grid cases, shared by the API and the pages."""

from __future__ import annotations

import marshmallow as ma

from saas.schemas import Schema, Text


class CategoryIn(Schema):
    code = Text(required=True, max_length=32, validate=[ma.validate.Regexp(r"^[A-Za-z0-9_-]+$")])
    name = Text(required=True, max_length=60)
    department_code = Text(load_default="", max_length=64)
    deadline_days = ma.fields.Integer(load_default=5, validate=ma.validate.Range(min=1, max=90), strict=False)


class CategoryOut(Schema):
    id = ma.fields.String()
    code = ma.fields.String()
    name = ma.fields.String()
    department_code = ma.fields.String(allow_none=True)
    deadline_days = ma.fields.Integer()
    active = ma.fields.Boolean()
