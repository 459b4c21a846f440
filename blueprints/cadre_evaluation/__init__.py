"""千人评科长 (cadre evaluation): the module's manifest, its one public object."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from saas.audit import AuditWords
from saas.modules import ModuleSpec, NavEntry, PeriodicJob, RoleSpec, Setting
from saas.notify import NoticeTemplate

DEFAULT_AREAS = ("开办企业、办理建筑许可、获得电力、获得用水用气、登记财产、获得信贷、保护中小投资者、纳税、跨境贸易、"
                 "执行合同、办理破产、劳动力市场监管、政府采购、招标投标、政务服务")


def _audit_words():  # type: ignore[no-untyped-def]
    from blueprints.cadre_evaluation.services import STATE_LABELS

    return AuditWords(
        actions={
            "cadre_evaluation.create_campaign": _l("Rating campaign created"),
            "cadre_evaluation.update_campaign": _l("Rating campaign's set-up changed"),
            "cadre_evaluation.announce": _l("Target list published"),
            "cadre_evaluation.open": _l("Rating opened"),
            "cadre_evaluation.close": _l("Rating closed"),
            "cadre_evaluation.publish": _l("Results published"),
            "cadre_evaluation.followup": _l("Follow-up started"),
            "cadre_evaluation.add_target": _l("Target added"),
            "cadre_evaluation.remove_target": _l("Target removed"),
            "cadre_evaluation.set_photo": _l("Target's photo set"),
            "cadre_evaluation.add_group": _l("Rater group added"),
            "cadre_evaluation.issue_seat_codes": _l("Seat codes printed"),
            "cadre_evaluation.issue_invitations": _l("Invitations issued"),
            "cadre_evaluation.enter_sheet": _l("Paper ballot entered"),
            "cadre_evaluation.void_sheet": _l("Paper ballot voided"),
            "cadre_evaluation.add_action": _l("Follow-up action recorded"),
            "cadre_evaluation.add_documents": _l("Documents added to a follow-up action"),
            "cadre_evaluation.add_item": _l("Rectification item added"),
            "cadre_evaluation.update_item": _l("Rectification item changed"),
        },
        objects={"cadre_campaign": _l("Rating campaign"), "cadre_target": _l("Rated official"),
                 "cadre_group": _l("Rater group"), "cadre_sheet": _l("Paper ballot"),
                 "cadre_item": _l("Rectification item")},
        values={"state": STATE_LABELS},
    )

def _views():  # type: ignore[no-untyped-def]
    from blueprints.cadre_evaluation.views import bp

    return bp


def _api():  # type: ignore[no-untyped-def]
    from blueprints.cadre_evaluation.api import blp

    return blp


def _demo(session, tenant):  # type: ignore[no-untyped-def]
    from blueprints.cadre_evaluation.demo import seed

    seed(session, tenant)


def _targets_import():  # type: ignore[no-untyped-def]
    from blueprints.cadre_evaluation.targets import TARGETS

    return TARGETS


def _provision(session, tenant):  # type: ignore[no-untyped-def]
    from blueprints.cadre_evaluation.services import provision

    provision(session, tenant)


module = ModuleSpec(
    key="cadre_evaluation",
    name_zh="千人评科长",
    name_en="Cadre evaluation",
    version="0.1.0",
    description=_l("Rating campaigns for section chiefs: one anonymous ballot per person and target, receipts, "
                   "results by channel and dimension."),
    permissions={
        "cadre_evaluation.manage": _l("Set up, open, close and publish rating campaigns and see their results"),
        "cadre_evaluation.rate_department": _l("Score the targets of rating campaigns for a department "
                                               "(相关部门综合评)"),
        "cadre_evaluation.opinions": _l("Read raters' opinions on the department's own targets"),
    },
    roles=(RoleSpec("cadre_department_rater", _l("Departmental rater (相关部门综合评)"),
                    ("cadre_evaluation.rate_department", "cadre_evaluation.opinions"), ("department", "section")),),
    grants={"district_admin": ("cadre_evaluation.manage", "cadre_evaluation.opinions"),
            "dept_handler": ("cadre_evaluation.opinions",)},
    settings=(
        Setting("onsite_weight", _l("Default weight of on-site rating (会议现场评), in percent"), int, 30, min=0,
                max=100),
        Setting("online_weight", _l("Default weight of online rating (网络在线评), in percent"), int, 40, min=0,
                max=100),
        Setting("department_weight", _l("Default weight of departmental rating (相关部门综合评), in percent"), int, 30,
                min=0, max=100),
        Setting("min_ballots", _l("Default minimum number of ballots before a target's score is shown"), int, 30,
                min=1, max=10000),
        Setting("batch_size", _l("Ballots moved together, shuffled, into the ballot box"), int, 20, min=1, max=1000),
        Setting("pow_bits", _l("Work asked of a phone before an online ballot (leading zero bits; 16 is about a "
                               "second on a phone)"), int, 16, min=0, max=24),
        Setting("seat_hours", _l("Hours a seat code stays valid after it is printed"), int, 12, min=1, max=720),
        Setting("areas", _l("Business areas a new campaign's targets are ranked in, separated by 、"), str,
                DEFAULT_AREAS, max_length=600),
        Setting("burst_threshold", _l("Submissions on one target from one network within ten minutes that are "
                                      "flagged to the organiser"), int, 20, min=2, max=100000),
    ),
    nav=(NavEntry("cadre_evaluation.home", _l("Cadre evaluation"), "cadre_evaluation.manage"),
         NavEntry("cadre_evaluation.department_home", _l("Departmental rating"), "cadre_evaluation.rate_department")),
    public_nav=(NavEntry("cadre_evaluation.public_list", _l("Rate section chiefs (千人评科长)")),),
    jobs=(
        PeriodicJob("move_ballots", "*/10 * * * *", "blueprints.cadre_evaluation.jobs:move_ballots",
                    _l("Move waiting ballots into the ballot box in shuffled batches")),
        PeriodicJob("advance_schedule", "* * * * *", "blueprints.cadre_evaluation.jobs:advance_schedule",
                    _l("Take each campaign's scheduled steps (target list, opening, closing, results, follow-up) "
                       "when their time comes")),
        PeriodicJob("remind_overdue", "30 8 * * *", "blueprints.cadre_evaluation.jobs:remind_overdue",
                    _l("Remind the owners of rectification items past their deadline")),
    ),
    notices=(
        NoticeTemplate("cadre_evaluation.item_overdue", _l("A rectification item is overdue"),
                       _l("Rectification for {{ name }} ({{ section }}) is overdue"),
                       _l("Owner: {{ owner }}; deadline {{ deadline }}: {{ text }}")),
    ),
    views=_views,
    api=_api,
    models="blueprints.cadre_evaluation.models",
    provision=_provision,
    demo=_demo,
    imports=(_targets_import,),
    audit_words=_audit_words,
)
