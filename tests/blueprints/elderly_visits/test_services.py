"""The registry, the schedule and visits: the rules with their negative halves (who must not see or do it)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from blueprints.elderly_visits import services
from blueprints.elderly_visits.models import ElderlyPerson, EmergencyContact, Need, Visit
from blueprints.elderly_visits.schemas import PersonIn
from saas.audit import AuditEntry
from tests.blueprints.elderly_visits.conftest import World

RULES = {"alone_days": 7, "disabled_days": 7, "very_old_days": 14, "default_months": 1}
TODAY = dt.date(2026, 12, 4)


def person(categories: list[str], birth: dt.date = dt.date(1950, 1, 1), frequency: int | None = None) -> ElderlyPerson:
    return ElderlyPerson(categories=categories, birth_date=birth, frequency_days=frequency)


# --- the schedule, by hand ------------------------------------------------------------------------------


@pytest.mark.parametrize(("categories", "birth", "frequency", "since", "due"), [
    (["alone"], dt.date(1950, 1, 1), None, TODAY, TODAY + dt.timedelta(days=7)),
    (["disabled"], dt.date(1950, 1, 1), None, TODAY, TODAY + dt.timedelta(days=7)),
    (["empty_nest"], dt.date(1950, 1, 1), None, TODAY, dt.date(2027, 1, 4)),  # monthly
    ([], dt.date(1946, 12, 4), None, TODAY, TODAY + dt.timedelta(days=14)),  # 80 today: 高龄 without the box
    ([], dt.date(1946, 12, 5), None, TODAY, dt.date(2027, 1, 4)),  # 80 tomorrow: still monthly
    (["very_old", "alone"], dt.date(1940, 1, 1), None, TODAY, TODAY + dt.timedelta(days=7)),  # the closest rule
    (["alone"], dt.date(1950, 1, 1), 3, TODAY, TODAY + dt.timedelta(days=3)),  # set for the person
    (["empty_nest"], dt.date(1950, 1, 1), None, dt.date(2027, 1, 31), dt.date(2027, 2, 28)),  # month end
    (["empty_nest"], dt.date(1950, 1, 1), None, dt.date(2028, 1, 31), dt.date(2028, 2, 29)),  # leap year
    (["empty_nest"], dt.date(1950, 1, 1), None, dt.date(2026, 12, 31), dt.date(2027, 1, 31)),  # year end
])
def test_the_next_visit_follows_the_rules_by_category(categories, birth, frequency, since, due) -> None:
    assert services.next_due(person(categories, birth, frequency), RULES, since) == due


def test_a_district_rule_changes_the_interval() -> None:
    assert services.next_due(person(["alone"]), {**RULES, "alone_days": 5}, TODAY) == TODAY + dt.timedelta(days=5)
    assert services.next_due(person([]), {**RULES, "default_months": 2}, dt.date(2026, 12, 31)) == dt.date(2027, 2, 28)


# --- registration -----------------------------------------------------------------------------------------


def test_a_cadre_registers_a_resident_with_contacts_and_the_first_visit_due(world_a: World) -> None:
    p = world_a.register(categories=["alone"])
    today = services.today_in(world_a.tenant)
    assert p.next_visit_on == today + dt.timedelta(days=7)
    with world_a.session() as s:
        assert [c.phone for c in s.scalars(sa.select(EmergencyContact))] == [f"{world_a.phone_head}0001"]
        audit = s.scalars(sa.select(AuditEntry.action).where(AuditEntry.object_id == str(p.id))).all()
    assert audit == ["elderly_visits.register"]


def _count(world: World, model: type) -> int:
    with world.session() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.mark.parametrize(("over", "field"), [
    ({"birth_date": dt.date(1948, 6, 2)}, "birth_date"),  # not the ID number's birth date
    ({"sex": "m"}, "sex"),  # the ID number says a woman
    ({"grid_code": "nowhere"}, "grid_code"),
    ({"place_code": "alpha-g3"}, "place_code"),  # a grid, not a place inside the resident's grid
])
def test_registration_refuses_what_does_not_fit_and_stores_nothing(world_a: World, over, field) -> None:
    over = dict(over)  # the parameter is shared by both backends' runs: popping from it emptied the second one
    with world_a.session() as s:
        data = world_a.person_data()
        if "sex" in over:
            data["sex"] = over.pop("sex")
        data.update(over)
        with pytest.raises(services.ServiceError) as err:
            services.register_person(s, world_a.tenant, world_a.actor(s, "cadre"), data)
        s.rollback()
    assert field in err.value.errors
    assert _count(world_a, ElderlyPerson) == 0
    assert _count(world_a, EmergencyContact) == 0


def test_a_younger_resident_is_refused_with_the_age(world_a: World) -> None:
    with world_a.session() as s:
        data = world_a.person_data(birth_date=dt.date(1990, 1, 1))
        with pytest.raises(services.ServiceError) as err:
            services.register_person(s, world_a.tenant, world_a.actor(s, "cadre"), data)
    assert "60" in err.value.errors["birth_date"]


def test_a_worker_of_another_grid_or_district_cannot_be_assigned(world_a: World, world_b: World) -> None:
    for worker in (world_a.users["worker2"].id, world_b.users["worker"].id, world_a.users["cadre"].id):
        with world_a.session() as s:
            with pytest.raises(services.ServiceError) as err:
                services.register_person(s, world_a.tenant, world_a.actor(s, "cadre"),
                                         world_a.person_data(worker_id=worker))
            s.rollback()
        assert "worker_id" in err.value.errors
    with world_a.session() as s, pytest.raises(services.ServiceError) as err:
        services.register_person(s, world_a.tenant, world_a.actor(s, "cadre"), world_a.person_data(
            backup_worker_id=world_a.users["worker"].id))  # the backup is the worker
    assert "backup_worker_id" in err.value.errors
    assert _count(world_a, ElderlyPerson) == 0


def test_a_resident_is_registered_once_per_district_and_may_be_in_another(world_a: World, world_b: World) -> None:
    data = world_a.person_data()
    with world_a.session() as s:
        services.register_person(s, world_a.tenant, world_a.actor(s, "cadre"), data)
        s.commit()
    with world_a.session() as s, pytest.raises(services.ServiceError) as err:
        services.register_person(s, world_a.tenant, world_a.actor(s, "cadre"), {**data, "name": "又一次"})
    assert "id_number" in err.value.errors
    with world_b.session() as s:
        services.register_person(s, world_b.tenant, world_b.actor(s, "cadre"), {
            **data, "grid_code": world_b.code("g1"), "worker_id": world_b.users["worker"].id})
        s.commit()


def test_only_those_who_manage_the_grid_register(world_a: World) -> None:
    for who in ("worker", "leader", "street", "cadre2"):
        with world_a.session() as s, pytest.raises(services.Refused) as err:
            services.register_person(s, world_a.tenant, world_a.actor(s, who), world_a.person_data())
        assert err.value.status == 403, who
    assert _count(world_a, ElderlyPerson) == 0


@pytest.mark.parametrize(("raw", "field"), [
    ({"id_number": "110101194806010021"}, "id_number"),  # the check digit is wrong
    ({"contacts": [{"name": "儿子", "relation": "子女"}]}, "contacts"),  # a contact without a phone
    ({"consent": False}, "consent"),
    ({"phone": "12345"}, "phone"),
    ({"categories": ["rich"]}, "categories"),
])
def test_the_schema_refuses_bad_fields_with_a_message(app, raw, field) -> None:
    from blueprints.elderly_visits.demo import resident_id

    base = {"name": "王秀兰", "sex": "f", "birth_date": "1948-06-01",
            "id_number": resident_id("110101", dt.date(1948, 6, 1), 2), "grid_code": "g1", "worker_id": "1",
            "consent": True}
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        errors = PersonIn().validate({**base, **raw})
    assert field in errors


# --- who sees what ----------------------------------------------------------------------------------------


def _view(world: World, who: str, p: ElderlyPerson) -> dict:
    with world.session() as s:
        me = world.actor(s, who)
        out = services.person_out(s, world.tenant, me, services.get_person(s, me, p.id), detail=True)
        s.commit()
        return out


def test_health_notes_and_contacts_only_for_the_assigned_the_cadre_and_admins(world_a: World) -> None:
    p = world_a.register(backup_worker_id=world_a.users["backup"].id, phone="13912345678")
    for who in ("worker", "backup", "cadre", "admin"):
        out = _view(world_a, who, p)
        assert out["sensitive"], who
        assert out["conditions"] == "高血压"
        assert out["contacts"][0]["phone"] == f"{world_a.phone_head}0001"
        assert out["phone"] == "13912345678"
    for who in ("leader", "street"):
        out = _view(world_a, who, p)
        assert not out["sensitive"], who
        assert out["conditions"] is None
        assert out["care_notes"] is None
        assert out["contacts"] is None
        assert out["phone"] == "139****5678"
        assert "*" in out["id_number"]
    with world_a.session() as s:
        viewers = s.scalars(sa.select(AuditEntry.actor_id).where(
            AuditEntry.action == "elderly_visits.view_sensitive")).all()
    assert sorted(viewers) == sorted(world_a.users[w].id for w in ("worker", "backup", "cadre", "admin"))


def test_a_resident_outside_ones_area_is_not_found(world_a: World, world_b: World) -> None:
    p = world_a.register()
    for who in ("worker2", "worker3", "cadre2"):
        with world_a.session() as s, pytest.raises(services.Refused) as err:
            services.get_person(s, world_a.actor(s, who), p.id)
        assert err.value.status == 404, who
    with world_b.session() as s, pytest.raises(services.Refused):
        services.get_person(s, world_b.actor(s, "admin"), p.id)


def test_the_lists_hold_exactly_ones_residents_by_due_date(world_a: World, monkeypatch) -> None:
    due_today = world_a.register(categories=["alone"])
    overdue = world_a.register()
    later = world_a.register()
    elsewhere = world_a.register(grid_code=world_a.code("g3"), worker_id=world_a.users["worker3"].id, who="admin")
    today = services.today_in(world_a.tenant)
    with world_a.session() as s:
        for p, day in ((due_today, today), (overdue, today - dt.timedelta(days=2)),
                       (later, today + dt.timedelta(days=40)), (elsewhere, today)):
            s.execute(sa.update(ElderlyPerson).where(ElderlyPerson.id == p.id).values(next_visit_on=day))
        s.commit()

    def names(who: str, due: str) -> set[str]:
        with world_a.session() as s:
            return {r["name"] for r in services.list_people(s, world_a.tenant, world_a.actor(s, who), due=due)}

    assert names("worker", "today") == {due_today.name}
    assert names("worker", "overdue") == {overdue.name}
    assert names("worker", "week") == {due_today.name, overdue.name}
    assert names("worker", "all") == {due_today.name, overdue.name, later.name}
    assert names("worker3", "all") == {elsewhere.name}
    assert names("cadre2", "all") == {elsewhere.name}
    assert names("street", "all") == {due_today.name, overdue.name, later.name, elsewhere.name}
    assert names("worker2", "all") == set()


# --- visits -------------------------------------------------------------------------------------------------


def test_a_visit_moves_the_next_due_date_from_the_day_it_took_place(world_a: World) -> None:
    p = world_a.register(categories=["alone"])
    three_days_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    world_a.visit(p, visited_at=three_days_ago)
    day = services.today_in(world_a.tenant, three_days_ago)
    assert world_a.get(p).next_visit_on == day + dt.timedelta(days=7)
    # an older visit logged afterwards changes nothing
    world_a.visit(p, visited_at=three_days_ago - dt.timedelta(days=2))
    after = world_a.get(p)
    assert after.next_visit_on == day + dt.timedelta(days=7)
    assert after.last_visit_at == three_days_ago


def test_a_visit_in_the_future_or_too_long_ago_is_refused_and_stores_nothing(world_a: World) -> None:
    p = world_a.register()
    before = world_a.get(p)
    for at, fragment in ((dt.datetime.now(dt.UTC) + dt.timedelta(hours=1), "未来"),
                         (dt.datetime.now(dt.UTC) - dt.timedelta(days=31), "30")):
        with pytest.raises(services.ServiceError) as err:
            world_a.visit(p, visited_at=at)
        assert fragment in err.value.errors["visited_at"]
    assert _count(world_a, Visit) == 0
    assert world_a.get(p).next_visit_on == before.next_visit_on


def test_who_logs_a_visit(world_a: World) -> None:
    p = world_a.register()
    world_a.visit(p, "worker")
    world_a.visit(p, "leader")
    world_a.visit(p, "cadre")
    with pytest.raises(services.Refused) as err:
        world_a.visit(p, "street")  # sees the resident, does not visit
    assert err.value.status == 403
    with pytest.raises(services.Refused) as err:
        world_a.visit(p, "worker2")  # another grid: not even found
    assert err.value.status == 404
    assert _count(world_a, Visit) == 3


def test_the_same_visit_sent_twice_is_kept_once(world_a: World) -> None:
    p = world_a.register()
    first = world_a.visit(p, client_key="phone-key-1")
    again = world_a.visit(p, client_key="phone-key-1", notes="resent")
    assert again.id == first.id
    assert _count(world_a, Visit) == 1
    other = world_a.register()
    with pytest.raises(services.ServiceError):
        world_a.visit(other, client_key="phone-key-1")
    assert _count(world_a, Visit) == 1


def test_a_need_becomes_a_grid_case_when_grid_cases_is_on(world_a: World) -> None:
    from blueprints.grid_cases.models import GridCase

    p = world_a.register()
    world_a.visit(p, needs=["repair"], need_note="水龙头漏水", make_case=True)
    with world_a.session() as s:
        need = s.scalars(sa.select(Need)).one()
        case = s.scalars(sa.select(GridCase)).one()
    assert need.case_number == case.number
    assert need.state == "open"
    assert case.source == "module"
    assert case.source_ref.startswith("elderly_visits:visit:")
    assert "水龙头漏水" in case.description


def test_without_grid_cases_a_need_stays_a_task_here(world_a: World) -> None:
    p = world_a.register()
    with world_a.session() as s:
        me = world_a.actor(s, "worker", enabled=("elderly_visits",))
        data = {"kind": "home", "health": "good", "mood": "fair", "needs": ["repair"], "risks": [], "notes": "",
                "visited_at": None, "duration_min": None, "client_key": None, "need_note": "", "make_case": True}
        with pytest.raises(services.ServiceError) as err:
            services.log_visit(s, world_a.tenant, me, p.id, data)
        s.rollback()
        assert "make_case" in err.value.errors
        services.log_visit(s, world_a.tenant, me, p.id, {**data, "make_case": False})
        s.commit()
    with world_a.session() as s:
        need = s.scalars(sa.select(Need)).one()
    assert need.case_number is None
    from blueprints.grid_cases.models import GridCase

    assert _count(world_a, GridCase) == 0
    with world_a.session() as s:
        services.resolve_need(s, world_a.actor(s, "worker"), need.id, "已请物业修好")
        s.commit()
        with pytest.raises(services.Refused):
            services.resolve_need(s, world_a.actor(s, "worker"), need.id, "again")
    assert world_a.get(p).id == p.id


def test_an_elderly_residents_real_id_number_is_accepted_and_a_wrong_one_refused() -> None:
    """python-stdnum's own check refuses 万柏林区's code and codes newer than the birth date: ours does not."""
    from blueprints.elderly_visits.demo import resident_id as make
    from saas.schemas import resident_id

    real = make("140109", dt.date(1946, 2, 3), 7)
    assert resident_id(real) == real
    assert resident_id(real[:-1] + ("0" if real[-1] != "0" else "1")) is None  # the check digit
    assert resident_id("140109194602303" + "1" + "1") is None  # 30 February
    assert resident_id(real[:17]) is None
    assert resident_id(real.lower()) == real


def test_a_street_officer_who_sees_a_need_does_not_resolve_it(world_a: World) -> None:
    p = world_a.register()
    world_a.visit(p, needs=["repair"], need_note="水龙头漏水")
    with world_a.session() as s:
        need = s.scalars(sa.select(Need)).one()
        with pytest.raises(services.Refused) as err:  # the street sees the resident, but follows up no need
            services.resolve_need(s, world_a.actor(s, "street"), need.id, "已处理")
        s.commit()
    assert err.value.status == 403
    with world_a.session() as s:
        need = s.scalars(sa.select(Need)).one()
        assert (need.state, need.result, need.resolved_by_id) == ("open", "", None)
