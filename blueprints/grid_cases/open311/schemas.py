"""Field rules of Open311's parameters (GeoReport v2): the query of GET requests and the form of POST requests.

The spec says an optional parameter sent empty counts as not sent, so the views drop empty values before
loading; a parameter that may be declared several times (`service_code=a&service_code=b`) arrives joined
with commas, the spec's other way of listing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from flask_babel import gettext as _

from saas.schemas import Phone, Text
from saas.schemas import Schema as BaseSchema

# the W3C note's profile of ISO 8601 (https://www.w3.org/TR/NOTE-datetime): a complete date, or a date and a
# time with minutes, optional seconds and fraction, and the time zone, which a time must carry
_W3C = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2}))?$")
STATUSES = ("open", "closed")
MAX_LISTED = 1000


class W3CDateTime(ma.fields.Field):
    """A moment with its time zone (`2010-01-01T00:00:00Z`), or a date alone (the whole day, where it is)."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        match = _W3C.match(value.strip()) if isinstance(value, str) else None
        if match is None:
            raise ma.ValidationError(_("Use a W3C date-time with its time zone, like 2010-01-01T00:00:00Z."))
        year, month, day, hour, minute, second, fraction, zone = match.groups()
        try:
            if hour is None:
                return dt.date(int(year), int(month), int(day))
            offset = dt.UTC if zone == "Z" else _offset(zone)
            micro = int((fraction or "0")[:6].ljust(6, "0"))
            return dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro,
                               tzinfo=offset)
        except ValueError:
            raise ma.ValidationError(_("This date or time does not exist.")) from None


def _offset(text: str) -> dt.timezone:
    sign = -1 if text[0] == "-" else 1
    hours, minutes = int(text[1:3]), int(text[4:6])
    if hours > 23 or minutes > 59:
        raise ValueError(text)
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


class CommaList(ma.fields.Field):
    """`a,b,c`: the values, trimmed, empty ones dropped; at most 1000 of them."""

    def __init__(self, *, max_length: int, choices: tuple[str, ...] = (), **kwargs: Any):
        super().__init__(**kwargs)
        self.max_length = max_length
        self.choices = choices

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        if not isinstance(value, str):
            raise ma.ValidationError(_("Not a valid string."))
        items = list(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
        if len(items) > MAX_LISTED:
            raise ma.ValidationError(_("At most %(n)s values.", n=MAX_LISTED))
        for item in items:
            if len(item) > self.max_length or not item.isprintable():
                raise ma.ValidationError(_("Not a valid value: %(value)s", value=item[:40]))
            if self.choices and item not in self.choices:
                raise ma.ValidationError(_("Not one of: %(choices)s", choices=", ".join(self.choices)))
        return items


class Description(Text):
    """Free text with line breaks however the client ends its lines (a browser's form sends CR LF)."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        if isinstance(value, str):
            value = value.replace("\r\n", "\n").replace("\r", "\n")
        return super()._deserialize(value, attr, data, **kwargs)


class Schema(BaseSchema):
    class Meta:
        # the spec's other parameters (api_key, jurisdiction_id, attribute[...]) are read elsewhere or ignored
        unknown = ma.EXCLUDE


class RequestsQuery(Schema):
    service_request_id = CommaList(max_length=32, load_default=None)
    service_code = CommaList(max_length=32, load_default=None)
    start_date = W3CDateTime(load_default=None)
    end_date = W3CDateTime(load_default=None)
    status = CommaList(max_length=8, choices=STATUSES, load_default=None)


class RequestIn(Schema):
    service_code = Text(required=True, max_length=32)
    lat = ma.fields.Float(load_default=None, validate=ma.validate.Range(min=-90, max=90))
    long = ma.fields.Float(load_default=None, validate=ma.validate.Range(min=-180, max=180))
    address_string = Text(load_default="", max_length=200)
    address_id = Text(load_default="", max_length=64)
    email = ma.fields.Email(load_default=None, validate=ma.validate.Length(max=255))
    device_id = Text(load_default="", max_length=100)
    account_id = Text(load_default="", max_length=100)
    first_name = Text(load_default="", max_length=40)
    last_name = Text(load_default="", max_length=40)
    phone = Phone(load_default=None)
    description = Description(load_default="", max_length=4000)
    media_url = ma.fields.Url(load_default=None, schemes={"http", "https"}, validate=ma.validate.Length(max=500))

    @ma.validates_schema
    def _location(self, data: dict[str, Any], **kwargs: Any) -> None:
        lat, lng = data.get("lat"), data.get("long")
        if (lat is None) != (lng is None):
            raise ma.ValidationError(_("Send lat and long together."), "lat" if lat is None else "long")
        if lat is None and not data.get("address_string") and not data.get("address_id"):
            raise ma.ValidationError(_("Say where the problem is: lat and long, address_string or address_id."),
                                     "address_string")
