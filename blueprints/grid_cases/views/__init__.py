"""Grid cases' pages under /t/<tenant>/grid_cases/: full pages and htmx fragments.

One blueprint, `grid_cases`, with its routes in the modules below; the kernel registers it behind the
module's switch. Every view calls the services, the same ones the JSON API calls.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("grid_cases", __name__, template_folder="../templates")

from blueprints.grid_cases.views import admin, cards, cases, hotline, notes, public, stats  # noqa: E402, F401

__all__ = ["bp"]
