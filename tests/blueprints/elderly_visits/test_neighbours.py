"""A neighbour reports an elderly resident's emergency from the grid's contact card, with their phone proved by the
kernel's phone code: the same emergency as a worker's (urgent notices, escalation after minutes); a report that
matches nobody on the registry, or several, is an emergency of the grid all the same; bad input refused in Chinese
with nothing stored; the door rate-limited per address, per grid and per phone."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from croniter import croniter

from blueprints.elderly_visits import jobs, module
from blueprints.elderly_visits.models import Emergency
from saas.audit import AuditEntry
from saas.notify import Notification
from saas.schemas import mask_phone
from tests.blueprints.elderly_visits.conftest import World
from tests.plugin import PhoneCodes

URL = "/t/alpha/elderly_visits/neighbour"


def _emergencies(world: World) -> list[Emergency]:
    with world.session() as s:
        return list(s.scalars(sa.select(Emergency).order_by(Emergency.raised_at)))


def _notices(world: World, who: str) -> list[tuple[str, bool]]:
    with world.session() as s:
        return [(n.kind, n.urgent) for n in s.scalars(sa.select(Notification).where(
            Notification.user_id == world.users[who].id))]


def _bodies(world: World) -> str:
    with world.session() as s:
        return " ".join(f"{n.title} {n.body}" for n in s.scalars(sa.select(Notification)))


def phone_of(world: World) -> str:
    return f"{world.phone_head}7777"


def _report(client, world: World, codes: PhoneCodes | None = None, **over: str):  # type: ignore[no-untyped-def]
    """A neighbour's report as the form sends it: a code asked for the phone, then the form with the code."""
    phone = over.get("phone", phone_of(world))
    code = over.pop("code", None)
    if code is None and codes is not None:
        client.post(f"{URL}/code", data={"phone": phone}, headers={"HX-Request": "true"})
        code = codes.last(phone) if any(n == phone for n, _c in codes.issued) else "000000"
    data = {"grid": world.code("g1"), "name": "老人1", "room": "", "kind": "fall", "description": "在楼道里摔倒了",
            "phone": phone, "code": code or "", **over}
    return client.post(URL, data=data)


def test_the_grids_qr_page_offers_the_neighbours_report_for_its_grid(client, world_a: World) -> None:
    page = client.get(f"/t/alpha/grid_cases/report?grid={world_a.code('g1')}")
    assert page.status_code == 200
    assert f'href="{URL}?grid={world_a.code("g1")}"' in page.get_data(as_text=True)
    form = client.get(f"{URL}?grid={world_a.code('g1')}")
    assert form.status_code == 200
    assert "公园路1网格" in form.get_data(as_text=True)
    assert 'href="tel:120"' in form.get_data(as_text=True)
    assert 'name="code"' in form.get_data(as_text=True)


def test_a_neighbours_report_raises_the_residents_emergency_and_it_escalates_after_minutes(
        client, world_a: World, phone_codes: PhoneCodes) -> None:
    p = world_a.register()
    resp = _report(client, world_a, phone_codes)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    [e] = _emergencies(world_a)
    assert (e.person_id, e.kind, e.state, e.source) == (p.id, "fall", "raised", "neighbour")
    assert e.reporter_phone == phone_of(world_a)
    assert phone_of(world_a) not in e.description  # the phone is kept apart, for those who may read it
    assert _notices(world_a, "cadre") == [("elderly_visits.emergency", True)]  # urgent: no quiet hours
    assert ("elderly_visits.emergency", True) in _notices(world_a, "worker")
    assert _notices(world_a, "cadre2") == []
    # nobody takes it on: the street hears after the district's minutes, not at the next daily job
    with world_a.session() as s:
        assert jobs.escalate_emergencies(world_a.tenant.id, now=e.raised_at + dt.timedelta(minutes=9)) == 0
        assert jobs.escalate_emergencies(world_a.tenant.id, now=e.raised_at + dt.timedelta(minutes=10)) == 1
        s.commit()
    assert _notices(world_a, "street") == [("elderly_visits.emergency_unanswered", True)]
    bodies = _bodies(world_a)
    assert phone_of(world_a) not in bodies
    assert mask_phone(phone_of(world_a)) in bodies


def test_the_escalation_job_runs_every_minute() -> None:
    job = next(j for j in module.jobs if j.name == "escalate_emergencies")
    start = dt.datetime(2026, 3, 1, 8, 0, 30)
    times = croniter(job.cron, start)
    first, second = times.get_next(dt.datetime), times.get_next(dt.datetime)
    assert first - start <= dt.timedelta(minutes=1)
    assert second - first == dt.timedelta(minutes=1)


def test_a_report_about_someone_not_on_the_registry_is_an_emergency_of_the_grid(
        client, world_a: World, phone_codes: PhoneCodes) -> None:
    world_a.register()
    resp = _report(client, world_a, phone_codes, name="不在名单上的老人", room="3号楼201", kind="no_answer",
                   description="敲门没人应")
    assert resp.status_code == 200
    [e] = _emergencies(world_a)
    assert (e.person_id, e.source, e.reported_name, e.reported_place) == (None, "neighbour", "不在名单上的老人",
                                                                          "3号楼201")
    assert (e.candidate_ids, e.reporter_phone, e.state) == ([], phone_of(world_a), "raised")
    for who in ("cadre", "leader", "worker", "backup"):
        assert _notices(world_a, who) == [("elderly_visits.emergency", True)], who
    assert _notices(world_a, "worker2") == []
    assert _notices(world_a, "worker3") == []
    assert phone_of(world_a) not in _bodies(world_a)
    with world_a.session() as s:
        [entry] = s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "elderly_visits.emergency")).all()
        assert phone_of(world_a) not in str(entry.after)
        assert entry.after["phone"] == mask_phone(phone_of(world_a))


