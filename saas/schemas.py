"""Marshmallow base schema and shared fields: the only home of field rules, for the API and for form posts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
import phonenumbers
from flask_babel import gettext as _
from stdnum.cn import ric, uscc

from saas.i18n import localize_errors

# C0 controls except tab and newline, and the BOM: nothing a person types, everything a fuzzer does
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufeff]")


MAX_ID = 2**63 - 1


class Id(ma.fields.Integer):
    """A row id or keyset cursor: a positive 63-bit integer (the API writes ids as strings)."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("validate", ma.validate.Range(min=1, max=MAX_ID))
        kwargs.setdefault("strict", False)
        super().__init__(**kwargs)


class Schema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    def handle_error(self, error: ma.ValidationError, data: Any, **kwargs: Any) -> None:
        error.messages = localize_errors(error.messages)  # type: ignore[misc]


class SearchWords(ma.fields.String):
    """What was typed into a search-as-you-type box beside a form (a unit's name): only a help for finding,
    never stored, so it is cut to `max_length` rather than refused, and control characters are dropped."""

    def __init__(self, *args: Any, max_length: int = 60, **kwargs: Any):
        kwargs.setdefault("load_default", "")
        super().__init__(*args, **kwargs)
        self._max = max_length

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        return _CONTROL.sub("", super()._deserialize(value, attr, data, **kwargs)).strip()[: self._max]


class Text(ma.fields.String):
    """A trimmed string without control characters; empty counts as missing when required."""

    def __init__(self, *args: Any, max_length: int = 200, min_length: int = 0, **kwargs: Any):
        validators = list(kwargs.pop("validate", []) or [])
        validators.append(ma.validate.Length(min=min_length, max=max_length))
        super().__init__(*args, validate=validators, **kwargs)
        self._min_length = min_length

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        if _CONTROL.search(text):
            raise ma.ValidationError(_("Contains characters that are not allowed."))
        text = text.strip()
        if self.required and not text:
            raise ma.ValidationError(_("This field is required."))
        return text


class NextUrl(ma.fields.String):
    """Where to go after a sign-in form: a hidden field the person can neither see nor fix, so a value no
    page would have put there (too long, control characters, not text) is dropped, never an error no one
    can read. Whether the target is on this site is checked where it is used."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        if not isinstance(value, str) or len(value) > 500 or _CONTROL.search(value):
            return ""
        return value.strip()


def normalize_phone(value: str) -> str | None:
    """A mainland mobile number as 11 digits, or None when it is not one."""
    raw = re.sub(r"[\s\-]", "", value or "")
    if not re.fullmatch(r"(\+?86)?1\d{10}", raw):
        return None
    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        return None
    return str(number.national_number)


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


def mask_id_number(value: str | None) -> str:
    if not value:
        return ""
    return value[:6] + "********" + value[-4:] if len(value) >= 10 else "****"


class Phone(ma.fields.String):
    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        phone = normalize_phone(text)
        if phone is None:
            raise ma.ValidationError(_("Enter a valid mainland mobile number, for example 13812345678."))
        return phone


def resident_id(value: str) -> str | None:
    """An 18-character resident ID number with a real birth date and a right check digit, or None.

    Not `ric.is_valid`: python-stdnum also looks the first six digits up in its own list of region codes, which
    lacks real districts (万柏林区's 140109) and refuses a code for anyone born before the code existed, which is
    most elderly residents: their numbers were issued in the 1980s with the district's code of that time.
    """
    number = ric.compact(value or "").upper()
    if not re.fullmatch(r"[1-9]\d{16}[\dX]", number):
        return None
    try:
        born = ric.get_birth_date(number)
    except ValueError:
        return None
    if born.year < 1880 or ric.calc_check_digit(number) != number[-1]:
        return None
    return number


class ResidentId(ma.fields.String):
    """A Chinese resident ID number (居民身份证号码): its birth date and check digit verified."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        number = resident_id(super()._deserialize(value, attr, data, **kwargs).strip())
        if number is None:
            raise ma.ValidationError(_("Not a valid resident ID number."))
        return number


class CreditCode(ma.fields.String):
    """A unified social credit code (统一社会信用代码), checksum verified."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs).strip().upper()
        if not uscc.is_valid(text):
            raise ma.ValidationError(_("Not a valid unified social credit code."))
        return uscc.compact(text)


def load_form(schema: ma.Schema, form: Mapping[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Validate a posted form with the same schema the API uses: (data, {}) or (None, errors by field)."""
    raw = {k: v for k, v in form.items() if k != "csrf_token"}
    try:
        return schema.load(raw), {}
    except ma.ValidationError as err:
        messages = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
        return None, {k: (v if isinstance(v, list) else [v]) for k, v in messages.items()}
