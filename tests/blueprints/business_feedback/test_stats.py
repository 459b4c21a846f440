"""Statistics of business feedback: figures counted by hand (the district of test_figures plus a second
supervisor's suggestion and a declined item), the period, another district, bad parameters and who may see
them, the page with its charts, the XLSX file read back, the API, and the statement count of each door."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from blueprints.business_feedback.models import Enterprise, Visit
from blueprints.business_feedback.services import stats as stats_services
from saas.db import statements, utcnow
from saas.ids import new_id
from tests.blueprints.business_feedback.test_figures import build
from tests.blueprints.business_feedback.test_visits import add_cadre, assign, firm, log
from tests.plugin import bearer, text_of

PAGE = "/t/alpha/business_feedback/stats"
XLSX = "/t/alpha/business_feedback/stats.xlsx"
API = "/api/v1/t/alpha/business_feedback/stats"


@pytest.fixture
def world(world_a, world_b, monkeypatch):  # type: ignore[no-untyped-def]
    build(world_b, monkeypatch)
    world_b.submit(kind="suggestion")
    build(world_a, monkeypatch)
    d1 = world_a.unit_id("d1")
    world_a.act("office", world_a.submit("sup2", kind="suggestion", area_code="taxes"), "accept",
                department_ids=[d1])
    world_a.act("office", world_a.submit("sup2", area_code="taxes"), "decline", note="不属于营商环境问题")
    # 万人助万企: a visit today with one problem found (an item without a supervisor), and one 400 days ago
    add_cadre(world_a)
    eid = firm(world_a)
    assign(world_a, eid)
    log(world_a, eid, problems=[{"kind": "problem", "area_code": "credit", "description": "首贷难"}])
    with world_a.session() as s:
        s.add(Visit(id=new_id(), enterprise_id=eid, cadre_id=world_a.users["cadre"].id, visitors="助企干部",
                    visited_on=world_a.today() - dt.timedelta(days=400), loans_yuan=9, workers_recruited=9))
        s.commit()
    return world_a


def stats_of(world, who: str = "office", **period):  # type: ignore[no-untyped-def]
    with world.session() as s:
        return stats_services.feedback_stats(s, world.tenant, world.actor(s, who), **period)


def test_figures_match_the_hand_count(world):
    started = utcnow()
    stats = stats_of(world)
    month = f"{world.today():%Y-%m}"
    assert stats.period.until == world.today()
    assert stats.period.months[-1] == month
    assert len(stats.period.months) == 12
    sups = {s.name: (s.submitted, s.accepted, s.adopted_suggestions) for s in stats.supervisors}
    assert sups == {"alpha监督员1": (4, 3, 0), "alpha监督员2": (2, 1, 1)}
    last = {s.name: s.last_activity for s in stats.supervisors}
    # the last own step of each: their latest submission, made by the fixture just before
    assert all(started - dt.timedelta(minutes=5) < t <= utcnow() for t in last.values())
    areas = {a.name: a.by_month[-1] for a in stats.areas if a.total}
    assert areas == {"开办企业": 4, "纳税": 2, "获得信贷": 1}  # the visit's problem too
    assert stats.submitted == 7
    assert stats.by_month == [0] * 11 + [7]
    assert stats.visits == stats_services.VisitFigures(visits=1, enterprises=1, problems=1, solved=0,
                                                       loans_yuan=2_000_000, workers_recruited=5,
                                                       approvals_unblocked=1)
    depts = {d.name: (d.received, d.answered, d.answered_on_time, d.supervisions) for d in stats.departments}
    # the period is this month and the 11 before: March and April 2026 are in it when today is in 2026
    assert world.today().year == 2026
    assert depts == {"区市场监管局": (3, 2, 2, (0, 0, 0)), "区税务局": (2, 1, 1, (1, 1, 0))}
    assert [d.name for d in stats.departments] == ["区市场监管局", "区税务局"]  # most received first


def test_a_period_without_the_submissions(world):
    stats = stats_of(world, since=dt.date(2026, 3, 1), until=dt.date(2026, 3, 31))
    assert stats.period.months == ("2026-03",)
    assert stats.submitted == 0
    assert stats.visits == stats_services.VisitFigures()
    assert {s.name: s.submitted for s in stats.supervisors} == {"alpha监督员1": 0, "alpha监督员2": 0}
    assert {d.name: d.received for d in stats.departments} == {"区市场监管局": 2, "区税务局": 1}


@pytest.mark.parametrize(("params", "field"), [
    ({"since": dt.date(2026, 5, 1), "until": dt.date(2026, 4, 1)}, "until"),
    ({"since": dt.date(2020, 1, 1), "until": dt.date(2026, 4, 1)}, "since"),
    ({"since": dt.date(1999, 12, 31)}, "since"),
])
def test_bad_periods_are_refused_by_field(world, params, field):
    with pytest.raises(stats_services.ServiceError) as err:
        stats_of(world, **params)
    assert list(err.value.errors) == [field]


def test_a_department_may_not_see_them(world, client, login_as):
    with pytest.raises(stats_services.Refused):
        stats_of(world, "dept")
    login_as(world.users["dept"])
    assert client.get(PAGE).status_code == 403
    assert client.get(API, headers=bearer(world.factory.token(world.users["dept"]))).status_code == 403


def test_the_page_shows_the_tables_and_charts(world, client, login_as):
    login_as(world.users["discipline"])
    got = client.get(PAGE)
    assert got.status_code == 200
    html = got.get_data(as_text=True)
    for chart in ("chart-months", "chart-areas", "chart-on-time", "chart-supervised"):
        assert f'id="{chart}"' in html
    text = text_of(html)
    assert "区税务局 2 1 100.0% 2.0 0 / 1 / 1 50.0% 1 / 1 / 0" in text
    assert "alpha监督员2 " in text
    assert "乙区" not in text
    assert "beta监督员" not in text
    bad = client.get(PAGE, query_string={"since": "2026-05-01", "until": "2026-04-01"})
    assert bad.status_code == 422
    assert "截止日期早于起始日期。" in text_of(bad.get_data(as_text=True))
    assert client.get(PAGE, query_string={"since": "2026-02-30"}).status_code == 422


def test_the_xlsx_file_reads_back(world, client, login_as):
    login_as(world.users["office"])
    got = client.get(XLSX, query_string={"since": "2026-03-01", "until": world.today().isoformat()})
    assert got.status_code == 200
    assert got.headers["Cache-Control"] == "private, no-store"
    book = load_workbook(io.BytesIO(got.data))
    sups, depts, areas, visits_sheet = (list(ws.iter_rows(values_only=True)) for ws in book.worksheets)
    assert {r[0]: r[3:6] for r in sups[1:]} == {"alpha监督员1": (4, 3, 0), "alpha监督员2": (2, 1, 1)}
    tax = next(r for r in depts[1:] if r[0] == "区税务局")
    assert tax == ("区税务局", 2, 1, 1, 1, 2, 0, 1, 1, 0.5, 1, 1, 0)
    assert areas[0][1] == "2026-03"
    assert areas[-1][0] == "合计"
    assert areas[-1][-1] == 7
    assert visits_sheet[1] == (1, 1, 1, 0, 2_000_000, 5, 1)
    assert client.get(XLSX, query_string={"until": "2026-04-01", "since": "2026-05-01"}).status_code == 422


def test_the_api_sends_the_same_figures(world, client):
    token = bearer(world.factory.token(world.users["office"]))
    got = client.get(API, headers=token)
    assert got.status_code == 200, got.get_json()
    body = got.get_json()
    assert body["submitted"] == 7
    assert body["visits"]["loans_yuan"] == 2_000_000
    tax = next(d for d in body["departments"] if d["name"] == "区税务局")
    assert (tax["department_id"], tax["supervisions"], tax["satisfied_share"]) == (
        str(world.unit_id("d2")), [1, 1, 0], 0.5)
    assert {s["name"]: s["adopted_suggestions"] for s in body["supervisors"]} == {"alpha监督员1": 0,
                                                                                 "alpha监督员2": 1}
    bad = client.get(API, headers=token, query_string={"since": "2026-05-01", "until": "2026-04-01"})
    assert bad.status_code == 422


def test_statement_counts_do_not_grow_with_the_items(world, client, login_as, backend):
    token = bearer(world.factory.token(world.users["office"]))
    login_as(world.users["office"])

    def counts() -> list[int]:
        out = []
        for url, headers in ((PAGE, None), (XLSX, None), (API, token)):
            assert client.get(url, headers=headers).status_code == 200
            with statements() as seen:
                assert client.get(url, headers=headers).status_code == 200
            out.append(len(seen))
        return out

    small = counts()
    d1, d2 = world.unit_id("d1"), world.unit_id("d2")
    with world.session() as s:
        eid = s.scalars(sa.select(Enterprise.id)).one()
    for i in range(8):
        item = world.submit("sup2" if i % 2 else "sup", area_code=("start", "taxes", "credit")[i % 3])
        world.act("office", item, "accept", department_ids=[d1, d2][: 1 + i % 2])
        if i % 3 == 0:
            world.act("dept", item, "answer", answer="已办结")
        if i % 4 == 0:
            log(world, eid, problems=[{"kind": "problem", "area_code": "start", "description": f"第{i}个问题"}])
    assert counts() == small
    assert small == EXPECTED[backend["name"]]


EXPECTED = {"postgres": [20, 20, 21], "sqlite": [18, 18, 19]}
