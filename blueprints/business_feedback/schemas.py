"""Field rules of business feedback, shared by the API and the pages (form posts load the same schemas)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from blueprints.business_feedback.models import KINDS, RATINGS, SOURCE_GROUPS, STATES, URGENCIES
from blueprints.business_feedback.services.enterprises import credit_code_error
from saas.schemas import Id, Phone, Schema, Text

CODE = ma.validate.Regexp(r"^[A-Za-z0-9_-]+$")
FIRST_YEAR, LAST_YEAR = 2000, 2100


class LocalDay(ma.fields.Date):
    """A local day (YYYY-MM-DD) inside the calendar's range; empty means not given."""

    def deserialize(self, value: Any, attr: str | None = None, data: Any = None, **kwargs: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            value = None if self.allow_none else ma.missing
        return super().deserialize(value, attr, data, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        from flask_babel import gettext as _

        day = super()._deserialize(value.strip() if isinstance(value, str) else value, attr, data, **kwargs)
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise ma.ValidationError(_("Choose a date between %(first)s and %(last)s.", first=FIRST_YEAR,
                                       last=LAST_YEAR))
        return day


class CheckedCreditCode(ma.fields.String):
    """A unified social credit code; a wrong one is refused naming the check digit it should have."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs).strip().upper()
        if not text:
            return ""
        error = credit_code_error(text)
        if error is not None:
            raise ma.ValidationError(error)
        return text


# --- items -------------------------------------------------------------------------------------------


class FeedbackItemIn(Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(KINDS))
    area_code = Text(required=True, max_length=32, metadata={"description": "A business area's code"})
    enterprise_id = Id(load_default=None, allow_none=True,
                       metadata={"description": "An enterprise of the district; or give credit_code and name"})
    credit_code = CheckedCreditCode(load_default="", metadata={"description": "统一社会信用代码"})
    enterprise_name = Text(load_default="", max_length=100)
    description = Text(required=True, max_length=4000, min_length=1)
    urgency = ma.fields.String(load_default="normal", validate=ma.validate.OneOf(URGENCIES))
    show_name = ma.fields.Boolean(load_default=False,
                                  metadata={"description": "May the departments see the supervisor's name?"})


class FeedbackTransitionIn(Schema):
    action = ma.fields.String(required=True, validate=ma.validate.OneOf(
        ("accept", "merge", "record", "decline", "answer", "rate", "close")))
    version = ma.fields.Integer(required=True, strict=False, validate=ma.validate.Range(min=1, max=2**31 - 1))
    note = Text(load_default="", max_length=2000)
    department_ids = ma.fields.List(Id(), load_default=list, validate=ma.validate.Length(max=20))
    deadline_days = ma.fields.Integer(load_default=None, allow_none=True, strict=False,
                                      validate=ma.validate.Range(min=1, max=60))
    into = Text(load_default="", max_length=32, metadata={"description": "merge: the other item's number"})
    answer = Text(load_default="", max_length=4000)
    rating = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.OneOf(RATINGS))


class FeedbackCoordinationIn(Schema):
    held_on = LocalDay(load_default=None, allow_none=True)
    participants = Text(required=True, max_length=500, min_length=1)
    outcome = Text(required=True, max_length=4000, min_length=1)


class FeedbackItemFilter(Schema):
    class Meta:
        unknown = ma.EXCLUDE

    state = ma.fields.String(load_default=None, validate=ma.validate.OneOf((*STATES, "open", "")))
    kind = ma.fields.String(load_default=None, validate=ma.validate.OneOf((*KINDS, "")))
    enterprise_id = Id(load_default=None)
    before = Id(load_default=None)
    limit = ma.fields.Integer(load_default=50, strict=False, validate=ma.validate.Range(min=1, max=200))


class FeedbackAssignmentOut(Schema):
    department_id = ma.fields.String()
    department = ma.fields.String()
    deadline_at = ma.fields.DateTime()
    answer = ma.fields.String(allow_none=True)
    answered_at = ma.fields.DateTime(allow_none=True)
    answered_on_time = ma.fields.Boolean(allow_none=True)
    overdue_level = ma.fields.Integer()


class FeedbackItemOut(Schema):
    id = ma.fields.String()
    number = ma.fields.String()
    kind = ma.fields.String()
    kind_label = ma.fields.String()
    area = ma.fields.String()
    enterprise_id = ma.fields.String(allow_none=True)
    enterprise = ma.fields.String()
    credit_code = ma.fields.String()
    description = ma.fields.String()
    urgency = ma.fields.String()
    show_name = ma.fields.Boolean()
    supervisor_name = ma.fields.String(allow_none=True,
                                       metadata={"description": "null when the item hides it from the reader"})
    state = ma.fields.String()
    state_label = ma.fields.String()
    returned = ma.fields.Integer()
    rating = ma.fields.String(allow_none=True)
    rating_comment = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    version = ma.fields.Integer()
    overdue = ma.fields.Boolean()
    assignments = ma.fields.List(ma.fields.Nested(FeedbackAssignmentOut))
    actions = ma.fields.List(ma.fields.String())


class FeedbackEventOut(Schema):
    id = ma.fields.String()
    at = ma.fields.DateTime()
    action = ma.fields.String()
    label = ma.fields.String()
    actor = ma.fields.String()
    role = ma.fields.String()
    from_state = ma.fields.String(allow_none=True)
    to_state = ma.fields.String(allow_none=True)
    note = ma.fields.String()
    data = ma.fields.Dict()


class FeedbackItemDetailOut(FeedbackItemOut):
    timeline = ma.fields.List(ma.fields.Nested(FeedbackEventOut))


class FeedbackItemPage(Schema):
    items = ma.fields.List(ma.fields.Nested(FeedbackItemOut))
    next = ma.fields.String(allow_none=True)


# --- roster and enterprises ------------------------------------------------------------------------------


class SupervisorIn(Schema):
    user_id = Id(load_default=None, allow_none=True, metadata={"description": "An existing person; or name and phone"})
    name = Text(load_default="", max_length=80)
    phone = Phone(load_default=None, allow_none=True)
    username = Text(load_default="", max_length=64)
    kind_code = Text(required=True, max_length=32)
    source_group = ma.fields.String(required=True, validate=ma.validate.OneOf(SOURCE_GROUPS))
    sector = Text(load_default="", max_length=60)
    area_code = Text(load_default="", max_length=64)
    batch = Text(load_default="", max_length=40)
    term_start = LocalDay(load_default=None, allow_none=True)
    term_end = LocalDay(load_default=None, allow_none=True)


class SupervisorPatch(Schema):
    version = ma.fields.Integer(required=True, strict=False, validate=ma.validate.Range(min=1, max=2**31 - 1))
    kind_code = Text(max_length=32, min_length=1)
    source_group = ma.fields.String(validate=ma.validate.OneOf(SOURCE_GROUPS))
    sector = Text(max_length=60)
    area_code = Text(max_length=64)
    batch = Text(max_length=40)
    term_start = LocalDay()
    term_end = LocalDay()


class DismissalIn(Schema):
    version = ma.fields.Integer(load_default=None, allow_none=True, strict=False,
                                validate=ma.validate.Range(min=1, max=2**31 - 1))
    reason = Text(required=True, max_length=200, min_length=1)
    on = LocalDay(load_default=None, allow_none=True)


class SupervisorOut(Schema):
    id = ma.fields.String()
    user_id = ma.fields.String()
    name = ma.fields.String()
    phone = ma.fields.String()
    kind_code = ma.fields.String()
    kind = ma.fields.String()
    source_group = ma.fields.String()
    sector = ma.fields.String()
    area = ma.fields.String()
    batch = ma.fields.String()
    term_start = ma.fields.Date()
    term_end = ma.fields.Date()
    dismissed_on = ma.fields.Date(allow_none=True)
    dismissal_reason = ma.fields.String(allow_none=True)
    certificate_no = ma.fields.String()
    status = ma.fields.String()
    status_label = ma.fields.String()
    version = ma.fields.Integer()


class EnterpriseIn(Schema):
    name = Text(required=True, max_length=100, min_length=1)
    credit_code = CheckedCreditCode(required=True)
    sector = Text(load_default="", max_length=60)
    area_code = Text(load_default="", max_length=64)
    contact_name = Text(load_default="", max_length=60)
    contact_phone = Phone(load_default=None, allow_none=True)


class EnterpriseOut(Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    credit_code = ma.fields.String()
    sector = ma.fields.String()
    area = ma.fields.String()
    contact_name = ma.fields.String()
    contact_phone = ma.fields.String(metadata={"description": "masked: 138****5678"})


class FeedbackOverdueItemOut(Schema):
    item_id = ma.fields.String()
    number = ma.fields.String()
    deadline_at = ma.fields.DateTime()
    level = ma.fields.Integer()


class FeedbackOverdueOut(Schema):
    department_id = ma.fields.String()
    department = ma.fields.String()
    items = ma.fields.List(ma.fields.Nested(FeedbackOverdueItemOut))


# --- statistics ---------------------------------------------------------------------------------------


class FeedbackStatsQuery(Schema):
    class Meta:
        unknown = ma.EXCLUDE

    since = LocalDay(metadata={"description": "First local day of the period (default: the first day of the "
                                              "month 11 months ago)"})
    until = LocalDay(metadata={"description": "Last local day of the period, included (default: today); at most "
                                              "36 months in all"})


class FeedbackSupervisorFiguresOut(Schema):
    supervisor_id = ma.fields.String()
    name = ma.fields.String()
    kind = ma.fields.String()
    batch = ma.fields.String()
    submitted = ma.fields.Integer()
    accepted = ma.fields.Integer()
    adopted_suggestions = ma.fields.Integer()
    last_activity = ma.fields.AwareDateTime(allow_none=True)


class FeedbackDepartmentFiguresOut(Schema):
    department_id = ma.fields.String()
    name = ma.fields.String()
    received = ma.fields.Integer()
    answered = ma.fields.Integer()
    answered_on_time = ma.fields.Integer()
    on_time_share = ma.fields.Float(allow_none=True)
    average_answer_days = ma.fields.Float(allow_none=True, metadata={"description": "Working days"})
    satisfied = ma.fields.Integer(metadata={"description": "满意"})
    basically_satisfied = ma.fields.Integer(metadata={"description": "基本满意"})
    unsatisfied = ma.fields.Integer(metadata={"description": "不满意, the one that sent an item back included"})
    ratings = ma.fields.Integer()
    satisfied_share = ma.fields.Float(allow_none=True, metadata={"description": "(满意 + 基本满意) / ratings"})
    supervisions = ma.fields.List(ma.fields.Integer(), metadata={
        "description": "督办 levels reached: [提醒, 督办, 挂牌督办]"})
    supervised = ma.fields.Integer()


class FeedbackAreaFiguresOut(Schema):
    area_id = ma.fields.String()
    name = ma.fields.String()
    by_month = ma.fields.List(ma.fields.Integer(), metadata={"description": "Submitted, in the order of `months`"})
    total = ma.fields.Integer()


class FeedbackStatsOut(Schema):
    since = ma.fields.Date()
    until = ma.fields.Date()
    months = ma.fields.List(ma.fields.String(), metadata={"description": "YYYY-MM, local"})
    submitted = ma.fields.Integer()
    by_month = ma.fields.List(ma.fields.Integer())
    supervisors = ma.fields.List(ma.fields.Nested(FeedbackSupervisorFiguresOut))
    departments = ma.fields.List(ma.fields.Nested(FeedbackDepartmentFiguresOut))
    areas = ma.fields.List(ma.fields.Nested(FeedbackAreaFiguresOut))
    visits = ma.fields.Nested(lambda: VisitFiguresOut(), metadata={  # type: ignore[name-defined]
        "description": "Enterprise visits of the period (万人助万企) and their outcomes"})


# --- enterprise visits (万人助万企) ---------------------------------------------------------------------


class EnterpriseVisitProblemIn(Schema):
    kind = ma.fields.String(load_default="problem", validate=ma.validate.OneOf(("problem", "suggestion")),
                            metadata={"description": "problem (问题) or suggestion (诉求/建议)"})
    area_code = Text(required=True, max_length=32, metadata={"description": "A business area's code"})
    description = Text(required=True, max_length=4000, min_length=1)
    urgency = ma.fields.String(load_default="normal", validate=ma.validate.OneOf(URGENCIES))


class EnterpriseVisitIn(Schema):
    visited_on = LocalDay(required=True, metadata={"description": "The local day of the visit (not in the future)"})
    visitors = Text(required=True, max_length=200, min_length=1, metadata={"description": "Who went"})
    findings = Text(load_default="", max_length=4000, metadata={"description": "What was found, in words"})
    outcome = Text(load_default="", max_length=4000, metadata={"description": "What came of it, in words"})
    loans_yuan = ma.fields.Integer(load_default=0, strict=False, validate=ma.validate.Range(min=0, max=10**12),
                                   metadata={"description": "Loans arranged, in yuan"})
    workers_recruited = ma.fields.Integer(load_default=0, strict=False, validate=ma.validate.Range(min=0, max=10**6))
    approvals_unblocked = ma.fields.Integer(load_default=0, strict=False,
                                            validate=ma.validate.Range(min=0, max=10**4))
    problems = ma.fields.List(ma.fields.Nested(EnterpriseVisitProblemIn), load_default=list,
                              validate=ma.validate.Length(max=10), metadata={
                                  "description": "Problems and requests found: each becomes a feedback item"})


class EnterpriseVisitOut(Schema):
    id = ma.fields.String()
    enterprise_id = ma.fields.String()
    enterprise = ma.fields.String()
    cadre = ma.fields.String()
    visited_on = ma.fields.Date()
    visitors = ma.fields.String()
    findings = ma.fields.String()
    outcome = ma.fields.String()
    loans_yuan = ma.fields.Integer()
    workers_recruited = ma.fields.Integer()
    approvals_unblocked = ma.fields.Integer()
    items = ma.fields.List(ma.fields.Dict(), metadata={"description": "The feedback items raised: id, number, state"})


class EnterpriseCadreIn(Schema):
    user_id = Id(required=True, metadata={"description": "A person of the district holding the enterprise cadre role"})


class EnterpriseCadreOut(Schema):
    enterprise_id = ma.fields.String()
    user_id = ma.fields.String()
    name = ma.fields.String()


class EnterpriseDueVisitOut(Schema):
    enterprise_id = ma.fields.String()
    enterprise = ma.fields.String()
    cadre_id = ma.fields.String()
    cadre = ma.fields.String()
    last_visit = ma.fields.Date(allow_none=True)
    days_since = ma.fields.Integer(allow_none=True, metadata={"description": "None: never visited"})


class VisitFiguresOut(Schema):
    visits = ma.fields.Integer()
    enterprises = ma.fields.Integer()
    problems = ma.fields.Integer(metadata={"description": "Feedback items raised on the visits"})
    solved = ma.fields.Integer(metadata={"description": "Of them, closed"})
    loans_yuan = ma.fields.Integer()
    workers_recruited = ma.fields.Integer()
    approvals_unblocked = ma.fields.Integer()
