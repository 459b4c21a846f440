"""网格事件 (grid cases): the module's manifest, its one public object."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from saas.audit import AuditWords
from saas.modules import ModuleSpec, Mount, NavEntry, PeriodicJob, Setting, Widget
from saas.notify import NoticeTemplate


def _views():  # type: ignore[no-untyped-def]
    from blueprints.grid_cases.views import bp

    return bp


def _api():  # type: ignore[no-untyped-def]
    from blueprints.grid_cases.api import blp

    return blp


def _open311():  # type: ignore[no-untyped-def]
    from blueprints.grid_cases.open311 import bp

    return bp


def _provision(session, tenant):  # type: ignore[no-untyped-def]
    from blueprints.grid_cases.services import ensure_default_categories

    ensure_default_categories(session, tenant)


def _audit_words():  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from blueprints.grid_cases.models import GridCase
    from blueprints.grid_cases.services import STATE_LABELS, TRANSITIONS
    from blueprints.grid_cases.services.cases import RATING_LABELS, SOURCE_LABELS

    def case_numbers(session, ids):  # type: ignore[no-untyped-def]
        return dict(session.execute(sa.select(GridCase.id, GridCase.number).where(GridCase.id.in_(ids))).all())

    return AuditWords(
        actions={
            "grid_cases.case.report": _l("Case reported"),
            "grid_cases.case.view_contact": _l("Reporter's mobile number viewed"),
            **{f"grid_cases.case.{action}": t.label for action, t in TRANSITIONS.items()},
            "grid_cases.card.update": _l("Contact card changed"),
            "grid_cases.category.create": _l("Case category added"),
            "grid_cases.category.update": _l("Case category changed"),
            "grid_cases.claim.add": _l("Compound claimed"),
            "grid_cases.claim.release": _l("Compound released"),
            "grid_cases.common.link": _l("Cases linked as a common problem"),
            "grid_cases.common.resolve": _l("Common problem resolved"),
            "grid_cases.hotline.import": _l("Hotline cases imported"),
        },
        objects={
            "grid_cases_case": _l("Case"), "grid_cases_card": _l("Contact card"),
            "grid_cases_category": _l("Case category"), "grid_cases_claim": _l("Compound claim"),
            "grid_cases_common_problem": _l("Common problem"), "grid_cases_import": _l("Hotline import"),
        },
        fields={
            "number": _l("Case number"), "category": _l("Category"), "source": _l("Source"),
            "level_unit_id": _l("Level"), "grid": _l("Grid"), "compound": _l("Compound"), "place": _l("Place"),
            "cases": _l("Cases"), "result": _l("Result"), "skipped": _l("Skipped"), "rating": _l("Rating"),
            "department": _l("Department"), "days": _l("Working days"), "approved": _l("Approved"),
            "reopened": _l("Reopened"),
        },
        values={"state": STATE_LABELS, "rating": RATING_LABELS, "source": SOURCE_LABELS},
        names={"grid_cases_case": case_numbers},
    )


def _hotline_import():  # type: ignore[no-untyped-def]
    from blueprints.grid_cases.services.hotline import HOTLINE

    return HOTLINE


def _demo(session, tenant):  # type: ignore[no-untyped-def]
    from blueprints.grid_cases.demo import seed

    seed(session, tenant)


_CASE = "{{ category }} · {{ place }}: {{ summary }}"

NOTICES = (
    NoticeTemplate("grid_cases.to_accept", _l("A case waits for acceptance"),
                   _l("Case {{ number }} waits for your acceptance"), _CASE, channels=("sms",)),
    NoticeTemplate("grid_cases.dispatched", _l("A case is dispatched to my department"),
                   _l("Case {{ number }} is dispatched to your department"), _CASE, channels=("sms",)),
    NoticeTemplate("grid_cases.returned", _l("A department returned a case"),
                   _l("Case {{ number }} was returned by the department"), _l("Reason: {{ note }}")),
    NoticeTemplate("grid_cases.extension", _l("A department asks for more time"),
                   _l("Case {{ number }}: {{ days }} more working days requested"), _l("Reason: {{ note }}")),
    NoticeTemplate("grid_cases.extension_decided", _l("An extension was decided"),
                   _l("Case {{ number }}: extension {% if approved %}approved{% else %}refused{% endif %}"),
                   "{{ note }}"),
    NoticeTemplate("grid_cases.to_verify", _l("A resolved case waits for verification"),
                   _l("Case {{ number }} is resolved: please verify it on site"), _l("Result: {{ note }}"),
                   channels=("sms",)),
    NoticeTemplate("grid_cases.sent_back", _l("A case was sent back after verification"),
                   _l("Case {{ number }} is not fixed yet"), _l("Found on site: {{ note }}"), channels=("sms",)),
    NoticeTemplate("grid_cases.to_close", _l("A verified case waits to be closed"),
                   _l("Case {{ number }} is verified: please close it"), _CASE),
    NoticeTemplate("grid_cases.reopened", _l("A case was reopened by its reporter"),
                   _l("Case {{ number }} is reopened: the reporter was not satisfied"), "{{ note }}",
                   channels=("sms",)),
    NoticeTemplate("grid_cases.deadline_soon", _l("A case is due soon"),
                   _l("Case {{ number }} is due {{ localtime(deadline) }}"), _CASE),
    NoticeTemplate("grid_cases.overdue", _l("A case is overdue (督办)"),
                   _l("督办: case {{ number }} is overdue since {{ localtime(deadline) }}"), _CASE,
                   channels=("sms",), robot=True),
    NoticeTemplate("grid_cases.claimed_case", _l("A case in a compound I look after"),
                   _l("New case {{ number }} in {{ place }}"), _CASE),
    NoticeTemplate("grid_cases.common_suggested", _l("Cases that may be one common problem"),
                   _l("{{ count }} open {{ category }} cases in {{ place }}: link them as one problem?")),
    NoticeTemplate("grid_cases.resident_update", _l("News of my report"),
                   _l("Your report {{ number }} is {{ status }}"), "{{ note }}", channels=("sms",)),
)

module = ModuleSpec(
    key="grid_cases",
    name_zh="网格事件",
    name_en="Grid cases",
    version="0.2.0",
    description=_l("Problems found on patrol or reported by residents, handled level by level and closed."),
    permissions={
        "grid_cases.view": _l("See cases of one's units"),
        "grid_cases.report": _l("Report cases and log quick notes"),
        "grid_cases.accept": _l("Accept, escalate, handle and close cases at one's level"),
        "grid_cases.dispatch": _l("Dispatch cases to departments and decide extensions"),
        "grid_cases.department": _l("Handle cases dispatched to one's department"),
        "grid_cases.verify": _l("Verify resolved cases on site"),
        "grid_cases.claim": _l("Look after compounds (包片)"),
        "grid_cases.common": _l("Link and resolve common problems"),
        "grid_cases.cards": _l("Edit and print contact cards"),
        "grid_cases.configure": _l("Edit categories and deadlines"),
        "grid_cases.stats": _l("See case statistics"),
        "grid_cases.import": _l("Import hotline tickets as cases"),
    },
    grants={
        "district_admin": ("grid_cases.view", "grid_cases.report", "grid_cases.accept", "grid_cases.dispatch",
                           "grid_cases.common", "grid_cases.cards", "grid_cases.configure", "grid_cases.stats",
                           "grid_cases.import"),
        "street_officer": ("grid_cases.view", "grid_cases.report", "grid_cases.accept", "grid_cases.dispatch",
                           "grid_cases.common", "grid_cases.stats"),
        "community_cadre": ("grid_cases.view", "grid_cases.report", "grid_cases.accept", "grid_cases.claim",
                            "grid_cases.common", "grid_cases.cards", "grid_cases.stats"),
        "grid_leader": ("grid_cases.view", "grid_cases.report", "grid_cases.accept", "grid_cases.verify"),
        "grid_worker": ("grid_cases.view", "grid_cases.report", "grid_cases.accept", "grid_cases.verify"),
        "dept_handler": ("grid_cases.view", "grid_cases.department"),
    },
    settings=(
        Setting("case_prefix", _l("Case number prefix"), str, "XD", max_length=8),
        Setting("accept_days", _l("Working days to accept, decide, take on or close a case"), int, 1, min=1,
                max=10),
        Setting("verify_days", _l("Working days to verify a resolved case on site"), int, 2, min=1, max=10),
        Setting("urgent_step_hours", _l("Working hours for each of those steps when a case is urgent"), int, 2,
                min=1, max=48),
        Setting("reminder_hours", _l("Remind this many hours before a deadline"), int, 24, min=1, max=240),
        Setting("common_problem_threshold", _l("Open cases of one category in one compound that make a common "
                                               "problem"), int, 3, min=2, max=50),
        Setting("common_problem_window_days", _l("Window for common problems, in days"), int, 14, min=1, max=90),
        Setting("reopen_on_unsatisfied", _l("Reopen a case once when the reporter is not satisfied"), bool, True),
        Setting("photo_max_mb", _l("Largest photo accepted, in MB"), int, 8, min=1, max=20),
    ),
    nav=(
        NavEntry("grid_cases.work", _l("Cases"), "grid_cases.view"),
        NavEntry("grid_cases.new_case", _l("Report a case"), "grid_cases.report"),
        NavEntry("grid_cases.notes", _l("Quick notes"), "grid_cases.report"),
        NavEntry("grid_cases.claims", _l("My compounds"), "grid_cases.claim"),
        NavEntry("grid_cases.common", _l("Common problems"), "grid_cases.common"),
        NavEntry("grid_cases.cards", _l("Contact cards"), "grid_cases.cards"),
        NavEntry("grid_cases.stats", _l("Statistics"), "grid_cases.stats"),
        NavEntry("grid_cases.hotline", _l("Hotline import"), "grid_cases.import"),
        NavEntry("grid_cases.categories", _l("Case categories"), "grid_cases.view"),
    ),
    public_nav=(
        NavEntry("grid_cases.report", _l("Report a problem")),
        NavEntry("grid_cases.track", _l("Follow a report")),
        NavEntry("grid_cases.mine", _l("My reports")),
    ),
    widgets=(
        Widget("grid_cases.widget_work", _l("My cases"), "grid_cases.view"),
        Widget("grid_cases.widget_categories", _l("Case categories"), "grid_cases.view"),
        Widget("grid_cases.widget_stats", _l("Cases this month"), "grid_cases.stats"),
    ),
    jobs=(
        PeriodicJob("remind_deadlines", "*/15 * * * *", "blueprints.grid_cases.jobs:remind_deadlines",
                    _l("Remind the holders of steps that are due soon")),
        PeriodicJob("supervise_overdue", "*/15 * * * *", "blueprints.grid_cases.jobs:supervise_overdue",
                    _l("Mark overdue steps and tell the level above (督办)")),
    ),
    notices=NOTICES,
    links=("elderly_visits",),
    views=_views,
    api=_api,
    # Open311 GeoReport v2: outside /t/<tenant>/, the district named by jurisdiction_id
    mounts=(Mount("/open311/v2", _open311),),
    models="blueprints.grid_cases.models",
    demo=_demo,
    provision=_provision,
    imports=(_hotline_import,),
    audit_words=_audit_words,
)
