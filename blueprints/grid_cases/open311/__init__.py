"""Open311 GeoReport v2 for grid cases at /open311/v2/ (a `Mount` of the module's manifest).

One blueprint, `open311`, outside `/t/<tenant>/`: each request names its district with `jurisdiction_id`
(the district's slug), which the blueprint resolves itself before the kernel checks that grid cases are on
there. What it answers, and to whom, is in `services.open311`; the two formats are in `formats`.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("open311", __name__)

from blueprints.grid_cases.open311 import views  # noqa: E402, F401

__all__ = ["bp"]
