"""One view, two answers: the whole page, or only its named block when htmx asks for a fragment."""

from __future__ import annotations

from typing import Any

from flask import make_response, render_template, request
from jinja2_fragments.flask import render_block


def render(template: str, block: str | None = None, status: int = 200, **context: Any) -> Any:
    is_htmx = bool(getattr(request, "htmx", False)) and not getattr(request.htmx, "boosted", False)
    body = render_block(template, block, **context) if block and is_htmx else render_template(template, **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response