def test_a_report_several_residents_match_keeps_them_as_candidates(client, world_a: World,
                                                                   phone_codes: PhoneCodes) -> None:
    one = world_a.register(name="王秀英")
    two = world_a.register(name="王秀英")
    world_a.register(name="王秀英", grid_code=world_a.code("g2"), worker_id=world_a.users["worker2"].id)
    resp = _report(client, world_a, phone_codes, name="王秀英")
    assert resp.status_code == 200
    [e] = _emergencies(world_a)
    assert e.person_id is None
    assert sorted(e.candidate_ids) == sorted([str(one.id), str(two.id)])
    assert _notices(world_a, "cadre") == [("elderly_visits.emergency", True)]


def test_the_code_is_required_and_a_wrong_one_stores_nothing(client, world_a: World,
                                                             phone_codes: PhoneCodes) -> None:
    world_a.register()
    missing = _report(client, world_a)
    assert missing.status_code == 422
    assert 'id="code-error"' in missing.get_data(as_text=True)
    client.post(f"{URL}/code", data={"phone": phone_of(world_a)}, headers={"HX-Request": "true"})
    right = phone_codes.last(phone_of(world_a))
    wrong = _report(client, world_a, code="000000" if right != "000000" else "111111")
    assert wrong.status_code == 422
    assert "验证码" in wrong.get_data(as_text=True)
    assert _emergencies(world_a) == []
    assert _notices(world_a, "cadre") == []
    # the right code goes through, and signs the neighbour in: the next report needs no code
    assert _report(client, world_a, code=right).status_code == 200
    again = client.post(URL, data={"grid": world_a.code("g1"), "name": "老人1", "kind": "illness",
                                   "description": "", "room": ""})
    assert again.status_code == 200, again.get_data(as_text=True)
    assert len(_emergencies(world_a)) == 2


@pytest.mark.parametrize(("over", "field"), [({"phone": ""}, "phone"), ({"phone": "123"}, "phone"),
                                             ({"phone": "01012345678"}, "phone"),
                                             ({"kind": "party"}, "kind"), ({"name": ""}, "name"),
                                             ({"name": "  "}, "name"),
                                             ({"grid": "nowhere"}, "grid"), ({"kind": "other", "description": ""},
                                                                             "description")])
def test_bad_input_is_refused_in_chinese_and_nothing_is_raised(client, world_a: World, phone_codes: PhoneCodes,
                                                               over: dict[str, str], field: str) -> None:
    world_a.register()
    resp = _report(client, world_a, phone_codes, **over)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert f'id="{field}-error"' in html
    message = html.split(f'id="{field}-error"', 1)[1].split("</small>", 1)[0]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message
    assert _emergencies(world_a) == []
    assert _notices(world_a, "cadre") == []


def test_another_districts_grid_is_unknown_here(client, world_a: World, world_b: World,
                                                phone_codes: PhoneCodes) -> None:
    world_b.register()
    resp = _report(client, world_a, phone_codes, grid=world_b.code("g1"))
    assert resp.status_code == 422
    assert _emergencies(world_b) == []
    assert _emergencies(world_a) == []


@pytest.mark.config(RATELIMIT_ENABLED=True, LOGIN_ADDRESS_RATE_LIMIT="3 per minute")
def test_the_door_is_rate_limited_per_address(client, world_a: World) -> None:
    world_a.register()
    codes = [_report(client, world_a, phone="1").status_code for _ in range(4)]
    assert codes == [422, 422, 422, 429]


@pytest.mark.config(RATELIMIT_ENABLED=True, NEIGHBOUR_GRID_RATE_LIMIT="2 per minute")
def test_the_door_is_rate_limited_per_grid(client, world_a: World) -> None:
    world_a.register()
    phones = [f"{world_a.phone_head}70{i:02d}" for i in range(3)]
    codes = [_report(client, world_a, phone=p, code="123456").status_code for p in phones]
    assert codes == [422, 422, 429]
    # another grid is not held back by this one's flood
    assert _report(client, world_a, phone=phones[0], code="123456", grid=world_a.code("g2")).status_code == 422


@pytest.mark.config(RATELIMIT_ENABLED=True, NEIGHBOUR_PHONE_RATE_LIMIT="2 per minute")
def test_the_door_is_rate_limited_per_phone(client, world_a: World) -> None:
    world_a.register()
    grids = [world_a.code(g) for g in ("g1", "g2", "g3")]
    codes = [_report(client, world_a, grid=grid, code="123456").status_code for grid in grids]
    assert codes == [422, 422, 429]
    # another phone on the same grid still gets through to the form
    assert _report(client, world_a, phone=f"{world_a.phone_head}7001", code="123456").status_code == 422


@pytest.mark.config(RATELIMIT_ENABLED=True, PHONE_CODE_RATE_LIMIT="1 per minute")
def test_asking_for_codes_is_bounded_by_the_kernels_limit(client, world_a: World) -> None:
    first = client.post(f"{URL}/code", data={"phone": phone_of(world_a)}, headers={"HX-Request": "true"})
    second = client.post(f"{URL}/code", data={"phone": phone_of(world_a)}, headers={"HX-Request": "true"})
    assert (first.status_code, second.status_code) == (200, 429)
    assert 'id="phone-error"' in second.get_data(as_text=True)
