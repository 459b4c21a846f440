"""One view, two answers: the whole page, or only its named block when htmx asks for a fragment."""

from __future__ import annotations

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
