"""Every transition of a case from every state: allowed only to the right role at the right level.

Each state is reached through the services by the people who make those steps in practice. From each state,
every action of the state machine is tried: by the right person (it works when the state allows it, else
409), and, where the state allows it, by people of the wrong role or the wrong level (403, or 404 for those
who do not even see the case). A refusal changes nothing: the case, its timeline and the audit log are as
they were.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from blueprints.grid_cases import services
from blueprints.grid_cases.models import CaseEvent, GridCase
from blueprints.grid_cases.services.base import Refused
from blueprints.grid_cases.services.cases import TRANSITIONS
from saas.audit import AuditEntry
from tenants.models import OrgUnit
from tests.blueprints.grid_cases.conftest import World

TARGET = {
    "accept": "accepted", "reject": "rejected", "send_down": "accepted", "handle": "in_progress",
    "escalate": "escalated", "dispatch": "dispatched", "take": "in_progress", "return": "accepted",
    "request_extension": "extension_requested", "approve_extension": "in_progress",
    "refuse_extension": "in_progress", "resolve": "resolved", "verify": "verified", "send_back": "in_progress",
    "close": "closed", "rate": "rated",
}
# each state, and how people bring a case there (the first step is the report)
PATHS = {
    "reported": ("citizen", ""),
    "escalated@c1": ("worker", "worker:escalate"),
    "escalated@s1": ("worker", "worker:escalate cadre:accept cadre:escalate"),
    "accepted@g1": ("worker", ""),
    "accepted@s1": ("worker", "worker:escalate cadre:accept cadre:escalate street:accept"),
    "accepted@district": ("worker", "worker:escalate cadre:accept cadre:escalate street:accept street:escalate "
                                    "admin:accept"),
    "dispatched": ("worker", "worker:escalate cadre:accept cadre:escalate street:accept street:dispatch"),
    "in_progress@department": ("worker", "worker:escalate cadre:accept cadre:escalate street:accept "
                                         "street:dispatch dept:take"),
    "in_progress@g1": ("worker", "worker:handle"),
    "extension_requested": ("worker", "worker:escalate cadre:accept cadre:escalate street:accept street:dispatch "
                                      "dept:take dept:request_extension"),
    "resolved@g1": ("worker", "worker:handle worker:resolve"),
    "resolved@department": ("worker", "worker:escalate cadre:accept cadre:escalate street:accept street:dispatch "
                                      "dept:take dept:resolve"),
    "verified": ("worker", "worker:handle worker:resolve leader:verify"),
    "closed": ("citizen", "worker:accept worker:handle worker:resolve leader:verify worker:close"),
    "rated": ("citizen", "worker:accept worker:handle worker:resolve leader:verify worker:close citizen:rate"),
    "rejected": ("citizen", "worker:reject"),
}
# people who hold the same role on the same unit as another: either may act
PEERS = {"worker": {"leader"}, "leader": {"worker"}, "dept": {"section"}, "section": {"dept"}}
# who may see a case of grid g1 but holds no role at its current step, and who does not see it at all
WATCHERS = ("admin", "street", "cadre", "leader", "worker", "dept", "section", "dept2", "worker2", "cadre2",
            "citizen2")


def build(world: World, name: str) -> GridCase:
    reporter, path = PATHS[name]
    if reporter == "citizen":
        world.citizen(1)
        case = world.report("citizen1", source="web")
    else:
        case = world.report(reporter)
    steps = " ".join(s.replace("citizen:", "citizen1:") for s in path.split())
    return world.move(case, steps) if steps else case


# Who may do what from each state, written by hand from the domain (README, "Grid cases"), never read from
# `TRANSITIONS`: a wrong row in the state machine must disagree with this table, not be copied into it.
#   the level (the case's current grid, community, street or district) accepts or rejects a new or escalated case,
#   sends an escalated one back down, handles or escalates an accepted one (the district is the top: no escalate),
#   and closes a verified one; only a street or the district dispatches to a department (a grid or community
#   cannot: nobody may); the department takes a dispatched case on or returns it, asks for more time and resolves;
#   the dispatcher (the street here) approves or refuses the extension; a grid worker of the case's grid (the
#   leader) verifies a resolved case on site or sends it back; the reporter rates a closed case.
# An action missing from a state's row is refused with 409 to the person who would otherwise act; `None` means
# the state allows it but nobody holds the step there (everyone 403/404).
ALLOWED: dict[str, dict[str, str | None]] = {
    "reported": {"accept": "worker", "reject": "worker"},
    "escalated@c1": {"accept": "cadre", "reject": "cadre", "send_down": "cadre"},
    "escalated@s1": {"accept": "street", "reject": "street", "send_down": "street"},
    "accepted@g1": {"handle": "worker", "escalate": "worker", "dispatch": None},
    "accepted@s1": {"handle": "street", "escalate": "street", "dispatch": "street"},
    "accepted@district": {"handle": "admin", "dispatch": "admin"},
    "dispatched": {"take": "dept", "return": "dept"},
    "in_progress@department": {"return": "dept", "request_extension": "dept", "resolve": "dept"},
    "in_progress@g1": {"escalate": "worker", "resolve": "worker", "return": None, "request_extension": None},
    "extension_requested": {"approve_extension": "street", "refuse_extension": "street"},
    "resolved@g1": {"verify": "leader", "send_back": "leader"},
    "resolved@department": {"verify": "leader", "send_back": "leader"},
    "verified": {"close": "worker"},
    "closed": {"rate": "citizen1"},
    "rated": {},
    "rejected": {},
}
# the person at each state's level, who is refused with 409 what the state does not allow
LEVEL = {"reported": "worker", "escalated@c1": "cadre", "escalated@s1": "street", "accepted@g1": "worker",
         "accepted@s1": "street", "accepted@district": "admin", "dispatched": "street",
         "in_progress@department": "street", "in_progress@g1": "worker", "extension_requested": "street",
         "resolved@g1": "worker", "resolved@department": "street", "verified": "worker", "closed": "worker",
         "rated": "worker", "rejected": "worker"}


def refusal(case: GridCase, who: str) -> int:
    """403 for someone who sees the case (the people of grid g1 and the areas above it, and the department it was
    dispatched to), 404 for everyone else (another grid, community, department or resident)."""
    sees = {"admin", "street", "cadre", "leader", "worker"} | ({"dept", "section"} if case.department_id else set())
    return 403 if who in sees else 404


def data_for(world: World, action: str) -> dict[str, Any]:
    return {"note": "理由", "days": 3, "result": "已修复", "rating": "satisfied",
            "department_code": world.code("d1")}


def snapshot(world: World, case: GridCase) -> tuple[Any, ...]:
    with world.session() as s:
        row = s.scalars(sa.select(GridCase).where(GridCase.id == case.id)).one()
        events = s.scalar(sa.select(sa.func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case.id))
        audits = s.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
        return (row.state, row.version, row.level_unit_id, row.department_id, row.deadline_at, row.resolve_by,
                row.rating, events, audits)


def attempt(world: World, who: str, case: GridCase, action: str) -> tuple[int, str | None]:
    """(200, new state) or (refusal status, None); a refusal must leave everything as it was."""
    if who.startswith("citizen"):
        world.citizen(int(who[-1]))
    before = snapshot(world, case)
    with world.session() as s:
        try:
            done = services.act(s, world.tenant, world.actor(s, who), case.id, action,
                                {"version": case.version, **data_for(world, action)})
            s.commit()
            return 200, done.state
        except Refused as err:
            s.rollback()
            status, message = err.status, err.message
            assert message, f"{who} {action}: a refusal without a message"
        except services.ServiceError:
            s.rollback()
            status = 422
    assert snapshot(world, case) == before, f"{who} {action}: a refusal changed something"
    return status, None


@pytest.mark.parametrize("state", list(PATHS))
def test_every_action_from_every_state(world_a: World, state: str) -> None:
    world = world_a
    world.citizen(2)
    case = build(world, state)
    assert world.get(case).state == state.split("@")[0]
    allowed = []
    for action in TARGET:
        case = world.get(case)
        if action not in ALLOWED[state]:
            # the state (or the level) does not allow it: refused even to someone who may act on the case
            attempt_as = LEVEL[state]
            assert attempt(world, attempt_as, case, action) == (409, None), f"{state}: {action} by {attempt_as}"
            continue
        who = ALLOWED[state][action]
        if who is None:
            # nobody holds that role at this level (a grid cannot dispatch): everyone is refused
            for other in WATCHERS:
                status, _state = attempt(world, other, case, action)
                assert status == refusal(case, other), f"{state}: {action} by {other} answered {status}"
            continue
        for other in WATCHERS:
            if other == who or other in PEERS.get(who, ()):
                continue
            status, _state = attempt(world, other, case, action)
            assert status == refusal(case, other), f"{state}: {action} by {other} answered {status}"
        allowed.append((action, who))
    # each allowed transition, on a fresh case in the same state, by the right person
    for action, who in allowed:
        fresh = build(world, state)
        assert attempt(world, who, fresh, action) == (200, TARGET[action]), f"{state}: {action} by {who}"
    assert allowed or state in ("rated", "rejected"), f"nothing can be done from {state}"


def test_the_allowed_transitions_are_those_the_table_lists(world_a: World) -> None:
    """The state machine's table and the hand-written one name the same actions and leave the same states."""
    leaves = {s for t in TRANSITIONS.values() for s in t.sources}
    assert leaves == {"reported", "escalated", "accepted", "dispatched", "in_progress", "extension_requested",
                      "resolved", "verified", "closed"}
    assert set(TARGET) == set(TRANSITIONS)
    assert set(ALLOWED) == set(PATHS) == set(LEVEL)
    for state, row in ALLOWED.items():
        assert set(row) <= set(TARGET), state


