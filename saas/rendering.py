"""One view, two answers: the whole page, or only its named block when htmx asks for a fragment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import make_response, render_template, request
from jinja2_fragments.flask import render_block


def render(template: str, block: str | None = None, status: int = 200, **context: Any) -> Any:
    is_htmx = bool(getattr(request, "htmx", False)) and not getattr(request.htmx, "boosted", False)
    body = render_block(template, block, **context) if block and is_htmx else render_template(template, **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


# the cookie that keeps the larger-text, higher-contrast pages (长辈版) on for a browser, no account needed
ELDER_COOKIE = "wgt_elder"


def elder_mode() -> bool:
    return request.cookies.get(ELDER_COOKIE) == "1"


def error_items(errors: Any) -> list[tuple[str | None, str]]:
    """A refused form's messages in order, each with the name of the field it belongs to (None: the whole form),
    for the error summary (macros.form_errors). Services answer {field: message or [messages]}, marshmallow nests
    {field: {index: [...]}} and a page with several forms {form: {field: [...]}}: the innermost named key wins."""
    if not isinstance(errors, Mapping):
        return []
    items: list[tuple[str | None, str]] = []

    def walk(value: Any, field: str | None) -> None:
        if isinstance(value, str):
            items.append((field, value))
        elif isinstance(value, Mapping):
            for key, inner in value.items():
                named = isinstance(key, str) and not key.isdigit() and key not in ("_form", "_schema")
                walk(inner, key if named else (None if key in ("_form", "_schema") else field))
        elif isinstance(value, list | tuple):
            for inner in value:
                walk(inner, field)

    walk(errors, None)
    return items


def safe_next(target: str | None) -> str:
    """Where to go after a form: `target` when it is on this site, else the page the person came from (when on
    this site), else the start; never another site (an open redirect)."""
    if not target:
        return request.referrer if request.referrer and _same_site(request.referrer) else "/"
    return target if _same_site(target) else "/"


def _same_site(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return parts.netloc == request.host and parts.scheme in ("http", "https")
    return url.startswith("/") and not url.startswith("//")
