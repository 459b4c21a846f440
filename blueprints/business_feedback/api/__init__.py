"""Business feedback's JSON API under /api/v1/t/<tenant>/business_feedback/ (flask-smorest).

One blueprint, `business_feedback_api`; the kernel registers it behind the module's switch and the bearer token.
The operations call the services the pages call.
"""

from __future__ import annotations

from saas.api import Blueprint

blp = Blueprint("business_feedback_api", __name__, description="营商环境监督 / Business environment supervision")

from blueprints.business_feedback.api import items, roster, stats, visits  # noqa: E402, F401

__all__ = ["blp"]