def test_a_stale_version_is_refused_and_changes_nothing(world_a: World) -> None:
    case = world_a.report("worker")
    old = world_a.get(case).version
    world_a.act("worker", case, "handle")
    before = snapshot(world_a, case)
    with world_a.session() as s:
        with pytest.raises(Refused) as err:
            services.act(s, world_a.tenant, world_a.actor(s, "worker"), case.id, "escalate", {"version": old})
        s.rollback()
    assert err.value.status == 409
    assert snapshot(world_a, case) == before


def test_two_people_acting_at_once_cannot_both_win(app, world_a: World) -> None:
    """Two sessions read the case at version n; the first to commit wins, the other's UPDATE finds no row of
    version n and is refused with 409, even though its own copy looked current (optimistic locking)."""
    import sqlalchemy.orm as so

    from saas import db

    case = world_a.report("worker")
    with app.app_context():
        engine = db.session.get_bind()
        slow, fast = so.Session(bind=engine), so.Session(bind=engine)
        for s in (slow, fast):
            s.info["tenant_id"] = world_a.tenant.id
        try:
            seen = slow.scalars(sa.select(GridCase).where(GridCase.id == case.id)).one()
            version = seen.version
            services.act(fast, world_a.tenant, world_a.actor(fast, "worker"), case.id, "handle",
                         {"version": version})
            fast.commit()
            with pytest.raises(Refused) as err:
                services.act(slow, world_a.tenant, world_a.actor(slow, "worker"), case.id, "escalate",
                             {"version": version})
            assert err.value.status == 409
        finally:
            slow.close()
            fast.close()
    after = world_a.get(case)
    assert (after.state, after.version) == ("in_progress", version + 1)


