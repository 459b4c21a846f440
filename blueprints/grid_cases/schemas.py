"""Field rules of grid cases, shared by the API and the pages (form posts load the same schemas)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
import phonenumbers
from flask_babel import gettext as _
from phonenumbers import PhoneNumberType, shortnumberinfo

from blueprints.grid_cases.models import NOTE_KINDS, RATINGS, STATES, URGENCIES
from saas.schemas import Id, Phone, Schema, Text, normalize_phone

CODE = ma.validate.Regexp(r"^[A-Za-z0-9_-]+$")
FIRST_YEAR, LAST_YEAR = 2000, 2100  # the calendar's range (tenants.district): a day outside it is a typing mistake


class Day(ma.fields.Date):
    """A local day of a filter (YYYY-MM-DD): empty means not given, as a browser sends an empty date field."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("load_default", None)
        kwargs.setdefault("allow_none", True)
        super().__init__(**kwargs)

    def deserialize(self, value: Any, attr: str | None = None, data: Mapping[str, Any] | None = None,
                    **kwargs: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            value = None
        return super().deserialize(value, attr, data, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        day = super()._deserialize(value.strip() if isinstance(value, str) else value, attr, data, **kwargs)
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise ma.ValidationError(_("Choose a date between %(first)s and %(last)s.", first=FIRST_YEAR,
                                       last=LAST_YEAR))
        return day
STATE_FILTERS = (*STATES, "open", "final")


# --- categories -------------------------------------------------------------------------------------


class CategoryIn(Schema):
    code = Text(required=True, max_length=32, validate=[CODE])
    name = Text(required=True, max_length=60)
    department_code = Text(load_default="", max_length=64,
                           metadata={"description": "The department cases of this category are dispatched to"})
    deadline_days = ma.fields.Integer(load_default=5, validate=ma.validate.Range(min=1, max=90), strict=False,
                                      metadata={"description": "Working days to resolve an ordinary case"})
    urgent_hours = ma.fields.Integer(load_default=8, validate=ma.validate.Range(min=1, max=240), strict=False,
                                     metadata={"description": "Working hours to resolve an urgent case"})
    public = ma.fields.Boolean(load_default=True,
                               metadata={"description": "Cases of this category are listed publicly (Open311)"})
    description = Text(load_default="", max_length=200)


class CategoryPatch(Schema):
    name = Text(max_length=60, min_length=1)
    department_code = Text(max_length=64, metadata={"description": "Empty: no default department"})
    deadline_days = ma.fields.Integer(validate=ma.validate.Range(min=1, max=90), strict=False)
    urgent_hours = ma.fields.Integer(validate=ma.validate.Range(min=1, max=240), strict=False)
    public = ma.fields.Boolean()
    description = Text(max_length=200)
    active = ma.fields.Boolean(metadata={"description": "False: no longer offered for new cases"})


class CategoryOut(Schema):
    id = ma.fields.String()
    code = ma.fields.String()
    name = ma.fields.String()
    department_code = ma.fields.String(allow_none=True)
    department_name = ma.fields.String(allow_none=True)
    deadline_days = ma.fields.Integer()
    urgent_hours = ma.fields.Integer()
    public = ma.fields.Boolean()
    description = ma.fields.String()
    active = ma.fields.Boolean()


# --- cases --------------------------------------------------------------------------------------------


class CaseIn(Schema):
    """A report. Staff give `source` patrol (default), phone or hotline; a resident's phone call needs the
    resident's number."""

    category_code = Text(required=True, max_length=32, metadata={"description": "A category code of the district"})
    location_code = Text(load_default=None, allow_none=True, max_length=64, metadata={
        "description": "Code of the grid, compound, building or unit where the problem is"})
    urgency = ma.fields.String(load_default="normal", validate=ma.validate.OneOf(URGENCIES))
    address = Text(load_default="", max_length=200, metadata={"description": "Free address, e.g. 3号楼2单元门口"})
    lat = ma.fields.Float(load_default=None, allow_none=True, validate=ma.validate.Range(min=-90, max=90))
    lng = ma.fields.Float(load_default=None, allow_none=True, validate=ma.validate.Range(min=-180, max=180))
    description = Text(required=True, max_length=2000, min_length=2)
    source = ma.fields.String(load_default="patrol", validate=ma.validate.OneOf(("patrol", "phone", "hotline")))
    source_ref = Text(load_default=None, allow_none=True, max_length=80,
                      metadata={"description": "The hotline's own ticket number, for a hotline case"})
    reporter_name = Text(load_default="", max_length=80)
    reporter_phone = Phone(load_default=None, allow_none=True)


class PublicCaseIn(Schema):
    """A resident's report through the public form (the phone is verified by a code)."""

    category_code = Text(required=True, max_length=32)
    location_code = Text(required=True, max_length=64)
    address = Text(load_default="", max_length=200)
    description = Text(required=True, max_length=2000, min_length=2)
    reporter_name = Text(load_default="", max_length=80)
    source = ma.fields.String(load_default="web", validate=ma.validate.OneOf(("web", "qr")))


class CaseFilter(Schema):
    class Meta:
        unknown = ma.EXCLUDE

    view = ma.fields.String(load_default="area", metadata={
        "description": "area, new, accept, todo, department, verify, overdue, claimed or mine"})
    q = Text(load_default="", max_length=80, metadata={"description": "A case number, or words of the text"})
    category = Text(load_default="", max_length=32)
    state = ma.fields.String(load_default="", validate=ma.validate.OneOf(("", *STATE_FILTERS)))
    grid = Text(load_default="", max_length=64, metadata={"description": "Code of a grid, community or street"})
    urgency = ma.fields.String(load_default="", validate=ma.validate.OneOf(("", *URGENCIES)))
    since = Day()
    until = Day()
    overdue = ma.fields.Boolean(load_default=False)
    before = Id(load_default=None, allow_none=True, metadata={"description": "Keyset cursor: `next` of the page"})
    limit = ma.fields.Integer(load_default=30, validate=ma.validate.Range(min=1, max=200), strict=False)


class TransitionIn(Schema):
    action = ma.fields.String(required=True, metadata={"description": "accept, reject, send_down, handle, escalate, "
                                                       "dispatch, take, return, request_extension, "
                                                       "approve_extension, refuse_extension, resolve, verify, "
                                                       "send_back, close or rate"})
    version = ma.fields.Integer(required=True, strict=False, validate=ma.validate.Range(min=1, max=2**31 - 1),
                                metadata={"description": "The case's version as read: a stale one is refused (409)"})
    note = Text(load_default="", max_length=1000)
    department_code = Text(load_default="", max_length=64, metadata={"description": "dispatch: the department"})
    days = ma.fields.Integer(load_default=None, allow_none=True, strict=False,
                             validate=ma.validate.Range(min=1, max=30),
                             metadata={"description": "request_extension: working days asked for"})
    result = Text(load_default="", max_length=2000, metadata={"description": "resolve: what was done"})
    rating = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.OneOf(RATINGS),
                              metadata={"description": "rate: satisfied, basically or unsatisfied"})
    comment = Text(load_default="", max_length=500)


class PhotoOut(Schema):
    id = ma.fields.String()
    stage = ma.fields.String()
    width = ma.fields.Integer()
    height = ma.fields.Integer()
    size = ma.fields.Integer()
    created_at = ma.fields.DateTime()
    url = ma.fields.String()


class EventOut(Schema):
    id = ma.fields.String()
    at = ma.fields.DateTime()
    action = ma.fields.String()
    label = ma.fields.String()
    actor = ma.fields.String(metadata={"description": "The person's name (staff only; residents see the role)"})
    role = ma.fields.String()
    from_state = ma.fields.String(allow_none=True)
    to_state = ma.fields.String(allow_none=True)
    note = ma.fields.String()
    public = ma.fields.Boolean()
    data = ma.fields.Dict()


class CaseOut(Schema):
    id = ma.fields.String()
    number = ma.fields.String()
    state = ma.fields.String()
    state_label = ma.fields.String()
    source = ma.fields.String()
    urgency = ma.fields.String()
    category_code = ma.fields.String(allow_none=True)
    category = ma.fields.String()
    street = ma.fields.String()
    community = ma.fields.String()
    grid = ma.fields.String()
    grid_code = ma.fields.String(allow_none=True)
    compound = ma.fields.String()
    building = ma.fields.String()
    address = ma.fields.String()
    lat = ma.fields.Float(allow_none=True)
    lng = ma.fields.Float(allow_none=True)
    description = ma.fields.String()
    level = ma.fields.String(metadata={"description": "The unit holding the case now"})
    level_code = ma.fields.String(allow_none=True)
    department = ma.fields.String()
    department_code = ma.fields.String(allow_none=True)
    reporter_name = ma.fields.String()
    reporter_phone = ma.fields.String(metadata={"description": "Masked: 138****5678"})
    deadline_at = ma.fields.DateTime(allow_none=True, metadata={"description": "When the current step is due"})
    resolve_by = ma.fields.DateTime(allow_none=True)
    overdue = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
    resolved_at = ma.fields.DateTime(allow_none=True)
    closed_at = ma.fields.DateTime(allow_none=True)
    result = ma.fields.String(allow_none=True)
    rating = ma.fields.String(allow_none=True)
    rating_comment = ma.fields.String(allow_none=True)
    reopened = ma.fields.Integer()
    extension_days = ma.fields.Integer(allow_none=True)
    common_problem_id = ma.fields.String(allow_none=True)
    version = ma.fields.Integer()
    actions = ma.fields.List(ma.fields.String(), metadata={"description": "What the caller may do now"})


class CaseDetailOut(CaseOut):
    timeline = ma.fields.List(ma.fields.Nested(EventOut))
    photos = ma.fields.List(ma.fields.Nested(PhotoOut))


class CasePage(Schema):
    items = ma.fields.List(ma.fields.Nested(CaseOut))
    next = ma.fields.String(allow_none=True, metadata={"description": "Pass as `before` for the next page"})


# --- quick notes, claims, common problems ----------------------------------------------------------


class NoteIn(Schema):
    kind = ma.fields.String(load_default="patrol", validate=ma.validate.OneOf(NOTE_KINDS))
    text = Text(required=True, max_length=200, min_length=1)
    grid_code = Text(load_default="", max_length=64)


class NoteFilter(Schema):
    class Meta:
        unknown = ma.EXCLUDE

    kind = ma.fields.String(load_default="", validate=ma.validate.OneOf(("", *NOTE_KINDS)))
    all = ma.fields.Boolean(load_default=False, metadata={"description": "The notes of every grid one sees"})
    before = Id(load_default=None, allow_none=True)
    limit = ma.fields.Integer(load_default=30, validate=ma.validate.Range(min=1, max=200), strict=False)


class NoteOut(Schema):
    id = ma.fields.String()
    kind = ma.fields.String()
    kind_label = ma.fields.String()
    text = ma.fields.String()
    grid = ma.fields.String()
    grid_code = ma.fields.String(allow_none=True)
    author = ma.fields.String()
    created_at = ma.fields.DateTime()
    case_id = ma.fields.String(allow_none=True)
    case_number = ma.fields.String(allow_none=True)
    photos = ma.fields.List(ma.fields.String())


class NotePage(Schema):
    items = ma.fields.List(ma.fields.Nested(NoteOut))
    next = ma.fields.String(allow_none=True)


class PromoteIn(Schema):
    category_code = Text(required=True, max_length=32)
    urgency = ma.fields.String(load_default="normal", validate=ma.validate.OneOf(URGENCIES))
    description = Text(load_default="", max_length=2000)
    address = Text(load_default="", max_length=200)
    location_code = Text(load_default="", max_length=64)


class ClaimIn(Schema):
    compound_code = Text(required=True, max_length=64)


class ClaimOut(Schema):
    id = ma.fields.String()
    compound_code = ma.fields.String()
    compound = ma.fields.String()
    created_at = ma.fields.DateTime()


class CommonLinkIn(Schema):
    place_code = Text(required=True, max_length=64, metadata={"description": "The compound or building"})
    category_code = Text(required=True, max_length=32)
    title = Text(load_default="", max_length=120)
    case_ids = ma.fields.List(Id(), load_default=None, allow_none=True,
                              metadata={"description": "Only these cases (default: every open one of the group)"})


class CommonResolveIn(Schema):
    result = Text(required=True, max_length=2000, min_length=1)


class OfferedCaseOut(Schema):
    id = ma.fields.String()
    number = ma.fields.String()


class SuggestionOut(Schema):
    place_id = ma.fields.String()
    place = ma.fields.String()
    place_kind = ma.fields.String()
    place_code = ma.fields.String()
    category_id = ma.fields.String()
    category_code = ma.fields.String()
    category = ma.fields.String()
    count = ma.fields.Integer()
    since = ma.fields.DateTime()
    cases = ma.fields.List(ma.fields.Nested(OfferedCaseOut),
                           metadata={"description": "The cases offered, newest first"})


class CommonOut(Schema):
    id = ma.fields.String()
    title = ma.fields.String()
    state = ma.fields.String()
    place = ma.fields.String()
    category = ma.fields.String()
    created_at = ma.fields.DateTime()
    result = ma.fields.String(allow_none=True)
    resolved_at = ma.fields.DateTime(allow_none=True)
    cases = ma.fields.List(ma.fields.String(), metadata={"description": "Numbers of the linked cases"})


class RatingIn(Schema):
    rating = ma.fields.String(required=True, validate=ma.validate.OneOf(RATINGS))
    comment = Text(load_default="", max_length=500)
    version = ma.fields.Integer(required=True, strict=False, validate=ma.validate.Range(min=1, max=2**31 - 1))


# --- contact cards (便民服务连心卡) -----------------------------------------------------------------
# The phone rule: a card prints numbers residents will dial, and a community's hotline or a police office is often
# a fixed line. So a card's number is either a mainland mobile number (the kernel's rule, `saas.schemas.Phone`,
# stored as 11 digits) or a fixed line written with its area code (`0351-1234567`, `010 1234 5678`,
# `+86 351 1234567`), checked against the numbering plan by `phonenumbers` and stored as `0351-1234567`. The
# hotline may also be a short service number the numbering plan knows for China (12345, 95598). A fixed line
# without its area code is refused: a card is read in a district where the caller's own area code may differ, and
# a number that cannot be dialled as printed is worse than none.

_SEPARATORS = re.compile(r"[\s\-()（）]")
# domestic: 0, an area code of 2 or 3 digits and a local number of 7 or 8; abroad: +86 (or 0086) without the 0
_FIXED = re.compile(r"0\d{9,11}|(?:\+|00)86[1-9]\d{8,10}")
_SHORT = re.compile(r"[1-9]\d{4,5}")
_FIXED_TYPES = (PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


def card_phone(value: str, *, short: bool = False) -> str | None:
    """A number as the card prints it (13812345678, 0351-1234567, 12345), or None when it is none of these."""
    if len(value) > 30:
        return None
    mobile = normalize_phone(value)
    if mobile is not None:
        return mobile
    raw = _SEPARATORS.sub("", value)
    if short and _SHORT.fullmatch(raw):
        number = phonenumbers.parse(raw, "CN")
        return raw if shortnumberinfo.is_valid_short_number_for_region(number, "CN") else None
    if not _FIXED.fullmatch(raw):
        return None
    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 86 or not phonenumbers.is_valid_number(number) or \
            phonenumbers.number_type(number) not in _FIXED_TYPES:
        return None
    national = phonenumbers.national_significant_number(number)
    area = phonenumbers.length_of_geographical_area_code(number)
    if not area:
        return None
    return f"0{national[:area]}-{national[area:]}"


class CardPhone(ma.fields.String):
    """A number to print on a card (the rule above); empty is allowed and means "not known yet"."""

    def __init__(self, *, short: bool = False, **kwargs: Any):
        kwargs.setdefault("load_default", "")
        kwargs.setdefault("metadata", {"description": (
            "A mainland mobile number or a fixed line with its area code (0351-1234567)"
            + (", or a short service number such as 12345" if short else "") + "; empty when not known")})
        super().__init__(**kwargs)
        self.short = short

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text:
            return ""
        phone = card_phone(text, short=self.short)
        if phone is None:
            if self.short:
                raise ma.ValidationError(_("Enter a mobile number, a fixed line with its area code (0351-1234567) "
                                           "or a service number such as 12345."))
            raise ma.ValidationError(_("Enter a mobile number (13812345678) or a fixed line with its area code "
                                       "(0351-1234567)."))
        return phone


class CardIn(Schema):
    """The editable fields of a grid's card. PUT replaces them all: a field left out is emptied."""

    police_name = Text(load_default="", max_length=80, metadata={"description": "The community police officer"})
    police_phone = CardPhone()
    doctor_name = Text(load_default="", max_length=80, metadata={"description": "The community doctor"})
    doctor_phone = CardPhone()
    hotline = CardPhone(short=True)
    note = Text(load_default="", max_length=200, metadata={"description": "A line printed at the foot of the card"})
    version = ma.fields.Integer(load_default=None, allow_none=True, validate=ma.validate.Range(min=0), metadata={
        "description": "The card's `version` as you read it: if someone saved the card since, the save is refused "
                       "with 409 and changes nothing. Left out, the last save wins."})


class CardFilter(Schema):
    """The list of grids and their cards: one community, words of a grid's name or code, or the unfinished ones."""

    community = Text(load_default="", max_length=64, metadata={"description": "Code of a community"})
    q = Text(load_default="", max_length=60, metadata={"description": "Words of the grid's name or code"})
    todo = ma.fields.Boolean(load_default=False, metadata={
        "description": "Only grids whose card lacks the police officer, the doctor or the hotline"})
    after = Id(load_default=None, allow_none=True, metadata={"description": "The last grid of the previous page"})


class CardPersonOut(Schema):
    name = ma.fields.String()
    phone = ma.fields.String(metadata={"description": "In full: the card publishes it"})
    role = ma.fields.String(metadata={"description": "grid_leader or grid_worker"})


class UnitRefOut(Schema):
    id = ma.fields.String()
    code = ma.fields.String()
    name = ma.fields.String()


class CardOut(Schema):
    grid = ma.fields.Nested(UnitRefOut)
    community = ma.fields.Nested(UnitRefOut, allow_none=True)
    street = ma.fields.Nested(UnitRefOut, allow_none=True)
    leaders = ma.fields.List(ma.fields.Nested(CardPersonOut), metadata={
        "description": "The grid's leaders, from the role grants on the grid"})
    workers = ma.fields.List(ma.fields.Nested(CardPersonOut), metadata={
        "description": "The grid's workers, from the role grants on the grid"})
    police_name = ma.fields.String()
    police_phone = ma.fields.String()
    doctor_name = ma.fields.String()
    doctor_phone = ma.fields.String()
    hotline = ma.fields.String()
    note = ma.fields.String()
    complete = ma.fields.Boolean(metadata={"description": "The police officer, the doctor and the hotline are given"})
    report_url = ma.fields.String(metadata={"description": "What the card's QR code opens: the grid's report form"})
    updated_at = ma.fields.DateTime(allow_none=True, metadata={"description": "Last saved; null: never edited"})
    version = ma.fields.Integer(metadata={"description": "Send it back with a PUT to refuse overwriting a newer save; "
                                                         "0 before the first save"})


# --- statistics (the period's own rules are the service's: services.stats.period_for) ------------------


class StatsQuery(Schema):
    class Meta:
        unknown = ma.EXCLUDE

    since = Day(metadata={
        "description": "First local day of the period (default: the first day of the month 12 months ago)"})
    until = Day(metadata={
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
