"""Deadlines in working days across a holiday with 调休, 督办 levels with their document numbers (once per level,
to the department and the office), the overdue list by department, and term-expiry reminders."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from blueprints.business_feedback import jobs, services
from blueprints.business_feedback.models import Assignment, FeedbackEvent, Supervision
from blueprints.business_feedback.services import base, items, supervision
from saas.notify import Notification

TZ = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ)


def at(monkeypatch, moment: dt.datetime) -> None:
    monkeypatch.setattr(items, "utcnow", lambda: moment)
    monkeypatch.setattr(base, "utcnow", lambda: moment)


def assigned(world, monkeypatch, moment, departments=("d1",), days=5):  # type: ignore[no-untyped-def]
    item = world.submit()  # today, by a supervisor in term today; accepted back in time
    at(monkeypatch, moment)
    return world.act("office", item, "accept", department_ids=[world.unit_id(d) for d in departments],
                     deadline_days=days)


def test_deadline_counts_working_days_across_national_day_and_its_make_up_days(world_a, monkeypatch):
    # received Friday 27 September 2024; Sunday 29 September is a make-up working day (调休), 1-7 October are
    # the holiday: the 5 working days are 29 and 30 September, 8, 9 and 10 October
    item = assigned(world_a, monkeypatch, local(2024, 9, 27, 10, 0))
    with world_a.session() as s:
        deadline = s.scalars(sa.select(Assignment.deadline_at).where(Assignment.item_id == item.id)).one()
    assert deadline.astimezone(TZ).date() == dt.date(2024, 10, 10)
    assert deadline.astimezone(TZ).time() == dt.time.max


def supervise(world, moment):  # type: ignore[no-untyped-def]
    with world.session() as s:
        n = jobs.supervise_overdue(world.tenant.id, moment)
        s.commit()
        return n


def overdue_notices(world, who):  # type: ignore[no-untyped-def]
    with world.session() as s:
        return list(s.scalars(sa.select(Notification).where(Notification.kind == "business_feedback.overdue",
                                                            Notification.user_id == world.users[who].id)
                              .order_by(Notification.id)))


def test_levels_rise_with_each_overdue_step_and_get_document_numbers(world_a, monkeypatch):
    item = assigned(world_a, monkeypatch, local(2024, 11, 4, 9, 0))  # Monday: due the end of Monday 11 November
    assert supervise(world_a, local(2024, 11, 11, 23, 0)) == 0  # not yet overdue
    assert supervise(world_a, local(2024, 11, 12, 9, 0)) == 1  # 1 working day over: 提醒
    assert supervise(world_a, local(2024, 11, 12, 18, 0)) == 0  # the same level again: nothing new
    assert supervise(world_a, local(2024, 11, 14, 9, 0)) == 1  # 3 working days over: 督办
    assert supervise(world_a, local(2024, 11, 22, 9, 0)) == 0  # 9 working days: still 督办
    assert supervise(world_a, local(2024, 11, 25, 9, 0)) == 1  # 10 working days (Monday): 挂牌督办
    with world_a.session() as s:
        rows = list(s.scalars(sa.select(Supervision).order_by(Supervision.level)))
        assert [(r.level, r.document_no) for r in rows] == [
            (1, "营商督办〔2024〕1号"), (2, "营商督办〔2024〕2号"), (3, "营商督办〔2024〕3号")]
        events = list(s.scalars(sa.select(FeedbackEvent).where(FeedbackEvent.item_id == item.id,
                                                               FeedbackEvent.action == "supervise")))
        assert [e.data["level"] for e in events] == [1, 2, 3]
        assert s.scalars(sa.select(Assignment.overdue_level)).one() == 3
    # once per level, to the department's handlers (its sections' too) and to the office; not to another department
    for who in ("dept", "section", "office"):
        assert len(overdue_notices(world_a, who)) == 3, who
    assert overdue_notices(world_a, "dept2") == []
    assert "营商督办〔2024〕2号" in overdue_notices(world_a, "dept")[1].title


def test_an_answered_department_is_not_supervised_and_a_late_job_records_the_level_reached(world_a, monkeypatch):
    item = assigned(world_a, monkeypatch, local(2024, 11, 4, 9, 0), departments=("d1", "d2"))
    world_a.act("dept2", item, "answer", answer="已答复")
    assert supervise(world_a, local(2024, 11, 26, 9, 0)) == 1  # d1 only, straight at 挂牌督办
    with world_a.session() as s:
        rows = list(s.scalars(sa.select(Supervision)))
        assert [(r.level, r.department_id) for r in rows] == [(3, world_a.unit_id("d1"))]
        groups = supervision.overdue_by_department(s, local(2024, 11, 26, 9, 0))
    assert [(g["department"], [i["level"] for i in g["items"]]) for g in groups] == [("区市场监管局", [3])]


def test_a_returned_item_starts_its_levels_again(world_a, monkeypatch):
    item = assigned(world_a, monkeypatch, local(2024, 11, 4, 9, 0))
    assert supervise(world_a, local(2024, 11, 12, 9, 0)) == 1
    at(monkeypatch, local(2024, 11, 13, 9, 0))
    world_a.act("dept", item, "answer", answer="已处理")
    world_a.act("sup", item, "rate", rating="unsatisfied", note="没有解决")
    assert supervise(world_a, local(2024, 11, 21, 9, 0)) == 1  # due 20 November; a new round, level 1 again
    with world_a.session() as s:
        assert sorted((r.round, r.level) for r in s.scalars(sa.select(Supervision))) == [(0, 1), (1, 1)]


def test_the_overdue_list_is_for_the_office_and_the_discipline_commission(world_a):
    with world_a.session() as s:
        for who, may in (("office", True), ("discipline", True), ("dept", False), ("sup", False)):
            assert world_a.actor(s, who).may("business_feedback.overdue") is may, who


def test_term_expiry_is_told_to_the_office_once(world_a, monkeypatch):
    today = world_a.today()
    world_a.appoint("ending", 9, start=today - dt.timedelta(days=700), end=today + dt.timedelta(days=10))
    world_a.appoint("later", 10, start=today - dt.timedelta(days=300), end=today + dt.timedelta(days=40))
    with world_a.session() as s:
        assert jobs.remind_term_expiry(world_a.tenant.id) == 1
        assert jobs.remind_term_expiry(world_a.tenant.id) == 0
        s.commit()
        notices = list(s.scalars(sa.select(Notification).where(Notification.kind == "business_feedback.term_expiring")))
    assert {n.user_id for n in notices} == {world_a.users["office"].id, world_a.users["admin"].id}
    assert all("alpha监督员9" in n.body and "alpha监督员10" not in n.body for n in notices)


@pytest.mark.parametrize("days", [(3, 10)])
def test_levels_follow_the_districts_thresholds(days):
    conf = {"supervise_after_days": days[0], "list_after_days": days[1]}
    assert [supervision.level_for(n, conf) for n in (0, 1, 2, 3, 9, 10, 30)] == [1, 1, 1, 2, 2, 3, 3]


def test_an_answer_at_the_deadlines_last_instant_is_on_time_and_one_just_after_is_late(world_a, monkeypatch):
    item = assigned(world_a, monkeypatch, local(2024, 11, 4, 9, 0), departments=("d1", "d2"))
    with world_a.session() as s:
        deadline = s.scalars(sa.select(Assignment.deadline_at).where(Assignment.item_id == item.id)).first()
    at(monkeypatch, deadline)  # the end of Monday 11 November, to the microsecond
    world_a.act("dept", item, "answer", answer="按期办结")
    at(monkeypatch, deadline + dt.timedelta(microseconds=1))
    world_a.act("dept2", item, "answer", answer="逾期办结")
    with world_a.session() as s:
        on_time = dict(s.execute(sa.select(Assignment.department_id, Assignment.answered_on_time)
                                 .where(Assignment.item_id == item.id)).all())
    assert on_time == {world_a.unit_id("d1"): True, world_a.unit_id("d2"): False}


def test_a_supervisor_dismissed_from_a_later_day_is_not_reminded_of_the_terms_end(world_a):
    today = world_a.today()
    world_a.appoint("ending", 9, start=today - dt.timedelta(days=700), end=today + dt.timedelta(days=10))
    leaving = world_a.appoint("leaving", 11, start=today - dt.timedelta(days=700), end=today + dt.timedelta(days=12))
    with world_a.session() as s:
        services.dismiss_supervisor(s, world_a.tenant, world_a.actor(s, "office"), leaving.id,
                                    {"reason": "工作调动", "on": today + dt.timedelta(days=3)})
        s.commit()
    with world_a.session() as s:
        assert jobs.remind_term_expiry(world_a.tenant.id) == 1
        s.commit()
        bodies = list(s.scalars(sa.select(Notification.body).where(
            Notification.kind == "business_feedback.term_expiring")))
    assert bodies
    assert all("alpha监督员9" in b and "alpha监督员11" not in b for b in bodies)


def test_a_returned_items_new_round_is_supervised_and_sent_again(world_a, monkeypatch):
    from saas.notify import ChannelConfig, Delivery

    with world_a.session() as s:  # an SMS gateway: each notice also leaves by the outbox, once per event
        s.add(ChannelConfig(channel="sms", enabled=True, settings={"url": "http://localhost:9/sms"}))
        s.commit()
    item = assigned(world_a, monkeypatch, local(2024, 11, 4, 9, 0))
    assert supervise(world_a, local(2024, 11, 12, 9, 0)) == 1
    at(monkeypatch, local(2024, 11, 13, 9, 0))
    world_a.act("dept", item, "answer", answer="已处理")
    world_a.act("sup", item, "rate", rating="unsatisfied", note="没有解决")
    assert supervise(world_a, local(2024, 11, 21, 9, 0)) == 1  # round 1, level 1 again
    assert len(overdue_notices(world_a, "dept")) == 2
    with world_a.session() as s:
        sent = list(s.scalars(sa.select(Delivery.channel).where(Delivery.kind == "business_feedback.overdue",
                                                                Delivery.user_id == world_a.users["dept"].id)))
    assert sent == ["sms", "sms"]
