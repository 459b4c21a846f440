"""Business feedback's rules, shared by the pages, the JSON API, the periodic jobs and the demo.

Every function takes the session (bound to the tenant) and, where it acts, the tenant and the `Actor`; none
reads request globals. The parts: `base` (actor, refusals, settings, number series), `lists` (kinds of
supervisor and business areas, provisioned once), `roster` (supervisors and their terms), `enterprises`,
`items` (submission, the state machine, scope, timeline) and `supervision` (督办 and term-expiry reminders).
"""

from __future__ import annotations

from blueprints.business_feedback.services.base import MODULE, Actor, Refused, ServiceError, settings
from blueprints.business_feedback.services.enterprises import add_enterprise, credit_code_error
from blueprints.business_feedback.services.figures import DepartmentFigures, department_figures
from blueprints.business_feedback.services.items import (
    STATE_LABELS,
    TRANSITIONS,
    act,
    get_item,
    item_rows,
    list_items,
    record_coordination,
    submit_item,
    timeline,
)
from blueprints.business_feedback.services.lists import DEFAULT_AREAS, DEFAULT_KINDS, ensure_defaults
from blueprints.business_feedback.services.roster import (
    appoint_supervisor,
    current_term,
    dismiss_supervisor,
    status_of,
    update_supervisor,
)

__all__ = [
    "DEFAULT_AREAS", "DEFAULT_KINDS", "MODULE", "STATE_LABELS", "TRANSITIONS", "Actor", "DepartmentFigures",
    "Refused", "ServiceError", "act", "add_enterprise", "appoint_supervisor", "credit_code_error", "current_term",
    "department_figures", "dismiss_supervisor",
    "ensure_defaults", "get_item", "item_rows", "list_items", "record_coordination", "settings", "status_of",
    "submit_item", "timeline", "update_supervisor",
]
