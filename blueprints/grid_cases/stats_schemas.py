"""Field rules of the statistics and the exports, shared by the page, the XLSX download and the JSON API.

Kept beside `schemas.py` rather than in it, so the statistics travel as one piece; the rules of the period
itself (order, length, range) are the service's (`services.stats.period_for`), which both faces call.
"""

from __future__ import annotations

import marshmallow as ma

from saas.schemas import Schema, Text


class StatsQuery(Schema):
    class Meta:
        unknown = ma.EXCLUDE

    since = ma.fields.Date(load_default=None, allow_none=True, metadata={
        "description": "First local day of the period (default: the first day of the month 12 months ago)"})
    until = ma.fields.Date(load_default=None, allow_none=True, metadata={
        "description": "Last local day of the period, included (default: today); at most 36 months in all"})
    area = Text(load_default="", max_length=64, metadata={
        "description": "Code of a street, community or grid of your area (default: all of it)"})


class FiguresOut(Schema):
    reported = ma.fields.Integer(metadata={"description": "Cases reported in the period"})
    accepted = ma.fields.Integer(metadata={"description": "Of those, past an acceptance (not waiting, not rejected)"})
    rejected = ma.fields.Integer(metadata={"description": "Not accepted (不予受理)"})
    closed = ma.fields.Integer(metadata={"description": "Closed, rated or not"})
    overdue = ma.fields.Integer(metadata={"description": "overdue_open + resolved_late, each case once"})
    overdue_open = ma.fields.Integer(metadata={"description": "Open and past the current step's deadline"})
    resolved_late = ma.fields.Integer(metadata={"description": "Resolved after the handling deadline"})
    resolved = ma.fields.Integer(metadata={"description": "Resolved (and possibly verified, closed, rated)"})
    on_time = ma.fields.Integer(metadata={"description": "Resolved by the handling deadline"})
    rated = ma.fields.Integer(metadata={"description": "Rated by the reporter"})
    good = ma.fields.Integer(metadata={"description": "Rated satisfied or basically satisfied (好评)"})
    on_time_rate = ma.fields.Float(allow_none=True, metadata={"description": "on_time / resolved; null if none"})
    satisfaction_rate = ma.fields.Float(allow_none=True, metadata={"description": "good / rated; null if none"})


class StatsRowOut(FiguresOut):
    code = ma.fields.String(allow_none=True, metadata={
        "description": "The unit's or category's code, the month as 2026-11; null for the cases without one"})
    name = ma.fields.String()


class WorkerOut(Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    grids = ma.fields.List(ma.fields.String())
    notes = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(),
                           metadata={"description": "Quick notes of the period by kind: patrol, visit, publicity, "
                                                    "service"})
    notes_total = ma.fields.Integer()
    cases_found = ma.fields.Integer(metadata={"description": "Cases of the period reported on patrol or from a note"})


class AreaOut(Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    kind = ma.fields.String()


class StatsOut(Schema):
    since = ma.fields.Date()
    until = ma.fields.Date()
    months = ma.fields.List(ma.fields.String(), metadata={"description": "The months of by_month, e.g. 2026-11"})
    area = ma.fields.Nested(AreaOut, allow_none=True, metadata={"description": "null: all of the caller's area"})
    generated_at = ma.fields.DateTime()
    totals = ma.fields.Nested(FiguresOut)
    by_street = ma.fields.List(ma.fields.Nested(StatsRowOut))
    by_community = ma.fields.List(ma.fields.Nested(StatsRowOut))
    by_grid = ma.fields.List(ma.fields.Nested(StatsRowOut))
    by_department = ma.fields.List(ma.fields.Nested(StatsRowOut))
    by_category = ma.fields.List(ma.fields.Nested(StatsRowOut))
    by_month = ma.fields.List(ma.fields.Nested(StatsRowOut))
    workers = ma.fields.List(ma.fields.Nested(WorkerOut), metadata={
        "description": "Grid workers and leaders of the area: quick notes and cases found in the period"})
