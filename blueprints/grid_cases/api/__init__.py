"""Grid cases' JSON API under /api/v1/t/<tenant>/grid_cases/ (flask-smorest; the OpenAPI document lists it).

One blueprint, `grid_cases_api`, with its operations in the modules below; the kernel registers it behind the
module's switch and the bearer token. The operations call the services the pages call.
"""

from __future__ import annotations

from saas.api import Blueprint

blp = Blueprint("grid_cases_api", __name__, description="网格事件 / Grid cases")

from blueprints.grid_cases.api import cards, cases, categories, hotline, notes, stats  # noqa: E402, F401

__all__ = ["blp"]
