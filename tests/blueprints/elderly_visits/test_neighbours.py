"""A neighbour reports an elderly resident's emergency from the grid's contact card, without an account: the same
emergency as a worker's (urgent notices, escalation after minutes), the grid told when nobody on the registry
matches, bad input refused in Chinese, and the door rate-limited."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from croniter import croniter

from blueprints.elderly_visits import jobs, module
from blueprints.elderly_visits.models import Emergency
from saas.notify import Notification
from tests.blueprints.elderly_visits.conftest import World

URL = "/t/alpha/elderly_visits/neighbour"


def _emergencies(world: World) -> list[Emergency]:
    with world.session() as s:
        return list(s.scalars(sa.select(Emergency)))


def _notices(world: World, who: str) -> list[tuple[str, bool]]:
    with world.session() as s:
        return [(n.kind, n.urgent) for n in s.scalars(sa.select(Notification).where(
            Notification.user_id == world.users[who].id))]


def _report(client, world: World, **over: str):  # type: ignore[no-untyped-def]
    data = {"grid": world.code("g1"), "name": "老人1", "room": "", "kind": "fall", "description": "在楼道里摔倒了",
            "phone": f"{world.phone_head}7777", **over}
    return client.post(URL, data=data)


def test_the_grids_qr_page_offers_the_neighbours_report_for_its_grid(client, world_a: World) -> None:
    page = client.get(f"/t/alpha/grid_cases/report?grid={world_a.code('g1')}")
    assert page.status_code == 200
    assert f'href="{URL}?grid={world_a.code("g1")}"' in page.get_data(as_text=True)
    form = client.get(f"{URL}?grid={world_a.code('g1')}")
    assert form.status_code == 200
    assert "公园路1网格" in form.get_data(as_text=True)
    assert 'href="tel:120"' in form.get_data(as_text=True)


def test_a_neighbours_report_raises_the_residents_emergency_and_it_escalates_after_minutes(
        client, world_a: World) -> None:
    p = world_a.register()
    resp = _report(client, world_a)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    [e] = _emergencies(world_a)
    assert (e.person_id, e.kind, e.state, e.raised_by_id) == (p.id, "fall", "raised", None)
    assert f"{world_a.phone_head}7777" in e.description
    assert _notices(world_a, "cadre") == [("elderly_visits.emergency", True)]  # urgent: no quiet hours
    assert ("elderly_visits.emergency", True) in _notices(world_a, "worker")
    assert _notices(world_a, "cadre2") == []
    # nobody takes it on: the street hears after the district's minutes, not at the next daily job
    with world_a.session() as s:
        assert jobs.escalate_emergencies(world_a.tenant.id, now=e.raised_at + dt.timedelta(minutes=9)) == 0
        assert jobs.escalate_emergencies(world_a.tenant.id, now=e.raised_at + dt.timedelta(minutes=10)) == 1
        s.commit()
    assert _notices(world_a, "street") == [("elderly_visits.emergency_unanswered", True)]


def test_the_escalation_job_runs_every_minute() -> None:
    job = next(j for j in module.jobs if j.name == "escalate_emergencies")
    start = dt.datetime(2026, 3, 1, 8, 0, 30)
    times = croniter(job.cron, start)
    first, second = times.get_next(dt.datetime), times.get_next(dt.datetime)
    assert first - start <= dt.timedelta(minutes=1)
    assert second - first == dt.timedelta(minutes=1)


def test_a_report_about_someone_not_on_the_registry_still_tells_the_grid_at_once(client, world_a: World) -> None:
    world_a.register()
    resp = _report(client, world_a, name="不在名单上的老人", kind="no_answer", description="敲门没人应")
    assert resp.status_code == 200
    assert _emergencies(world_a) == []
    for who in ("cadre", "leader", "worker"):
        assert _notices(world_a, who) == [("elderly_visits.emergency", True)], who
    assert _notices(world_a, "worker3") == []


@pytest.mark.parametrize(("over", "field"), [({"phone": ""}, "phone"), ({"phone": "123"}, "phone"),
                                             ({"kind": "party"}, "kind"), ({"name": ""}, "name"),
                                             ({"grid": "nowhere"}, "grid"), ({"kind": "other", "description": ""},
                                                                             "description")])
def test_bad_input_is_refused_in_chinese_and_nothing_is_raised(client, world_a: World, over: dict[str, str],
                                                               field: str) -> None:
    world_a.register()
    resp = _report(client, world_a, **over)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert f'id="{field}-error"' in html
    assert _emergencies(world_a) == []
    assert _notices(world_a, "cadre") == []


def test_another_districts_grid_is_unknown_here(client, world_a: World, world_b: World) -> None:
    world_b.register()
    resp = _report(client, world_a, grid=world_b.code("g1"))
    assert resp.status_code == 422
    assert _emergencies(world_b) == []


@pytest.mark.config(RATELIMIT_ENABLED=True, LOGIN_ADDRESS_RATE_LIMIT="3 per minute")
def test_the_door_is_rate_limited_per_address(client, world_a: World) -> None:
    world_a.register()
    codes = [_report(client, world_a, phone="1").status_code for _ in range(4)]
    assert codes == [422, 422, 422, 429]
