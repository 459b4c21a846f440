"""The life of a feedback item, tested against a table written by hand from issue 12 (never read from TRANSITIONS):
every allowed step by the right person, and every other (state, action, person) refused with the right status
and nothing changed."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from blueprints.business_feedback import services
from blueprints.business_feedback.models import Assignment, FeedbackEvent, FeedbackItem
from saas.audit import AuditEntry

ACTIONS = ("accept", "merge", "record", "decline", "answer", "rate", "close")
PEOPLE = ("office", "admin", "dept", "section", "dept2", "sup", "sup2", "discipline")
# how an item reaches each state (d1 is the department it is assigned to)
PATHS = {
    "submitted": "",
    "assigned": "office:accept",
    "answered": "office:accept dept:answer",
    "rated": "office:accept dept:answer sup:rate",
    "closed": "office:accept dept:answer sup:rate office:close",
    "merged": "office:merge",
    "recorded": "office:record",
    "declined": "office:decline",
}
# issue 12: the office triages (accept and assign, merge, record market information, decline), the department
# answers, the supervisor rates, the office closes. (state, action) -> the state it leads to
ALLOWED = {
    ("submitted", "accept"): "assigned",
    ("submitted", "merge"): "merged",
    ("submitted", "record"): "recorded",
    ("submitted", "decline"): "declined",
    ("assigned", "answer"): "answered",
    ("answered", "rate"): "rated",
    ("rated", "close"): "closed",
}
# who may make each step: the office (and the district admin, who holds its permissions), the department
# (its handlers and its sections' handlers), the supervisor who submitted it
MAY = {
    "accept": {"office", "admin"}, "merge": {"office", "admin"}, "record": {"office", "admin"},
    "decline": {"office", "admin"}, "close": {"office", "admin"}, "answer": {"dept", "section"}, "rate": {"sup"},
}


def sees(who: str, state: str) -> bool:
    """Who can find the item at all: the office everything, its supervisor their own, the department once assigned."""
    if who in ("office", "admin", "sup"):
        return True
    if who in ("dept", "section"):
        return state in ("assigned", "answered", "rated", "closed")
    return False


def expected_refusal(who: str, state: str, action: str) -> int:
    if not sees(who, state):
        return 404
    if (state, action) not in ALLOWED:
        return 409
    return 403


def item_in(world, state):  # type: ignore[no-untyped-def]
    if state == "merged":
        world.submit(description="重复的一条")
    item = world.submit()
    return world.move(item, PATHS[state])


def snapshot(world, item):  # type: ignore[no-untyped-def]
    with world.session() as s:
        row = s.scalars(sa.select(FeedbackItem).where(FeedbackItem.id == item.id)).one()
        return (row.state, row.version, s.scalar(sa.select(sa.func.count()).select_from(FeedbackEvent)),
                s.scalar(sa.select(sa.func.count()).select_from(AuditEntry)),
                s.scalar(sa.select(sa.func.count()).select_from(Assignment)))


@pytest.mark.parametrize("state", list(PATHS))
def test_every_step_from_each_state(world_a, state):
    item = item_in(world_a, state)
    assert world_a.get(item).state == state
    for action in ACTIONS:
        for who in PEOPLE:
            allowed = (state, action) in ALLOWED and who in MAY[action]
            if allowed:
                continue
            before = snapshot(world_a, item)
            with pytest.raises(services.Refused) as refused:
                world_a.act(who, item, action, **world_a.needs(action))
            assert refused.value.status == expected_refusal(who, state, action), (who, action)
            assert snapshot(world_a, item) == before, (who, action)
    for (source, action), target in ALLOWED.items():
        if source != state:
            continue
        for who in MAY[action]:
            fresh = item_in(world_a, state)
            done = world_a.act(who, fresh, action, **world_a.needs(action))
            assert done.state == target
            with world_a.session() as s:
                last = s.scalars(sa.select(FeedbackEvent).where(FeedbackEvent.item_id == fresh.id)
                                 .order_by(FeedbackEvent.id.desc())).first()
                assert (last.action, last.from_state, last.to_state) == (action, state, target)
                assert s.scalars(sa.select(AuditEntry).where(
                    AuditEntry.action == f"business_feedback.item.{action}",
                    AuditEntry.object_id == str(fresh.id))).first() is not None


def test_unsatisfied_sends_it_back_once_with_the_reason(world_a):
    item = world_a.move(world_a.submit(), "office:accept dept:answer")
    with pytest.raises(services.ServiceError):
        world_a.act("sup", item, "rate", rating="unsatisfied")  # a reason is required
    back = world_a.act("sup", item, "rate", rating="unsatisfied", note="营业执照仍需跑两次")
    assert (back.state, back.returned) == ("assigned", 1)
    with world_a.session() as s:
        a = s.scalars(sa.select(Assignment).where(Assignment.item_id == item.id)).one()
        assert a.answered_at is None
        assert a.answer == "已简化流程，一次办结"
        last = s.scalars(sa.select(FeedbackEvent).where(FeedbackEvent.item_id == item.id)
                         .order_by(FeedbackEvent.id.desc())).first()
        assert (last.action, last.note) == ("return", "营业执照仍需跑两次")
    world_a.act("dept", item, "answer", answer="已开通全程网办")
    final = world_a.act("sup", item, "rate", rating="unsatisfied", note="仍不满意")
    assert (final.state, final.rating) == ("rated", "unsatisfied")  # the second time it stays rated


def test_every_department_answers_before_the_supervisor_rates(world_a):
    item = world_a.act("office", world_a.submit(), "accept", department_ids=[world_a.unit_id("d1"),
                                                                             world_a.unit_id("d2")])
    assert world_a.act("section", item, "answer", answer="登记科已办").state == "assigned"
    with pytest.raises(services.Refused) as twice:
        world_a.act("dept", item, "answer", answer="再答一次")
    assert twice.value.status == 409  # d1 has answered (through its section)
    assert world_a.act("dept2", item, "answer", answer="税务已办").state == "answered"


def test_a_stale_version_is_refused_and_changes_nothing(world_a):
    item = world_a.submit()
    before = snapshot(world_a, item)
    with world_a.session() as s, pytest.raises(services.Refused) as stale:
        services.act(s, world_a.tenant, world_a.actor(s, "office"), item.id, "record", {"version": item.version + 1})
    assert stale.value.status == 409
    assert snapshot(world_a, item) == before


def test_bad_input_is_a_field_error_and_changes_nothing(world_a):
    item = world_a.submit()
    before = snapshot(world_a, item)
    for data in ({"department_ids": []}, {"department_ids": [world_a.unit_id("s1")]},
                 {"department_ids": [world_a.unit_id("d1")], "deadline_days": 0}):
        with pytest.raises(services.ServiceError):
            world_a.act("office", item, "accept", **data)
    for into in ("", item.number, "YS-1999-00001"):
        with pytest.raises(services.ServiceError):
            world_a.act("office", item, "merge", into=into)
    with pytest.raises(services.ServiceError):
        world_a.act("office", item, "decline", note="  ")
    assert snapshot(world_a, item) == before


def test_only_the_office_records_a_coordination_of_two_departments_while_they_handle_it(world_a):
    from blueprints.business_feedback.models import Coordination

    data = {"participants": "区市场监管局、区税务局", "outcome": "联合现场办公，限期解决"}
    both = [world_a.unit_id("d1"), world_a.unit_id("d2")]
    one = world_a.act("office", world_a.submit(), "accept", department_ids=both[:1])
    two = world_a.act("office", world_a.submit(), "accept", department_ids=both)
    done = world_a.act("office", world_a.submit(), "accept", department_ids=both)
    for who in ("dept", "dept2"):
        world_a.act(who, done, "answer", answer="已办结")
    world_a.move(world_a.get(done), "sup:rate office:close")

    def record(who, item):  # type: ignore[no-untyped-def]
        with world_a.session() as s:
            row = services.record_coordination(s, world_a.tenant, world_a.actor(s, who), item.id, data)
            s.commit()
            return row

    # a department of the item, one department only, a closed item: refused, nothing recorded
    for who, item, status in (("dept", two, 403), ("office", one, 409), ("office", done, 409)):
        with pytest.raises(services.Refused) as refused:
            record(who, item)
        assert refused.value.status == status, (who, status)
    record("office", two)
    with world_a.session() as s:
        assert [r.item_id for r in s.scalars(sa.select(Coordination))] == [two.id]
        assert list(s.scalars(sa.select(FeedbackEvent.item_id).where(FeedbackEvent.action == "coordinate"))) == [two.id]
