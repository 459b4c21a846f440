"""The roster: a term's status at its edges (in the district's time zone), rights that follow the term,
certificate numbers per district, dismissal, edits with a version, and another district's people refused."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from blueprints.business_feedback import services
from blueprints.business_feedback.models import FeedbackItem, Supervisor
from blueprints.business_feedback.services import base, roster

D = dt.date


def sup(start: dt.date, end: dt.date, dismissed: dt.date | None = None) -> Supervisor:
    return Supervisor(term_start=start, term_end=end, dismissed_on=dismissed)


@pytest.mark.parametrize(("day", "dismissed", "status"), [
    (D(2026, 2, 28), None, "appointed"),  # not yet started
    (D(2026, 3, 1), None, "in_term"),  # the first day counts
    (D(2027, 12, 31), None, "in_term"),  # 60 days before the end
    (D(2028, 1, 31), None, "expiring"),  # 29 days before the end: within 30
    (D(2028, 1, 30), None, "in_term"),  # 30 days before: not yet
    (D(2028, 2, 29), None, "expiring"),  # the last day is inclusive
    (D(2028, 3, 1), None, "expired"),  # the day after
    (D(2027, 5, 1), D(2027, 5, 1), "dismissed"),  # dismissed today: no longer in term today
    (D(2027, 4, 30), D(2027, 5, 1), "in_term"),  # the day before the dismissal
])
def test_status_at_the_edges_of_a_term(day, dismissed, status):
    assert roster.status_of(sup(D(2026, 3, 1), D(2028, 2, 29), dismissed), day) == status


def test_default_term_is_two_years_ending_the_day_before():
    assert roster.term_end_for(D(2026, 3, 1), 2) == D(2028, 2, 29)
    assert roster.term_end_for(D(2028, 2, 29), 2) == D(2030, 2, 28)
    assert roster.term_end_for(D(2026, 12, 4), 2) == D(2028, 12, 3)


def at(monkeypatch, moment: dt.datetime) -> None:
    monkeypatch.setattr(base, "utcnow", lambda: moment)


def test_the_last_day_of_a_term_ends_at_local_midnight(world_a, monkeypatch):
    world_a.appoint("late", 7, start=D(2026, 1, 1), end=D(2026, 6, 30))
    at(monkeypatch, dt.datetime(2026, 6, 30, 15, 59, tzinfo=dt.UTC))  # 23:59 in Asia/Shanghai
    assert world_a.submit("late").state == "submitted"
    at(monkeypatch, dt.datetime(2026, 6, 30, 16, 0, tzinfo=dt.UTC))  # 00:00 on 1 July there
    with pytest.raises(services.Refused) as refused:
        world_a.submit("late")
    assert refused.value.status == 403
    assert "2026-06-30" in refused.value.message


def test_who_is_not_in_term_is_refused_with_the_reason_and_nothing_is_written(world_a):
    today = world_a.today()
    world_a.appoint("future", 8, start=today + dt.timedelta(days=1))
    with world_a.session() as s:
        count = s.scalar(sa.select(sa.func.count()).select_from(FeedbackItem))
    with pytest.raises(services.Refused) as future:
        world_a.submit("future")
    assert (today + dt.timedelta(days=1)).isoformat() in future.value.message
    sup2 = _supervisor_of(world_a, "sup2")
    with world_a.session() as s:
        services.dismiss_supervisor(s, world_a.tenant, world_a.actor(s, "office"), sup2.id, {"reason": "本人辞去"})
        s.commit()
    with pytest.raises(services.Refused) as dismissed:
        world_a.submit("sup2")
    assert "本人辞去" in dismissed.value.message
    with pytest.raises(services.Refused) as nobody:
        world_a.submit("office")  # the office holds no supervisor's permission
    assert nobody.value.status == 403
    with world_a.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(FeedbackItem)) == count


def _supervisor_of(world, who):  # type: ignore[no-untyped-def]
    with world.session() as s:
        return s.scalars(sa.select(Supervisor).where(Supervisor.user_id == world.users[who].id)).one()


def test_certificate_numbers_are_a_series_per_district(world_a, world_b):
    a1, a2 = _supervisor_of(world_a, "sup"), _supervisor_of(world_a, "sup2")
    year = world_a.today().year
    assert (a1.certificate_no, a2.certificate_no) == (f"营商监聘〔{year}〕001号", f"营商监聘〔{year}〕002号")
    assert _supervisor_of(world_b, "sup").certificate_no == f"营商监聘〔{year}〕001号"
    third = world_a.appoint("sup3", 3, start=D(2025, 5, 1))
    assert third.certificate_no == "营商监聘〔2025〕001号"  # the year of the term's start


def test_dismissal_needs_a_reason_and_happens_once(world_a):
    one = _supervisor_of(world_a, "sup")
    with world_a.session() as s, pytest.raises(services.ServiceError):
        services.dismiss_supervisor(s, world_a.tenant, world_a.actor(s, "office"), one.id, {"reason": " "})
    with world_a.session() as s:
        done = services.dismiss_supervisor(s, world_a.tenant, world_a.actor(s, "office"), one.id, {"reason": "违纪"})
        s.commit()
        assert done.dismissed_on == world_a.today()
    with world_a.session() as s, pytest.raises(services.Refused) as twice:
        services.dismiss_supervisor(s, world_a.tenant, world_a.actor(s, "office"), one.id, {"reason": "再次"})
    assert twice.value.status == 409


def test_edits_check_the_version_and_the_dates(world_a):
    one = _supervisor_of(world_a, "sup")
    with world_a.session() as s, pytest.raises(services.Refused) as stale:
        services.update_supervisor(s, world_a.tenant, world_a.actor(s, "office"), one.id,
                                   {"version": one.version + 1, "batch": "第二批"})
    assert stale.value.status == 409
    with world_a.session() as s, pytest.raises(services.ServiceError):
        services.update_supervisor(s, world_a.tenant, world_a.actor(s, "office"), one.id,
                                   {"version": one.version, "term_end": one.term_start - dt.timedelta(days=1)})
    with world_a.session() as s:
        done = services.update_supervisor(s, world_a.tenant, world_a.actor(s, "office"), one.id,
                                          {"version": one.version, "batch": "第二批", "kind_code": "smart"})
        s.commit()
        assert (done.batch, done.version) == ("第二批", one.version + 1)


def test_only_the_office_manages_the_roster(world_a):
    one = _supervisor_of(world_a, "sup")
    for who in ("dept", "sup", "discipline"):
        with world_a.session() as s, pytest.raises(services.Refused) as refused:
            services.dismiss_supervisor(s, world_a.tenant, world_a.actor(s, who), one.id, {"reason": "x"})
        assert refused.value.status == 403


def test_another_districts_person_or_supervisor_is_not_found(world_a, world_b):
    theirs = _supervisor_of(world_b, "sup")
    with world_a.session() as s, pytest.raises(services.Refused) as foreign_sup:
        services.dismiss_supervisor(s, world_a.tenant, world_a.actor(s, "office"), theirs.id, {"reason": "x"})
    assert foreign_sup.value.status == 404
    with world_a.session() as s, pytest.raises(services.Refused) as foreign_user:
        services.appoint_supervisor(s, world_a.tenant, world_a.actor(s, "office"), {
            "user_id": world_b.users["dept"].id, "kind_code": "smart", "source_group": "expert"})
    assert foreign_user.value.status == 404
