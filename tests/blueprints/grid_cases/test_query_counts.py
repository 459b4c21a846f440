"""Statements per grid-cases page and API call do not grow with the cases, events or photos shown (no N+1)."""

from __future__ import annotations

from typing import Any

from saas.db import statements
from tests.blueprints.grid_cases.conftest import World
from tests.plugin import bearer

PAGES = ["/t/alpha/grid_cases/", "/t/alpha/grid_cases/?view=overdue", "/t/alpha/grid_cases/?view=accept",
         "/t/alpha/grid_cases/widgets/work", "/t/alpha/grid_cases/notes"]
API = ["/api/v1/t/alpha/grid_cases/cases", "/api/v1/t/alpha/grid_cases/cases?view=todo&limit=50"]


def grow(world: World, n: int) -> int:
    """n more cases in two grids and their compound, each moved a few steps; the first of grid g1's cases."""
    first = 0
    for i in range(n):
        who, grid = ("worker", "g1") if i % 2 else ("worker2", "g2")
        case = world.report(who, location_code=world.code("b1" if who == "worker" else grid), description=f"第{i}件")
        world.move(case, f"{who}:handle {who}:resolve")
        first = first or (case.id if who == "worker" else 0)
    with world.session() as s:
        from blueprints.grid_cases.services.notes import add_note

        for i in range(n):
            add_note(s, world.tenant, world.actor(s, "worker"), {"kind": "patrol", "text": f"巡查{i}"})
        s.commit()
    return first


def count(client: Any, urls: list[str], headers: dict[str, str] | None = None) -> dict[str, int]:
    out = {}
    for url in urls:
        assert client.get(url, headers=headers).status_code == 200, url
        with statements() as seen:
            assert client.get(url, headers=headers).status_code == 200, url
        out[url] = len(seen)
    return out


def test_statement_counts_stay_the_same_with_more_cases(client, login_as, world_a: World) -> None:
    token = bearer(world_a.factory.token(world_a.users["worker"]))
    first = grow(world_a, 3)
    login_as(world_a.users["worker"])
    detail = f"/t/alpha/grid_cases/cases/{first}"
    small = count(client, [*PAGES, detail]), count(client, [*API, f"/api/v1/t/alpha/grid_cases/cases/{first}"],
                                                     token)
    last = grow(world_a, 40)
    for _ in range(6):  # a long timeline on the case whose page is counted
        world_a.act("leader", first, "send_back", note="未修好")
        world_a.act("worker", first, "resolve", result="再次修复")
    login_as(world_a.users["worker"])
    large = count(client, [*PAGES, detail]), count(client, [*API, f"/api/v1/t/alpha/grid_cases/cases/{first}"],
                                                     token)
    assert small == large
    assert last != first
