"""Business feedback's pages under /t/<tenant>/business_feedback/: full pages for phones and desktops.

One blueprint, `business_feedback`, with its routes in the modules below; the kernel registers it behind the
module's switch. Every view calls the services, the same ones the JSON API calls.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("business_feedback", __name__, template_folder="../templates")

from blueprints.business_feedback.views import items, roster, stats, visits  # noqa: E402, F401

__all__ = ["bp"]
