"""The dashboard: coverage by grid and community, the overdue list, visits per worker, needs and emergencies; the
page, the XLSX (read back) and the API agree, a bad month is refused in Chinese, and a request costs the same
statements for two visits as for forty."""

from __future__ import annotations

import datetime as dt
import io

import sqlalchemy as sa
from openpyxl import load_workbook

from blueprints.elderly_visits import services
from blueprints.elderly_visits.models import ElderlyPerson, Emergency
from saas.db import statements, utcnow
from tests.blueprints.elderly_visits.conftest import World
from tests.plugin import bearer

API = "/api/v1/t/alpha/elderly_visits/dashboard"


def _overdue(world: World, person: ElderlyPerson, days: int) -> None:
    with world.session() as s:
        row = s.scalars(sa.select(ElderlyPerson).where(ElderlyPerson.id == person.id)).one()
        row.next_visit_on = services.today_in(world.tenant) - dt.timedelta(days=days)
        s.commit()


def _district(world: World) -> dict[str, ElderlyPerson]:
    kept = world.register()
    late = world.register()
    other_grid = world.register(grid_code=world.code("g2"), worker_id=world.users["worker2"].id)
    elsewhere = world.register(grid_code=world.code("g3"), worker_id=world.users["worker3"].id, who="admin")
    world.visit(kept, needs=["repair", "shopping"])
    world.visit(other_grid, who="worker2", needs=["repair"])
    _overdue(world, late, 4)
    _overdue(world, elsewhere, 9)
    with world.session() as s:
        emergency = services.raise_emergency(s, world.tenant, world.actor(s, "worker"), kept.id, {"kind": "fall"})
        s.flush()
        emergency.raised_at = utcnow() - dt.timedelta(minutes=12)
        services.acknowledge_emergency(s, world.actor(s, "cadre"), emergency.id, emergency.version)
        s.commit()
    return {"kept": kept, "late": late, "other_grid": other_grid, "elsewhere": elsewhere}


def test_the_dashboard_counts_coverage_overdue_visits_needs_and_response_times(client, world_a: World,
                                                                              world_b: World) -> None:
    _district(world_a)
    _district(world_b)  # another district's figures never count
    resp = client.get(API, headers=bearer(world_a.factory.token(world_a.users["admin"])))
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert body["total"] == {"name": "全部", "people": 4, "on_time": 2, "visited": 2, "rate": 0.5}
    communities = {c["name"]: (c["people"], c["on_time"]) for c in body["communities"]}
    assert communities == {"公园路社区": (3, 2), "漪汾苑社区": (1, 0)}
    grids = {c["name"]: (c["people"], c["on_time"]) for c in body["grids"]}
    assert grids == {"公园路1网格": (2, 1), "公园路2网格": (1, 1), "漪汾苑1网格": (1, 0)}
    assert [(o["name"], o["days"]) for o in body["overdue"]] == [("老人4", 9), ("老人2", 4)]
    assert sorted((w["worker"], w["visits"]) for w in body["visits_per_worker"]) == sorted(
        [(world_a.users["worker"].name, 1), (world_a.users["worker2"].name, 1)])
    assert {n["kind"]: (n["found"], n["resolved"]) for n in body["needs"]} == {"repair": (2, 0), "shopping": (1, 0)}
    assert body["emergencies"] == [{"kind": "fall", "label": "跌倒", "raised": 1, "acknowledged": 1, "escalated": 0,
                                    "median_min": body["emergencies"][0]["median_min"]}]
    assert 12 <= body["emergencies"][0]["median_min"] < 13
    assert 12 <= body["response_median_min"] < 13

    # the community cadre of 公园路 sees their community only
    mine = client.get(API, headers=bearer(world_a.factory.token(world_a.users["cadre"]))).json
    assert mine["total"]["people"] == 3
    assert [o["name"] for o in mine["overdue"]] == ["老人2"]


def test_the_dashboard_page_and_its_xlsx_show_the_same_figures(client, login_as, world_a: World) -> None:
    _district(world_a)
    login_as(world_a.users["admin"])
    page = client.get("/t/alpha/elderly_visits/dashboard")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "老人4" in text
    assert "50.0%" in text
    assert "<svg" in text
    resp = client.get("/t/alpha/elderly_visits/dashboard.xlsx")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(resp.data), read_only=True)
    assert book.sheetnames == ["社区", "所在网格", "已超期", "每人走访次数", "需求", "紧急情况"]
    communities = list(book["社区"].iter_rows(values_only=True))
    assert communities[0] == ("区域", "居民", "按时走访", "本月走访", "覆盖率")
    assert ("公园路社区", 3, 2, 2, 0.6667) in [tuple(r) for r in communities]
    assert communities[-1] == ("全部", 4, 2, 2, 0.5)
    overdue = list(book["已超期"].iter_rows(values_only=True))[1:]
    assert [(r[0], r[4]) for r in overdue] == [("老人4", 9), ("老人2", 4)]


def test_a_bad_month_is_refused_in_chinese(client, login_as, world_a: World) -> None:
    token = world_a.factory.token(world_a.users["admin"])
    for month in ("2026-13", "abc", "2999-01"):
        resp = client.get(f"{API}?month={month}", headers=bearer(token))
        assert resp.status_code == 422, month
        assert any("\u4e00" <= ch <= "\u9fff" for ch in resp.json["errors"]["month"])
    login_as(world_a.users["admin"])
    page = client.get("/t/alpha/elderly_visits/dashboard?month=abc")
    assert page.status_code == 422
    assert "2026-03" in page.get_data(as_text=True)


def test_the_dashboard_costs_the_same_statements_for_two_visits_as_for_forty(client, login_as,
                                                                             world_a: World) -> None:
    login_as(world_a.users["admin"])
    token = world_a.factory.token(world_a.users["admin"])

    def count() -> list[tuple[int, int]]:
        out = []
        for url, headers in (("/t/alpha/elderly_visits/dashboard", {}), (API, bearer(token))):
            client.get(url, headers=headers)  # warm: the first request of a process reads more
            with statements() as seen:
                assert client.get(url, headers=headers).status_code == 200
            out.append((len(seen), sum("elderly_visits_" in s for s in seen)))
        return out

    people = [world_a.register(), world_a.register(grid_code=world_a.code("g2"),
                                                   worker_id=world_a.users["worker2"].id)]
    for p, who in zip(people, ("worker", "worker2"), strict=True):
        world_a.visit(p, who=who, needs=["repair"])
    few = count()
    for i in range(19):
        for p, who in zip(people, ("worker", "worker2"), strict=True):
            world_a.visit(p, who=who, needs=["shopping"] if i % 2 else [],
                          visited_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=i + 1))
    with world_a.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Emergency)) == 0
    many = count()
    assert many == few
    # the dashboard's own reads: coverage, the overdue list, visits per worker, needs, emergencies
    assert [own for _all, own in few] == [5, 5]
