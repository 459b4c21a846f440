"""Languages (Simplified Chinese by default, English on request), time zones and localized validation messages."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, g, has_request_context, request, session
from flask_babel import Babel, format_datetime, get_locale, gettext
from flask_babel import lazy_gettext as _l

babel = Babel()


def select_locale() -> str:
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    lang = session.get("lang")
    if lang in current_app.config["LANGUAGES"]:
        return lang
    # a standard API client can ask for English; pages keep Chinese unless the person switches
    if request.path.startswith(("/api/", "/open311/")):
        return request.accept_languages.best_match(current_app.config["LANGUAGES"]) or "zh_CN"
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    tenant = g.get("tenant")
    return tenant.timezone if tenant is not None else current_app.config["BABEL_DEFAULT_TIMEZONE"]


def locale_code() -> str:
    return str(get_locale() or "zh_CN")


def local_dt(value: dt.datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    if value is None:
        return ""
    return format_datetime(value, fmt)


def tenant_now(tz: str) -> dt.datetime:
    return dt.datetime.now(ZoneInfo(tz))


# marshmallow's own messages, marked here so they are extracted into the catalogues; they arrive
# formatted ("Longer than maximum length 5."), so each template becomes a pattern to translate back
MARSHMALLOW_MESSAGES = [
    _l("Missing data for required field."),
    _l("Field may not be null."),
    _l("Invalid value."),
    _l("Not a valid string."),
    _l("Not a valid integer."),
    _l("Not a valid number."),
    _l("Not a valid boolean."),
    _l("Not a valid datetime."),
    _l("Not a valid date."),
    _l("Not a valid time."),
    _l("Not a valid email address."),
    _l("Not a valid URL."),
    _l("Not a valid list."),
    _l("Not a valid mapping type."),
    _l("Invalid input type."),
    _l("Unknown field."),
    _l("Invalid data."),
    _l("Shorter than minimum length {min}."),
    _l("Longer than maximum length {max}."),
    _l("Length must be between {min} and {max}."),
    _l("Length must be {equal}."),
    _l("Must be greater than or equal to {min}."),
    _l("Must be less than or equal to {max}."),
    _l("Must be greater than or equal to {min} and less than or equal to {max}."),
    _l("Must be one of: {choices}."),
    _l("String does not match expected pattern."),
    _l("Must be greater than {min}."),
    _l("Must be less than {max}."),
    _l("Numbers must be within the range."),
    _l("Number too large."),
]


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
    return re.compile(f"^{regex}$")


# longest template first: "Must be greater than or equal to {min}." would otherwise swallow the range
# message ("... to 1 and less than or equal to 90.") with min = "1 and less than or equal to 90"
_PATTERNS = sorted(
    ((m._args[0], _pattern(m._args[0])) for m in MARSHMALLOW_MESSAGES),  # type: ignore[attr-defined]
    key=lambda tp: len(tp[0]),
    reverse=True,
)


def localize_message(message: str) -> str:
    for template, pattern in _PATTERNS:
        match = pattern.match(message)
        if match:
            return gettext(template).format(**match.groupdict())
    return message


def localize_errors(errors: Any) -> Any:
    """Translate marshmallow's English messages (nested dicts and lists) into the request's language."""
    if isinstance(errors, dict):
        return {k: localize_errors(v) for k, v in errors.items()}
    if isinstance(errors, list):
        return [localize_errors(v) for v in errors]
    if isinstance(errors, str):
        return localize_message(errors)
    return str(errors)
