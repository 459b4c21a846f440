"""Common problems (共性问题), quick notes (随手记) and claimed compounds (包片)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from blueprints.grid_cases.models import CasePhoto, CommonProblem, GridCase, QuickNote
from blueprints.grid_cases.services import common, notes
from blueprints.grid_cases.services.base import Refused, ServiceError
from saas.notify import Notification
from tenants import services as tenant_services
from tests.blueprints.grid_cases.conftest import World, jpeg


def inbox(world: World, who: str, kind: str) -> list[Notification]:
    with world.session() as s:
        return list(s.scalars(sa.select(Notification).where(Notification.user_id == world.users[who].id,
                                                           Notification.kind == kind)))


def light_reports(world: World, n: int) -> list[GridCase]:
    cases = []
    for i in range(n):
        world.citizen(i + 1)
        cases.append(world.report(f"citizen{i + 1}", source="web", category_code="streetlight",
                                  location_code=world.code("b1"), description=f"{i + 1}号单元门口没有灯"))
    return cases


def test_reaching_the_threshold_offers_the_cadre_a_common_problem_once(world_a: World) -> None:
    first = light_reports(world_a, 2)
    assert inbox(world_a, "cadre", "grid_cases.common_suggested") == []
    third = light_reports(world_a, 1)  # the third open 路灯 case in 晋祠路一号院 within the window (threshold 3)
    offers = inbox(world_a, "cadre", "grid_cases.common_suggested")
    assert len(offers) == 1
    assert "晋祠路一号院" in offers[0].title
    assert inbox(world_a, "cadre2", "grid_cases.common_suggested") == []  # another community's cadre
    with world_a.session() as s:
        found = common.suggestions(s, world_a.actor(s, "cadre"))
        assert {(x["place"], x["category_code"], x["count"]) for x in found} >= {("晋祠路一号院", "streetlight", 3)}
        # the offer names exactly its cases, newest first
        [offer] = [x for x in found if x["place"] == "晋祠路一号院" and x["category_code"] == "streetlight"]
        assert [c["id"] for c in offer["cases"]] == [str(c.id) for c in reversed([*first, *third])]
        assert common.suggestions(s, world_a.actor(s, "cadre2")) == []


def test_linking_and_resolving_resolves_every_open_case_and_tells_each_reporter(world_a: World) -> None:
    cases = light_reports(world_a, 3)
    already = world_a.move(cases[0], "worker:accept worker:handle")
    with world_a.session() as s:
        problem = common.link_common(s, world_a.tenant, world_a.actor(s, "cadre"), place_code=world_a.code("p1"),
                                     category_code="streetlight", title="单元门照明")
        s.commit()
        problem_id = problem.id
    assert {world_a.get(c).common_problem_id for c in cases} == {problem_id}
    with world_a.session() as s:
        _problem, resolved = common.resolve_common(s, world_a.tenant, world_a.actor(s, "cadre"), problem_id,
                                                   "安装感应灯10盏", [])
        s.commit()
    assert {c.id for c in resolved} == {c.id for c in cases}
    for case in cases:
        row = world_a.get(case)
        assert (row.state, row.result) == ("resolved", "安装感应灯10盏")
    assert world_a.get(already).resolved_on_time is True
    for i in range(3):
        updates = inbox(world_a, f"citizen{i + 1}", "grid_cases.resident_update")
        assert any(case_number in u.title for u in updates for case_number in [cases[i].number])
    # the linked cases go on as any other: verification on site, closing, rating
    world_a.move(world_a.get(cases[1]), "leader:verify worker:close")
    with world_a.session() as s:
        assert s.scalars(sa.select(CommonProblem.state).where(CommonProblem.id == problem_id)).one() == "resolved"
        with pytest.raises(Refused) as err:
            common.resolve_common(s, world_a.tenant, world_a.actor(s, "cadre"), problem_id, "再次", [])
        assert err.value.status == 409


def test_common_problems_need_two_open_cases_in_the_place_and_the_right_person(world_a: World,
                                                                                world_b: World) -> None:
    light_reports(world_a, 1)
    with world_a.session() as s:
        with pytest.raises(ServiceError):
            common.link_common(s, world_a.tenant, world_a.actor(s, "cadre"), place_code=world_a.code("p1"),
                               category_code="streetlight")
        s.rollback()
    light_reports(world_a, 2)
    with world_a.session() as s:
        with pytest.raises(Refused):
            common.link_common(s, world_a.tenant, world_a.actor(s, "cadre2"), place_code=world_a.code("p1"),
                               category_code="streetlight")
        s.rollback()
        with pytest.raises(ServiceError):
            common.link_common(s, world_a.tenant, world_a.actor(s, "cadre"), place_code=world_b.code("p1"),
                               category_code="streetlight")
        s.rollback()


def test_a_quick_note_counts_and_becomes_a_case_with_its_photo(world_a: World) -> None:
    from saas.pictures import Upload

    with world_a.session() as s:
        note = notes.add_note(s, world_a.tenant, world_a.actor(s, "worker"),
                              {"kind": "patrol", "text": "5号楼消防通道堆放杂物"}, [Upload("a.jpg", jpeg())])
        s.commit()
        note_id = note.id
    with world_a.session() as s:
        case = notes.promote_note(s, world_a.tenant, world_a.actor(s, "worker"), note_id,
                                  {"category_code": "hazard"})
        s.commit()
        assert (case.source, case.source_ref, case.description) == ("note", str(note_id), "5号楼消防通道堆放杂物")
        assert s.scalars(sa.select(QuickNote.case_id).where(QuickNote.id == note_id)).one() == case.id
        assert s.scalar(sa.select(sa.func.count()).select_from(CasePhoto).where(
            CasePhoto.case_id == case.id, CasePhoto.stage == "report")) == 1
        with pytest.raises(Refused) as err:
            notes.promote_note(s, world_a.tenant, world_a.actor(s, "worker"), note_id, {"category_code": "hazard"})
        assert err.value.status == 409
        with pytest.raises(Refused) as err:  # only its author turns a note into a case
            notes.promote_note(s, world_a.tenant, world_a.actor(s, "leader"), note_id, {"category_code": "hazard"})
        assert err.value.status == 404


def test_a_cadre_claims_at_most_two_compounds_and_a_compound_has_one_keeper(world_a: World) -> None:
    with world_a.session() as s:
        for code in ("p2", "p3"):
            tenant_services.add_org_unit(s, None, kind="compound", code=world_a.code(code), name=f"小区{code}",
                                         parent=tenant_services.org_unit_by_code(s, world_a.code("g2")))
        s.commit()
    with world_a.session() as s:
        notes.claim_compound(s, world_a.actor(s, "cadre"), world_a.code("p1"))
        notes.claim_compound(s, world_a.actor(s, "cadre"), world_a.code("p2"))
        s.commit()
        with pytest.raises(ServiceError):
            notes.claim_compound(s, world_a.actor(s, "cadre"), world_a.code("p3"))
        s.rollback()
    world_a.users["cadre3"] = world_a.factory.user(world_a.tenant, "community_cadre", world_a.code("c1"),
                                                    name="第三位", username="alpha-cadre3")
    with world_a.session() as s:
        with pytest.raises(ServiceError) as err:
            notes.claim_compound(s, world_a.actor(s, "cadre3"), world_a.code("p1"))
        assert "甲区cadre" in err.value.errors["compound_code"]
        s.rollback()
    case = world_a.report("worker", location_code=world_a.code("p1"))
    claimed = inbox(world_a, "cadre", "grid_cases.claimed_case")
    assert [case.number in n.title for n in claimed] == [True]
