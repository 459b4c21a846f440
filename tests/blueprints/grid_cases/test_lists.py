"""Who sees which cases, the work lists of each role, filters, keyset pages, and the other district's rows."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from blueprints.grid_cases import services
from blueprints.grid_cases.models import GridCase
from blueprints.grid_cases.services import cases as case_services
from blueprints.grid_cases.services.base import Refused
from blueprints.grid_cases.services.notes import claim_compound
from tenants.models import OrgUnit
from tests.blueprints.grid_cases.conftest import World


def numbers(world: World, who: str, **filters: object) -> set[str]:
    with world.session() as s:
        q, errors = case_services.case_query(s, world.tenant, world.actor(s, who), dict(filters))
        assert not errors, errors
        return set(s.scalars(q.with_only_columns(GridCase.number)))


def test_each_person_sees_their_own_area(world_a: World) -> None:
    g1 = world_a.report("worker").number
    g2 = world_a.report("worker2", location_code=world_a.code("g2")).number
    g3 = world_a.report("worker3", location_code=world_a.code("g3")).number
    assert numbers(world_a, "worker") == {g1}
    assert numbers(world_a, "worker2") == {g2}
    assert numbers(world_a, "cadre") == {g1, g2}
    assert numbers(world_a, "cadre2") == {g3}
    assert numbers(world_a, "street") == numbers(world_a, "admin") == {g1, g2, g3}
    assert numbers(world_a, "dept") == set()


def test_a_department_sees_what_was_dispatched_to_it(world_a: World) -> None:
    case = world_a.report("worker")
    world_a.move(case, "worker:escalate cadre:accept cadre:escalate street:accept street:dispatch")
    assert numbers(world_a, "dept") == numbers(world_a, "section") == {case.number}
    assert numbers(world_a, "dept", view="department") == {case.number}
    assert numbers(world_a, "dept2") == set()


def test_a_claimed_compound_brings_its_cases_to_the_cadre_whatever_the_grid(world_a: World) -> None:
    with world_a.session() as s:
        # cadre2 looks after 公园路社区; the compound p1 is in 晋祠路社区: not theirs to claim
        with pytest.raises(Refused):
            claim_compound(s, world_a.actor(s, "cadre2"), world_a.code("p1"))
        claim_compound(s, world_a.actor(s, "cadre"), world_a.code("p1"))
        s.commit()
    in_compound = world_a.report("worker", location_code=world_a.code("b1")).number
    elsewhere = world_a.report("worker2", location_code=world_a.code("g2")).number
    assert numbers(world_a, "cadre", view="claimed") == {in_compound}
    assert elsewhere in numbers(world_a, "cadre")


def test_a_claim_brings_the_compounds_cases_to_its_keeper_only(world_a: World) -> None:
    """The negative half of claims: a cadre who looks after *another* compound, and everyone else outside the
    compound's area, still do not see its cases."""
    world_a.factory.unit(world_a.tenant, "compound", world_a.code("p3"), world_a.code("g3"), name="公园路3号院")
    with world_a.session() as s:
        claim_compound(s, world_a.actor(s, "cadre"), world_a.code("p1"))
        claim_compound(s, world_a.actor(s, "cadre2"), world_a.code("p3"))
        s.commit()
    in_p1 = world_a.report("worker", location_code=world_a.code("b1")).number
    in_p3 = world_a.report("worker3", location_code=world_a.code("p3")).number
    assert numbers(world_a, "cadre", view="claimed") == {in_p1}
    assert numbers(world_a, "cadre2", view="claimed") == {in_p3}
    assert numbers(world_a, "cadre2") == {in_p3}
    assert numbers(world_a, "cadre") == {in_p1}
    for other in ("worker2", "worker3", "dept", "dept2"):
        assert in_p1 not in numbers(world_a, other), other
    assert numbers(world_a, "worker3") == {in_p3}


def test_the_work_lists_of_each_role(world_a: World) -> None:
    world_a.citizen(1)
    new = world_a.report("citizen1", source="web")
    mine = world_a.report("worker")
    up = world_a.move(world_a.report("worker"), "worker:escalate")
    dispatched = world_a.move(world_a.report("worker"), "worker:escalate cadre:accept cadre:escalate street:accept "
                                                        "street:dispatch")
    resolved = world_a.move(world_a.report("worker"), "worker:handle worker:resolve")
    assert numbers(world_a, "worker", view="new") == {new.number}
    assert numbers(world_a, "worker", view="accept") == {new.number}
    assert numbers(world_a, "cadre", view="accept") == {up.number}
    assert numbers(world_a, "worker", view="todo") == {mine.number}
    assert numbers(world_a, "dept", view="department") == {dispatched.number}
    assert numbers(world_a, "leader", view="verify") == {resolved.number}
    assert numbers(world_a, "worker", view="mine") == {mine.number, up.number, dispatched.number, resolved.number}
    assert numbers(world_a, "citizen1") == {new.number}


