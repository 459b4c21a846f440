"""Grid cases' business rules, shared by the pages, the JSON API, Open311, the jobs and other modules.

Every function takes the session (bound to the tenant) and, where it acts, the tenant and the `Actor`;
none reads request globals. The parts: `base` (actor, refusals, settings), `categories`, `cases` (reporting,
the state machine, scope and work lists), `deadlines`, `photos`, `common` (common problems), `notes`
(quick notes and claimed compounds).
"""

from __future__ import annotations

from blueprints.grid_cases.services.base import MODULE, Actor, Refused, ServiceError, settings
from blueprints.grid_cases.services.cases import (
    STATE_LABELS,
    TRANSITIONS,
    act,
    available_actions,
    case_query,
    case_rows,
    get_case,
    list_cases,
    open_case_for_module,
    report_case,
    scope,
    timeline,
)
from blueprints.grid_cases.services.categories import (
    DEFAULT_CATEGORIES,
    add_category,
    categories_out,
    category_by_code,
    category_out,
    department_by_code,
    ensure_default_categories,
    list_categories,
    update_category,
)

__all__ = [
    "DEFAULT_CATEGORIES", "MODULE", "STATE_LABELS", "TRANSITIONS", "Actor", "Refused", "ServiceError", "act",
    "add_category", "available_actions", "case_query", "case_rows", "categories_out", "category_by_code",
    "category_out", "department_by_code", "ensure_default_categories", "get_case", "list_cases",
    "list_categories", "open_case_for_module", "report_case", "scope", "settings", "timeline", "update_category",
]
