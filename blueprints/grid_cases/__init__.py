"""网格事件 (grid cases): the module's manifest, its one public object."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from saas.modules import ModuleSpec, NavEntry, Setting, Widget


def _views():  # type: ignore[no-untyped-def]
    from blueprints.grid_cases.views import bp

    return bp


def _api():  # type: ignore[no-untyped-def]
    from blueprints.grid_cases.api import blp

    return blp


def _demo(session, tenant):  # type: ignore[no-untyped-def]
    from blueprints.grid_cases.services import ensure_default_categories

    ensure_default_categories(session, tenant)


module = ModuleSpec(
    key="grid_cases",
    name_zh="网格事件",
    name_en="Grid cases",
    version="0.1.0",
    description=_l("Problems found on patrol or reported by residents, handled level by level and closed."),
    permissions={
        "grid_cases.view": _l("See cases of one's units"),
        "grid_cases.report": _l("Report cases"),
        "grid_cases.configure": _l("Edit categories and deadlines"),
        "grid_cases.stats": _l("See case statistics"),
    },
    grants={
        "district_admin": ("grid_cases.view", "grid_cases.configure", "grid_cases.stats"),
        "street_officer": ("grid_cases.view", "grid_cases.stats"),
        "community_cadre": ("grid_cases.view", "grid_cases.report"),
        "grid_leader": ("grid_cases.view", "grid_cases.report"),
        "grid_worker": ("grid_cases.view", "grid_cases.report"),
        "dept_handler": ("grid_cases.view",),
    },
    settings=(
        Setting("case_prefix", _l("Case number prefix"), str, "XD", max_length=8),
        Setting("reminder_hours", _l("Remind this many hours before a deadline"), int, 24, min=1, max=240),
        Setting("common_problem_threshold", _l("Open cases of one category in one compound that make a common "
                                               "problem"), int, 3, min=2, max=50),
        Setting("common_problem_window_days", _l("Window for common problems, in days"), int, 14, min=1, max=90),
        Setting("reopen_on_unsatisfied", _l("Reopen a case once when the reporter is not satisfied"), bool, True),
    ),
    nav=(NavEntry("grid_cases.categories", _l("Case categories"), "grid_cases.view"),),
    widgets=(Widget("grid_cases.widget_categories", _l("Case categories"), "grid_cases.view"),),
    views=_views,
    api=_api,
    models="blueprints.grid_cases.models",
    demo=_demo,
)
