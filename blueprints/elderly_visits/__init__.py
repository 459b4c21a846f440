"""为老服务 (elderly visits): the module's manifest, its one public object."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from saas.audit import AuditWords
from saas.modules import ModuleSpec, NavEntry, PeriodicJob, Setting, Widget
from saas.notify import NoticeTemplate


def _audit_words():  # type: ignore[no-untyped-def]
    return AuditWords(
        actions={
            "elderly_visits.register": _l("Elderly resident registered"),
            "elderly_visits.visit": _l("Visit logged"),
            "elderly_visits.need_resolved": _l("Need resolved"),
            "elderly_visits.view_sensitive": _l("Health notes and contacts viewed"),
            "elderly_visits.emergency": _l("Emergency raised"),
            "elderly_visits.emergency_ack": _l("Emergency taken on"),
            "elderly_visits.emergency_action": _l("Emergency action recorded"),
            "elderly_visits.emergency_closed": _l("Emergency closed"),
            "elderly_visits.neighbour_report": _l("Emergency reported by a neighbour"),
            "elderly_visits.emergency_linked": _l("Emergency linked to its resident"),
            "elderly_visits.visit_photo": _l("Photo added to a visit"),
        },
        objects={"elderly_person": _l("Elderly resident"), "emergency": _l("Emergency")},
    )

def _views():  # type: ignore[no-untyped-def]
    from blueprints.elderly_visits.views import bp

    return bp


def _api():  # type: ignore[no-untyped-def]
    from blueprints.elderly_visits.api import blp

    return blp


def _provision(session, tenant):  # type: ignore[no-untyped-def]
    from blueprints.elderly_visits.services import provision

    provision(session, tenant)


def _registry_import():  # type: ignore[no-untyped-def]
    from blueprints.elderly_visits.registry_import import REGISTRY

    return REGISTRY


def _demo(session, tenant):  # type: ignore[no-untyped-def]
    from blueprints.elderly_visits.demo import seed

    seed(session, tenant)


NOTICES = (
    NoticeTemplate("elderly_visits.emergency", _l("An elderly resident's emergency"),
                   _l("Emergency: {{ kind }} · {{ name }} ({{ place }})"), "{{ description }}",
                   channels=("sms",), urgent=True, robot=True),
    NoticeTemplate("elderly_visits.emergency_family", _l("An emergency of a family member"),
                   _l("{{ name }}: {{ kind }}. The grid worker is on it and will call you."), "",
                   channels=("sms",), urgent=True),
    NoticeTemplate("elderly_visits.emergency_unanswered", _l("An emergency nobody has taken on"),
                   _l("Nobody has taken on the emergency of {{ name }} ({{ kind }}) for {{ minutes }} minutes"),
                   "{{ description }}", channels=("sms",), urgent=True, robot=True),
    NoticeTemplate("elderly_visits.due_today", _l("Elderly visits due today"),
                   _l("{{ count }} elderly residents are due for a visit today"), "{{ names }}"),
    NoticeTemplate("elderly_visits.overdue", _l("Elderly visits overdue"),
                   _l("{{ count }} elderly residents in {{ place }} were not visited on time"), "{{ names }}",
                   channels=("sms",)),
    NoticeTemplate("elderly_visits.weekly", _l("Elderly visits this week"),
                   _l("{{ place }} this week: {{ visited }} visits, {{ overdue }} overdue, {{ needs }} open needs"),
                   ""),
)

module = ModuleSpec(
    key="elderly_visits",
    name_zh="为老服务",
    name_en="Elderly visits",
    version="0.1.0",
    description=_l("A registry of elderly residents, home visits on schedule, needs followed up and emergencies "
                   "answered in minutes."),
    permissions={
        "elderly_visits.view": _l("See the elderly residents of one's units"),
        "elderly_visits.manage": _l("Register elderly residents and assign their grid workers"),
        "elderly_visits.visit": _l("Log visits and follow up needs"),
        "elderly_visits.sensitive": _l("Read health notes and emergency contacts"),
        "elderly_visits.emergency": _l("Raise an emergency for a resident"),
        "elderly_visits.respond": _l("Take on and close emergencies"),
    },
    grants={
        "district_admin": ("elderly_visits.view", "elderly_visits.manage", "elderly_visits.sensitive",
                           "elderly_visits.emergency", "elderly_visits.respond"),
        "street_officer": ("elderly_visits.view", "elderly_visits.respond"),
        "community_cadre": ("elderly_visits.view", "elderly_visits.manage", "elderly_visits.visit",
                            "elderly_visits.sensitive", "elderly_visits.emergency", "elderly_visits.respond"),
        "grid_leader": ("elderly_visits.view", "elderly_visits.visit", "elderly_visits.emergency",
                        "elderly_visits.respond"),
        "grid_worker": ("elderly_visits.view", "elderly_visits.visit", "elderly_visits.emergency"),
    },
    settings=(
        Setting("alone_days", _l("Days between visits for residents living alone (独居)"), int, 7, min=1, max=90),
        Setting("disabled_days", _l("Days between visits for disabled or bedridden residents (失能)"), int, 7,
                min=1, max=90),
        Setting("very_old_days", _l("Days between visits for residents of 80 or older (高龄)"), int, 14, min=1,
                max=90),
        Setting("default_months", _l("Months between visits for everyone else"), int, 1, min=1, max=12),
        Setting("grace_days", _l("Days an overdue visit waits before the community is told"), int, 3, min=0,
                max=30),
        Setting("photo_max_mb", _l("Largest photo of a visit, in MB"), int, 8, min=1, max=20),
        Setting("ack_minutes", _l("Minutes before an emergency nobody took on goes to the street"), int, 10,
                min=1, max=120),
    ),
    nav=(
        NavEntry("elderly_visits.home", _l("Elderly visits"), "elderly_visits.view"),
        NavEntry("elderly_visits.emergencies", _l("Emergencies"), "elderly_visits.view"),
        NavEntry("elderly_visits.dashboard", _l("Elderly visits dashboard"), "elderly_visits.view"),
        NavEntry("elderly_visits.new_person", _l("Register an elderly resident"), "elderly_visits.manage"),
        NavEntry("elderly_visits.registry_import_page", _l("Import elderly residents"), "elderly_visits.manage"),
    ),
    public_nav=(NavEntry("elderly_visits.neighbour_emergency", _l("Report an emergency for an elderly neighbour")),
                NavEntry("elderly_visits.family", _l("Report an emergency for my relative"))),
    widgets=(Widget("elderly_visits.widget_due", _l("Elderly visits due"), "elderly_visits.view"),),
    jobs=(
        PeriodicJob("escalate_emergencies", "* * * * *", "blueprints.elderly_visits.jobs:escalate_emergencies",
                    _l("Tell the street of emergencies nobody took on in time")),
        PeriodicJob("remind_due", "30 7 * * *", "blueprints.elderly_visits.jobs:remind_due",
                    _l("Tell grid workers whom to visit today")),
        PeriodicJob("escalate_overdue", "0 9 * * *", "blueprints.elderly_visits.jobs:escalate_overdue",
                    _l("Tell the community of visits overdue past the grace period")),
        PeriodicJob("weekly_digest", "0 8 * * 1", "blueprints.elderly_visits.jobs:weekly_digest",
                    _l("A weekly digest of visits per community")),
    ),
    notices=NOTICES,
    links=("grid_cases",),
    imports=(_registry_import,),
    audit_words=_audit_words,
    views=_views,
    api=_api,
    models="blueprints.elderly_visits.models",
    demo=_demo,
    provision=_provision,
)