def test_a_grid_worker_reports_only_in_their_own_area(world_a: World) -> None:
    with world_a.session() as s, pytest.raises(services.ServiceError) as err:
        services.report_case(s, world_a.tenant, world_a.actor(s, "worker"),
                             {"category_code": "water", "location_code": world_a.code("g2"), "description": "隔壁"})
    assert set(err.value.errors) == {"location_code"}


def test_filters_number_text_category_state_and_area(world_a: World) -> None:
    leak = world_a.report("worker", description="3号楼地下室漏水")
    light = world_a.report("worker2", category_code="streetlight", description="路灯不亮",
                           location_code=world_a.code("g2"))
    assert numbers(world_a, "admin", q=leak.number) == {leak.number}
    assert numbers(world_a, "admin", q=leak.number.lower()) == {leak.number}
    assert numbers(world_a, "admin", q="地下室") == {leak.number}
    assert numbers(world_a, "admin", q="100%_") == set()
    assert numbers(world_a, "admin", category="streetlight") == {light.number}
    assert numbers(world_a, "admin", state="accepted") == {leak.number, light.number}
    assert numbers(world_a, "admin", state="final") == set()
    assert numbers(world_a, "admin", grid=world_a.code("g2")) == {light.number}
    assert numbers(world_a, "admin", grid=world_a.code("c1")) == {leak.number, light.number}
    with world_a.session() as s:
        _q, errors = case_services.case_query(s, world_a.tenant, world_a.actor(s, "admin"),
                                              {"grid": "nope", "state": "lost", "view": "everything"})
    assert set(errors) == {"grid", "state", "view"}


def test_keyset_pages_go_newest_first_without_gaps(world_a: World) -> None:
    made = [world_a.report("worker", description=f"第{i}件").number for i in range(7)]
    seen: list[str] = []
    cursor = None
    with world_a.session() as s:
        me = world_a.actor(s, "worker")
        while True:
            rows, cursor, errors = case_services.list_cases(s, world_a.tenant, me, {"before": cursor}, limit=3)
            assert not errors
            seen += [r.number for r in rows]
            if cursor is None:
                break
    assert seen == list(reversed(made))


def test_another_districts_grid_department_or_case_is_out_of_reach(world_a: World, world_b: World) -> None:
    with world_a.session() as s:
        with pytest.raises(services.ServiceError) as err:
            services.report_case(s, world_a.tenant, world_a.actor(s, "admin"),
                                 {"category_code": "water", "location_code": world_b.code("g1"),
                                  "description": "别区的网格"})
        s.rollback()
    assert "location_code" in err.value.errors
    b_case = world_b.report("worker")
    with world_a.session() as s:
        with pytest.raises(Refused) as refused:
            services.get_case(s, world_a.actor(s, "admin"), b_case.id)
        assert refused.value.status == 404
        with pytest.raises(Refused):
            services.get_case(s, world_a.actor(s, "admin"), number=b_case.number)
    a_case = world_a.move(world_a.report("worker"), "worker:escalate cadre:accept cadre:escalate street:accept")
    with world_a.session() as s:
        with pytest.raises(services.ServiceError) as err:
            services.act(s, world_a.tenant, world_a.actor(s, "street"), a_case.id, "dispatch",
                         {"version": a_case.version, "department_code": world_b.code("d1")})
        s.rollback()
    assert "department_code" in err.value.errors


def test_the_database_refuses_a_case_pointing_at_another_districts_grid(world_a: World, world_b: World) -> None:
    case = world_a.report("worker")
    with world_b.session() as s:
        b_grid = s.scalars(sa.select(OrgUnit.id).where(OrgUnit.code == world_b.code("g1"))).one()
    with world_a.session() as s:
        row = s.scalars(sa.select(GridCase).where(GridCase.id == case.id)).one()
        row.grid_id = b_grid
        with pytest.raises(sa.exc.IntegrityError):
            s.flush()
        s.rollback()


def test_a_reversed_date_range_is_refused_by_the_list_its_export_and_the_api(app, factory, client, login_as,
                                                                            world_a: World) -> None:
    from tests.plugin import bearer, text_of

    world_a.report()
    args = {"since": "2026-11-05", "until": "2026-10-01"}
    login_as(world_a.users["leader"])
    page = client.get("/t/alpha/grid_cases/", query_string=args)
    assert page.status_code == 422
    assert "结束日期早于开始日期。" in text_of(page.get_data(as_text=True))
    export = client.get("/t/alpha/grid_cases/export.xlsx", query_string=args)
    assert export.status_code == 422
    assert "结束日期早于开始日期。" in export.get_data(as_text=True)
    api = app.test_client().get("/api/v1/t/alpha/grid_cases/cases", query_string=args,
                                headers=bearer(factory.token(world_a.users["leader"])))
    assert api.status_code == 422
    assert api.get_json()["errors"]["until"] == "结束日期早于开始日期。"
    assert client.get("/t/alpha/grid_cases/", query_string={"since": "2026-10-01", "until": "2026-10-01"}
                      ).status_code == 200
