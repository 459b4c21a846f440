"""A small district with cases in every figure of the statistics, made through the services with a clock.

The clock stands in for `utcnow` in the case services, so reports, steps and deadlines happen on the days
the expectations below were counted by hand (see `EXPECTED`). The district (street s1 with community c1
and grids g1, g2; street s2 with community c2 and grid g3; the water department) gets:

| case | where | category | reported (local) | path | state now |
| --- | --- | --- | --- | --- | --- |
| c1 | g1 | water | 2026-11-03 | gw1's patrol, handled, resolved on time, verified, closed | closed |
| c2 | g1 | streetlight | 2026-11-04 | gw1's patrol, handled, resolved late on 11-20 | resolved (late) |
| c3 | g2 | water | 2026-10-13 | a resident's call taken by gw2, resolved, closed, rated 基本满意 | rated |
| c4 | g3 | streetlight | 2026-10-14 | a resident online, nobody accepted it | reported (overdue) |
| c5 | g3 | water | 2026-09-15 | gw3's patrol, escalated to c2 | escalated (overdue) |
| c6 | g1 | streetlight | 2026-09-21 | a resident online, not accepted by gw1 | rejected |
| c7 | g1 | streetlight | 2026-08-05 | gw1's quick note made a case, resolved, closed | closed |
| c8 | g2 | water | 2025-12-10 | a resident online; rated 不满意 (reopened), fixed, rated 不满意 again | rated |
| c9 | g1 | water | 2026-11-10 | gw1's patrol, up to the street, dispatched to water, taken on | in progress (overdue) |
| c0 | g1 | water | 2025-10-15 | gw1's patrol, before the period | accepted |

District B gets cases of its own that must never count in A.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from blueprints.grid_cases import services
from blueprints.grid_cases.models import GridCase, QuickNote
from blueprints.grid_cases.services import Actor
from blueprints.grid_cases.services import notes as note_services
from saas import auth
from tenants.models import User

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=TZ).astimezone(dt.UTC)


def local(y: int, m: int, d: int, h: int = 10) -> dt.datetime:
    return dt.datetime(y, m, d, h, 0, tzinfo=TZ).astimezone(dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now


@dataclasses.dataclass
class World:
    tenant: Any
    people: dict[str, Any]  # name -> User
    cases: dict[str, int]  # c1.. -> case id
    clock: Clock

    def actor(self, s: Any, who: str, book: Any) -> Actor:
        user = s.scalars(sa.select(User).where(User.id == self.people[who].id)).one()
        return Actor(user, book, frozenset({"grid_cases"}))


def build_tree(factory: Any, tenant: Any, mark: str = "") -> dict[str, Any]:
    """Units and people of one district; codes carry `mark` so two districts differ."""
    for kind, code, parent, name in (
        ("street", "s1", None, "一号街道"), ("community", "c1", "s1", "一号社区"),
        ("grid", "g1", "c1", "一号网格"), ("grid", "g2", "c1", "二号网格"),
        ("street", "s2", None, "二号街道"), ("community", "c2", "s2", "二号社区"), ("grid", "g3", "c2", "三号网格"),
        ("department", "water-dept", None, "水务局"),
    ):
        factory.unit(tenant, kind, mark + code, mark + parent if parent else None, name=mark + name)
    people = {}
    for name, role, unit in (
        ("admin", "district_admin", None), ("officer1", "street_officer", "s1"),
        ("officer2", "street_officer", "s2"), ("cadre1", "community_cadre", "c1"),
        ("cadre2", "community_cadre", "c2"), ("gw1", "grid_worker", "g1"), ("gw2", "grid_worker", "g2"),
        ("gw3", "grid_worker", "g3"), ("handler", "dept_handler", "water-dept"),
    ):
        people[name] = factory.user(tenant, role, mark + unit if unit else None, name=f"{mark}{name}",
                                    username=f"{mark}{name}")
    with factory.as_tenant(tenant) as s:
        from tenants.models import OrgUnit

        water = s.scalars(sa.select(OrgUnit).where(OrgUnit.code == mark + "water-dept")).one()
        for code, name, days in (("water", "供水", 3), ("streetlight", "路灯", 5)):
            data = {"name": mark + name, "deadline_days": days, "urgent_hours": 8, "department_code": water.code}
            # switching grid cases on installed the defaults (the provisioning hook): set theirs to the world's
            existing = services.category_by_code(s, code)
            if existing is None:
                services.add_category(s, None, {"code": code, **data})
            else:
                services.update_category(s, None, existing.id, data)
        s.commit()
    return people


def build(factory: Any, tenant: Any, monkeypatch: Any, mark: str = "") -> World:
    people = build_tree(factory, tenant, mark)
    clock = Clock()
    monkeypatch.setattr("blueprints.grid_cases.services.cases.utcnow", clock)
    monkeypatch.setattr("blueprints.grid_cases.services.common.utcnow", clock)
    book = factory.app.extensions["saas.roles"]
    world = World(tenant, people, {}, clock)
    with factory.as_tenant(tenant) as s:
        def who(name: str) -> Actor:
            return world.actor(s, name, book)

        def citizen(phone: str) -> Actor:
            return Actor(auth.citizen_for_phone(phone, s), book, frozenset({"grid_cases"}))

        def at(when: dt.datetime) -> None:
            clock.now = when

        def report(name: str, by: Actor, grid: str, category: str, source: str | None = None, **data: Any) -> int:
            case = services.report_case(s, tenant, by, {"category_code": category, "location_code": mark + grid,
                                                        "description": f"{name} 的问题", **data}, source=source)
            world.cases[name] = case.id
            return case.id

        def step(by: Actor, name: str, action: str, **data: Any) -> None:
            s.flush()
            case = s.scalars(sa.select(GridCase).where(GridCase.id == world.cases[name])).one()
            services.act(s, tenant, by, case.id, action, {"version": case.version, **data})

        def close(by: Actor, name: str, result: str = "已处理") -> None:
            step(by, name, "resolve", result=result)
            step(by, name, "verify")
            step(by, name, "close")

        p1, p2 = "1391110" + ("0001" if not mark else "0101"), "1391110" + ("0002" if not mark else "0102")
        p3, p4 = "1391110" + ("0003" if not mark else "0103"), "1391110" + ("0004" if not mark else "0104")

        at(local(2025, 10, 15))
        report("c0", who("gw1"), "g1", "water")
        at(local(2025, 12, 10))
        report("c8", citizen(p1), "g2", "water", source="web")
        step(who("gw2"), "c8", "accept")
        step(who("gw2"), "c8", "handle")
        close(who("gw2"), "c8")
        step(citizen(p1), "c8", "rate", rating="unsatisfied", comment="没修好")
        at(local(2025, 12, 11))
        close(who("gw2"), "c8", "返工")
        step(citizen(p1), "c8", "rate", rating="unsatisfied", comment="还是不行")
        at(local(2026, 8, 5))
        note = note_services.add_note(s, tenant, who("gw1"), {"kind": "patrol", "text": "巡查发现路灯不亮"})
        s.flush()
        s.execute(sa.update(QuickNote).where(QuickNote.id == note.id).values(created_at=local(2026, 8, 5)))
        case = note_services.promote_note(s, tenant, who("gw1"), note.id, {"category_code": "streetlight"})
        world.cases["c7"] = case.id
        step(who("gw1"), "c7", "handle")
        close(who("gw1"), "c7")
        at(local(2026, 9, 15))
        report("c5", who("gw3"), "g3", "water")
        step(who("gw3"), "c5", "escalate", note="网格处理不了")
        at(local(2026, 9, 21))
        report("c6", citizen(p2), "g1", "streetlight", source="web")
        step(who("gw1"), "c6", "reject", note="不属于本网格")
        at(local(2026, 10, 13))
        report("c3", who("gw2"), "g2", "water", source="phone", reporter_name="王女士", reporter_phone=p3)
        step(who("gw2"), "c3", "handle")
        close(who("gw2"), "c3")
        step(citizen(p3), "c3", "rate", rating="basically")
        at(local(2026, 10, 14))
        report("c4", citizen(p4), "g3", "streetlight", source="web")
        at(local(2026, 11, 3))
        report("c1", who("gw1"), "g1", "water")
        step(who("gw1"), "c1", "handle")
        close(who("gw1"), "c1")
        at(local(2026, 11, 4))
        report("c2", who("gw1"), "g1", "streetlight")
        step(who("gw1"), "c2", "handle")
        at(local(2026, 11, 10))
        report("c9", who("gw1"), "g1", "water")
        step(who("gw1"), "c9", "escalate", note="需要社区协调")
        step(who("cadre1"), "c9", "accept")
        step(who("cadre1"), "c9", "escalate", note="需要专业部门")
        step(who("officer1"), "c9", "accept")
        step(who("officer1"), "c9", "dispatch", department_code=mark + "water-dept")
        step(who("handler"), "c9", "take")
        at(NOW)
        step(who("gw1"), "c2", "resolve", result="换了灯泡")
        # quick notes: gw2 visits twice this month and did publicity before the period; gw3 one service
        for name, kind, when in (("gw2", "visit", local(2026, 11, 5)), ("gw2", "visit", local(2026, 11, 6)),
                                 ("gw2", "publicity", local(2025, 10, 1)), ("gw3", "service", local(2026, 9, 1))):
            n = note_services.add_note(s, tenant, who(name), {"kind": kind, "text": f"{name} {kind}"})
            s.flush()
            s.execute(sa.update(QuickNote).where(QuickNote.id == n.id).values(created_at=when))
        s.commit()
    return world


# figures of the default period (2025-11-01 to 2026-11-20) as the district admin sees them, counted by hand
EXPECTED = {
    "reported": 9,  # c1-c9 (c0 is before the period)
    "accepted": 7,  # all but c4 (waiting) and c6 (rejected); c5 counts: accepted at g3 before it was escalated
    "rejected": 1,  # c6
    "closed": 4,  # c1, c7 closed; c3, c8 rated
    "overdue_open": 3,  # c4 (acceptance due 10-15), c5 (acceptance at c2 due 9-16), c9 (handling due 11-13)
    "resolved_late": 1,  # c2 (handling due 11-11, resolved 11-20)
    "overdue": 4,
    "resolved": 5,  # c1, c2, c3, c7, c8
    "on_time": 4,  # all but c2
    "rated": 2,  # c3 basically, c8 unsatisfied (its first, reopening rating leaves no rating behind)
    "good": 1,  # c3
    "on_time_rate": 0.8,
    "satisfaction_rate": 0.5,
}