def test_a_note_is_required_where_a_reason_is(world_a: World) -> None:
    world_a.citizen(1)
    case = world_a.report("citizen1", source="web")
    with world_a.session() as s:
        with pytest.raises(services.ServiceError) as err:
            services.act(s, world_a.tenant, world_a.actor(s, "worker"), case.id, "reject",
                         {"version": world_a.get(case).version, "note": "  "})
        s.rollback()
    assert "note" in err.value.errors
    assert world_a.get(case).state == "reported"


def test_unsatisfied_reopens_once_then_the_rating_stands(world_a: World) -> None:
    world_a.citizen(1)
    case = build(world_a, "closed")
    case = world_a.act("citizen1", case, "rate", rating="unsatisfied", comment="灯还是不亮")
    assert (case.state, case.reopened, case.rating) == ("in_progress", 1, None)
    case = world_a.move(case, "worker:resolve leader:verify worker:close")
    case = world_a.act("citizen1", case, "rate", rating="unsatisfied", comment="还是不行")
    assert (case.state, case.reopened, case.rating) == ("rated", 1, "unsatisfied")


def test_the_timeline_and_the_audit_log_record_each_step(world_a: World) -> None:
    case = world_a.report("worker")
    world_a.move(case, "worker:escalate cadre:accept")
    with world_a.session() as s:
        events = s.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)).all()
        audits = s.scalars(sa.select(AuditEntry.action).where(AuditEntry.object_id == str(case.id))
                           .order_by(AuditEntry.id)).all()
    assert [(e.action, e.from_state, e.to_state) for e in events] == [
        ("report", None, "reported"), ("accept", "reported", "accepted"), ("escalate", "accepted", "escalated"),
        ("accept", "escalated", "accepted")]
    assert [e.actor_name for e in events] == ["甲区worker", "甲区worker", "甲区worker", "甲区cadre"]
    assert [e.actor_role for e in events] == ["grid_worker", "grid_worker", "grid_worker", "community_cadre"]
    assert audits == ["grid_cases.case.report", "grid_cases.case.accept", "grid_cases.case.escalate",
                      "grid_cases.case.accept"]


def test_send_down_returns_an_escalated_case_to_the_level_it_came_from(world_a: World) -> None:
    case = build(world_a, "escalated@s1")
    case = world_a.act("street", case, "send_down", note="社区可自行协调")
    with world_a.session() as s:
        level = s.scalars(sa.select(OrgUnit.code).where(OrgUnit.id == case.level_unit_id)).one()
    assert (case.state, level) == ("accepted", world_a.code("c1"))


def test_a_department_return_goes_back_to_the_dispatcher(world_a: World) -> None:
    case = build(world_a, "dispatched")
    case = world_a.act("section", case, "return", note="不属于本部门职责")
    with world_a.session() as s:
        level = s.scalars(sa.select(OrgUnit.code).where(OrgUnit.id == case.level_unit_id)).one()
    assert (case.state, case.department_id, level) == ("accepted", None, world_a.code("s1"))
