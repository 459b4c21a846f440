"""营商环境监督 (business feedback): the module's manifest, its one public object."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from saas.audit import AuditWords
from saas.modules import ModuleSpec, NavEntry, PeriodicJob, RoleSpec, Setting, Widget
from saas.notify import NoticeTemplate


def _audit_words():  # type: ignore[no-untyped-def]
    from blueprints.business_feedback.services.items import STATE_LABELS, TRANSITIONS

    return AuditWords(
        actions={
            "business_feedback.item.submit": _l("Feedback submitted"),
            **{f"business_feedback.item.{action}": t.label for action, t in TRANSITIONS.items()},
            "business_feedback.item.coordinate": _l("Coordination recorded (协商处理)"),
            "business_feedback.enterprise.add": _l("Enterprise added"),
            "business_feedback.enterprise.cadre": _l("Enterprise's cadre named"),
            "business_feedback.supervisor.appoint": _l("Supervisor appointed"),
            "business_feedback.supervisor.update": _l("Supervisor's record changed"),
            "business_feedback.supervisor.dismiss": _l("Supervisor dismissed"),
            "business_feedback.visit.log": _l("Enterprise visit logged"),
        },
        objects={"business_feedback_item": _l("Feedback item"), "business_feedback_enterprise": _l("Enterprise"),
                 "business_feedback_supervisor": _l("Supervisor"), "business_feedback_visit": _l("Enterprise visit")},
        values={"state": STATE_LABELS},
    )

def _views():  # type: ignore[no-untyped-def]
    from blueprints.business_feedback.views import bp

    return bp


def _api():  # type: ignore[no-untyped-def]
    from blueprints.business_feedback.api import blp

    return blp


def _provision(session, tenant):  # type: ignore[no-untyped-def]
    from blueprints.business_feedback.services import ensure_defaults

    ensure_defaults(session, tenant)


def _supervisors_import():  # type: ignore[no-untyped-def]
    from blueprints.business_feedback.services.roster_import import SUPERVISORS

    return SUPERVISORS


def _demo(session, tenant):  # type: ignore[no-untyped-def]
    from blueprints.business_feedback.demo import seed

    seed(session, tenant)


# a department reads the supervisor's name only when the item shows it: `supervisor` is empty otherwise
_ITEM = "{{ area }}{% if enterprise %} · {{ enterprise }}{% endif %}: {{ summary }}"

NOTICES = (
    NoticeTemplate("business_feedback.submitted", _l("A supervisor's feedback waits for triage"),
                   _l("Feedback {{ number }} waits for triage"), _ITEM),
    NoticeTemplate("business_feedback.assigned", _l("Feedback is assigned to my department"),
                   _l("Feedback {{ number }} is assigned to your department, due {{ localtime(deadline) }}"),
                   _ITEM + "{% if supervisor %} ({{ supervisor }}){% endif %}", channels=("sms",)),
    NoticeTemplate("business_feedback.answered", _l("My feedback was answered"),
                   _l("Feedback {{ number }} was answered: please rate the answer"), "{{ note }}",
                   channels=("sms",)),
    NoticeTemplate("business_feedback.returned", _l("A supervisor was not satisfied with our answer"),
                   _l("Feedback {{ number }} is back: the supervisor was not satisfied"), _l("Reason: {{ note }}"),
                   channels=("sms",)),
    NoticeTemplate("business_feedback.to_close", _l("Rated feedback waits to be closed"),
                   _l("Feedback {{ number }} was rated: please close it"), "{{ note }}"),
    NoticeTemplate("business_feedback.decided", _l("News of my feedback"),
                   _l("Your feedback {{ number }}: {{ status }}"), "{{ note }}"),
    NoticeTemplate("business_feedback.overdue", _l("Feedback is overdue (督办)"),
                   _l("{{ level }} {{ document_no }}: feedback {{ number }} at {{ department }} is overdue since "
                      "{{ localtime(deadline) }}"), _ITEM, channels=("sms",), robot=True),
    NoticeTemplate("business_feedback.term_expiring", _l("A supervisor's term ends soon"),
                   _l("{{ count }} supervisors' terms end within {{ days }} days"), "{{ names }}"),
)

_OFFICE = ("business_feedback.view", "business_feedback.triage", "business_feedback.roster",
           "business_feedback.enterprises", "business_feedback.overdue", "business_feedback.stats",
           "business_feedback.visit")

module = ModuleSpec(
    key="business_feedback",
    name_zh="营商环境监督",
    name_en="Business environment supervision",
    version="0.1.0",
    description=_l("Appointed supervisors report enterprises' problems; the office routes them to departments "
                   "with deadlines, supervises overdue ones, and the supervisors rate the answers."),
    permissions={
        "business_feedback.view": _l("See business feedback (one's own, one's department's or all)"),
        "business_feedback.submit": _l("Submit feedback as a supervisor in term"),
        "business_feedback.triage": _l("Triage, assign and close feedback"),
        "business_feedback.answer": _l("Answer feedback assigned to one's department"),
        "business_feedback.roster": _l("Manage supervisors and their certificates"),
        "business_feedback.enterprises": _l("Manage enterprises"),
        "business_feedback.overdue": _l("See overdue feedback by department"),
        "business_feedback.stats": _l("See the statistics of supervisors, departments and business areas"),
        "business_feedback.visit": _l("Log visits to the enterprises one helps (万人助万企)"),
    },
    grants={
        "district_admin": _OFFICE,
        "business_office": _OFFICE,
        "discipline_commission": ("business_feedback.view", "business_feedback.overdue", "business_feedback.stats"),
        "dept_handler": ("business_feedback.view", "business_feedback.answer"),
        "supervisor": ("business_feedback.view", "business_feedback.submit"),
        "enterprise_cadre": ("business_feedback.view", "business_feedback.visit"),
    },
    # 万人助万企: a cadre (of a street, a department or the district) helping enterprises one to one
    roles=(RoleSpec("enterprise_cadre", _l("Enterprise cadre (万人助万企)")),),
    settings=(
        Setting("item_prefix", _l("Feedback number prefix"), str, "YS", max_length=8),
        Setting("certificate_prefix", _l("Certificate number prefix"), str, "营商监聘", max_length=12),
        Setting("supervision_prefix", _l("督办 document number prefix"), str, "营商督办", max_length=12),
        Setting("deadline_days", _l("Default working days for a department to answer"), int, 5, min=1, max=60),
        Setting("term_years", _l("Term of a supervisor, in years"), int, 2, min=1, max=5),
        Setting("expiry_reminder_days", _l("Remind the office this many days before a term ends"), int, 30, min=1,
                max=120),
        Setting("supervise_after_days", _l("Working days overdue before 督办"), int, 3, min=1, max=30),
        Setting("list_after_days", _l("Working days overdue before 挂牌督办"), int, 10, min=2, max=60),
        Setting("visit_interval_days", _l("Visit each enterprise with a cadre at least every this many days"), int,
                90, min=7, max=365),
    ),
    nav=(
        NavEntry("business_feedback.items", _l("Business feedback"), "business_feedback.view"),
        NavEntry("business_feedback.new_item", _l("Submit feedback"), "business_feedback.submit"),
        NavEntry("business_feedback.supervisors", _l("Supervisors"), "business_feedback.roster"),
        NavEntry("business_feedback.enterprises_page", _l("Enterprises"), "business_feedback.enterprises"),
        NavEntry("business_feedback.overdue", _l("Overdue feedback"), "business_feedback.overdue"),
        NavEntry("business_feedback.stats_page", _l("Feedback statistics"), "business_feedback.stats"),
        NavEntry("business_feedback.visits_page", _l("Enterprise visits"), "business_feedback.visit"),
    ),
    widgets=(Widget("business_feedback.widget", _l("Business feedback"), "business_feedback.view"),),
    jobs=(
        PeriodicJob("supervise_overdue", "*/30 * * * *", "blueprints.business_feedback.jobs:supervise_overdue",
                    _l("Mark overdue feedback and raise its 督办 level")),
        PeriodicJob("remind_term_expiry", "0 9 * * *", "blueprints.business_feedback.jobs:remind_term_expiry",
                    _l("Tell the office of supervisors' terms ending soon")),
    ),
    notices=NOTICES,
    views=_views,
    api=_api,
    models="blueprints.business_feedback.models",
    demo=_demo,
    provision=_provision,
    imports=(_supervisors_import,),
    audit_words=_audit_words,
)
