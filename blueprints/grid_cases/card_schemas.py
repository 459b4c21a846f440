"""Field rules of the contact card (便民服务连心卡), shared by its API and its form posts.

Kept beside `schemas.py` rather than in it so that the card can be worked on apart from the rest of the module.

The phone rule: a card prints numbers residents will dial, and a community's hotline or a police office is often
a fixed line. So a card's number is either a mainland mobile number (the kernel's rule, `saas.schemas.Phone`,
stored as 11 digits) or a fixed line written with its area code (`0351-1234567`, `010 1234 5678`,
`+86 351 1234567`), checked against the numbering plan by `phonenumbers` and stored as `0351-1234567`. The
hotline may also be a short service number the numbering plan knows for China (12345, 95598). A fixed line
without its area code is refused: a card is read in a district where the caller's own area code may differ, and
a number that cannot be dialled as printed is worse than none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
import phonenumbers
from flask_babel import gettext as _
from phonenumbers import PhoneNumberType, shortnumberinfo

from saas.schemas import Id, Schema, Text, normalize_phone

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
    """A number to print on a card (see the module's docstring); empty is allowed and means "not known yet"."""

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
