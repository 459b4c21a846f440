"""A feedback item's life: submission by a supervisor in term, the state machine, who may see it, its timeline.

The state machine is data (`TRANSITIONS`): each transition names the states it leaves and who may make it
(`office`: the business-environment office; `department`: a department the item is assigned to; `supervisor`:
the person who submitted it). `act` is the one door: it finds the item inside the actor's view (the same 404
for missing and foreign), refuses a stale version (409), a state the transition does not leave (409) or a
person who may not make it (403), applies the change, writes the timeline and the audit log and queues the
notices, all in the caller's transaction; a refusal changes nothing.

A department never learns who submitted an item that does not show the name: `reveal_name` decides for the
item's page, its API answer, the timeline (the supervisor's own steps) and the notices sent to departments.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from blueprints.business_feedback.models import (
    OPEN_STATES,
    Assignment,
    BusinessArea,
    Coordination,
    Enterprise,
    FeedbackEvent,
    FeedbackItem,
    Supervisor,
    Visit,
)
from blueprints.business_feedback.services.base import (
    MODULE,
    Actor,
    Refused,
    ServiceError,
    calendar,
    department_units,
    next_in_series,
    not_found,
    people_with,
    settings,
    today,
    unit_names,
)
from blueprints.business_feedback.services.enterprises import enterprise_for_item
from blueprints.business_feedback.services.lists import area_by_code
from blueprints.business_feedback.services.roster import current_term
from saas import audit
from saas.db import utcnow
from saas.ids import new_id
from saas.notify import Recipients, notify
from tenants.models import OrgUnit, Tenant, User

STATE_LABELS = {
    "submitted": _l("Waiting for triage"), "assigned": _l("At the departments"), "answered": _l("Answered"),
    "rated": _l("Rated, waiting to be closed"), "closed": _l("Closed"), "merged": _l("Merged as a duplicate"),
    "recorded": _l("Recorded as market information"), "declined": _l("Declined"),
}
KIND_LABELS = {"problem": _l("Problem (问题反映)"), "suggestion": _l("Suggestion (意见建议)"),
               "market": _l("Market information (市场信息)"), "praise": _l("Praise (表扬)")}
URGENCY_LABELS = {"normal": _l("Normal"), "urgent": _l("Urgent")}
RATING_LABELS = {"satisfied": _l("Satisfied"), "basically": _l("Basically satisfied"),
                 "unsatisfied": _l("Not satisfied")}
LEVEL_LABELS = {1: _l("Reminder (提醒)"), 2: _l("Supervision (督办)"), 3: _l("Listed supervision (挂牌督办)")}
HIDDEN_NAME = _l("A supervisor")


@dataclasses.dataclass(frozen=True)
class Transition:
    action: str
    label: Any
    sources: tuple[str, ...]
    who: str  # office | department | supervisor
    note: str = "optional"  # required | optional
    style: str = ""


TRANSITIONS: dict[str, Transition] = {t.action: t for t in (
    Transition("accept", _l("Accept and assign to departments"), ("submitted",), "office"),
    Transition("merge", _l("Merge as a duplicate"), ("submitted",), "office", style="secondary"),
    Transition("record", _l("Record as market information"), ("submitted",), "office", style="secondary"),
    Transition("decline", _l("Decline"), ("submitted",), "office", note="required", style="secondary"),
    Transition("answer", _l("Answer with the measures taken"), ("assigned",), "department"),
    Transition("rate", _l("Rate the answer"), ("answered",), "supervisor"),
    Transition("close", _l("Close"), ("rated",), "office"),
)}
EVENT_LABELS = {"submit": _l("Submitted"), "supervise": _l("Overdue (督办)"),
                "coordinate": _l("Coordination (协商处理)"),
                "return": _l("Back to the departments: the supervisor was not satisfied"),
                **{t.action: t.label for t in TRANSITIONS.values()}}
WHO_LABELS = {"office": _l("the business-environment office"), "department": _l("a department it is assigned to"),
              "supervisor": _l("the supervisor who submitted it")}
PAGE_SIZE = 50


# --- who sees, who may ------------------------------------------------------------------------------


def scope(actor: Actor) -> sa.ColumnElement[bool]:
    """What the person sees: everything (the office), their departments' items, their own submissions."""
    if actor.may("business_feedback.triage"):
        return sa.true()
    parts: list[sa.ColumnElement[bool]] = []
    departments = actor.department_ids()
    if departments:
        parts.append(FeedbackItem.id.in_(sa.select(Assignment.item_id).where(
            Assignment.department_id.in_(departments))))
    if actor.id is not None and (actor.may("business_feedback.submit") or actor.may("business_feedback.visit")):
        parts.append(FeedbackItem.submitted_by_id == actor.id)
    return sa.or_(*parts) if parts else sa.false()


def get_item(session: so.Session, actor: Actor, item_id: int) -> FeedbackItem:
    item = session.scalars(sa.select(FeedbackItem).where(FeedbackItem.id == item_id, scope(actor))).first()
    if item is None:
        raise not_found()
    return item


def reveal_name(actor: Actor, item: FeedbackItem) -> bool:
    """May this person read who submitted the item? The office and the supervisor always; others when shown."""
    return item.show_name or actor.may("business_feedback.triage") or (
        actor.id is not None and actor.id == item.submitted_by_id)


def assignments_of(session: so.Session, item: FeedbackItem) -> list[Assignment]:
    return list(session.scalars(sa.select(Assignment).where(Assignment.item_id == item.id)
                                .order_by(Assignment.id)))


def _my_assignment(session: so.Session, actor: Actor, item: FeedbackItem) -> Assignment | None:
    departments = actor.department_ids()
    if not departments:
        return None
    rows = [a for a in assignments_of(session, item) if a.department_id in departments]
    return next((a for a in rows if a.answered_at is None), rows[0] if rows else None)


def role_for(session: so.Session, actor: Actor, item: FeedbackItem, who: str) -> str | None:
    if actor.user is None:
        return None
    if who == "office":
        return actor.role("business_feedback.triage") or None
    if who == "department":
        return actor.role("business_feedback.answer") if _my_assignment(session, actor, item) else None
    if who == "supervisor":
        return "supervisor" if actor.id == item.submitted_by_id else None
    return None


def available_actions(session: so.Session, actor: Actor, item: FeedbackItem) -> list[Transition]:
    out = []
    for t in TRANSITIONS.values():
        if item.state not in t.sources or role_for(session, actor, item, t.who) is None:
            continue
        if t.action == "answer":
            mine = _my_assignment(session, actor, item)
            if mine is None or mine.answered_at is not None:
                continue
        out.append(t)
    return out


# --- submission ------------------------------------------------------------------------------------


def _number(session: so.Session, tenant: Tenant) -> str:
    year = today(session, tenant).year
    return f"{settings(session)['item_prefix']}-{year}-{next_in_series(session, tenant, 'item', year):05d}"


def submit_item(session: so.Session, tenant: Tenant, actor: Actor, data: dict[str, Any], *,
                visit: Visit | None = None) -> FeedbackItem:
    """A supervisor in term submits feedback: kind, business area, the enterprise (optional), description,
    urgency and whether departments may see their name. Someone not in term is refused with the reason.

    With `visit`, a problem or request a cadre found on an enterprise visit (万人助万企): about the visit's
    enterprise, with the cadre's name shown, routed like any other item (services.visits calls this)."""
    sup = None
    if visit is not None:
        if not actor.may("business_feedback.visit") or actor.id is None:
            raise Refused(_("Only the enterprise's cadre logs its visits."), 403)
    else:
        if not actor.may("business_feedback.submit") or actor.id is None:
            raise Refused(_("Only supervisors submit feedback."), 403)
        sup, reason = current_term(session, tenant, actor.id)
        if reason is not None or sup is None:
            raise Refused(reason or _("You are not on the roster of supervisors."), 403)
    area = area_by_code(session, data["area_code"])
    if area is None or not area.active:
        raise ServiceError({"area_code": _("Not one of the district's business areas.")})
    enterprise_id = visit.enterprise_id if visit is not None else None
    if visit is None:
        enterprise = enterprise_for_item(session, tenant, actor, data)
        enterprise_id = enterprise.id if enterprise else None
    item = FeedbackItem(id=new_id(), number=_number(session, tenant), kind=data["kind"], area_id=area.id,
                        enterprise_id=enterprise_id, supervisor_id=sup.id if sup else None,
                        visit_id=visit.id if visit is not None else None,
                        submitted_by_id=actor.id, description=data["description"],
                        urgency=data.get("urgency") or "normal",
                        show_name=visit is not None or bool(data.get("show_name")))
    session.add(item)
    session.flush()
    _event(session, item, actor, "submit", None, "submitted", "", role="supervisor", by_supervisor=True)
    audit.record(session, actor.user, "business_feedback.item.submit", "business_feedback_item", item.id,
                 after={"number": item.number, "kind": item.kind}, module=MODULE)
    office = people_with(session, actor.book, actor.enabled, "business_feedback.triage")
    _notify(session, tenant, actor, item, "business_feedback.submitted", office, reveal=True)
    return item


# --- the state machine -------------------------------------------------------------------------------


def act(session: so.Session, tenant: Tenant, actor: Actor, item_id: int, action: str,
        data: dict[str, Any]) -> FeedbackItem:
    """Make one transition. `data`: version, note, and per action: department_ids and deadline_days (accept),
    into (merge: the other item's number), answer (answer), rating and note (rate)."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise Refused(_("Unknown action."), 404)
    item = get_item(session, actor, item_id)
    if data.get("version") is not None and int(data["version"]) != item.version:
        raise Refused(_("Someone else changed this feedback first; reload it and try again."), 409)
    if item.state not in transition.sources:
        raise Refused(_("This feedback is now “%(state)s”: “%(action)s” is no longer possible.",
                        state=STATE_LABELS[item.state], action=transition.label), 409)
    role = role_for(session, actor, item, transition.who)
    if role is None:
        raise Refused(_("Only %(who)s may do this at this step.", who=WHO_LABELS[transition.who]), 403)
    note = (data.get("note") or "").strip()
    if transition.note == "required" and not note:
        raise ServiceError({"note": _("Please say why.")})
    try:
        _apply(session, tenant, actor, item, transition, role, {**data, "note": note})
        session.flush()
    except so.exc.StaleDataError:
        session.rollback()
        raise Refused(_("Someone else changed this feedback first; reload it and try again."), 409) from None
    return item


def _departments(session: so.Session, ids: list[int]) -> list[OrgUnit]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        raise ServiceError({"department_ids": _("Choose at least one department.")})
    found = list(session.scalars(sa.select(OrgUnit).where(OrgUnit.id.in_(wanted))))
    if len(found) != len(wanted):
        # another district's unit is not found, as a missing one
        raise Refused(_("No such department in this district."), 404)
    if any(u.kind != "department" for u in found):
        raise ServiceError({"department_ids": _("Choose departments, not other units.")})
    return sorted(found, key=lambda u: wanted.index(u.id))


def _apply(session: so.Session, tenant: Tenant, actor: Actor, item: FeedbackItem, t: Transition, role: str,
           data: dict[str, Any]) -> None:
    now = utcnow()
    before = item.state
    note = data["note"]
    info: dict[str, Any] = {}
    by_supervisor = False
    action = t.action
    cal = calendar(session, tenant)
    if action == "accept":
        departments = _departments(session, [int(d) for d in data.get("department_ids") or []])
        days = data.get("deadline_days")
        if days is None:
            days = settings(session)["deadline_days"]
        if not isinstance(days, int) or not 1 <= days <= 60:
            raise ServiceError({"deadline_days": _("Give 1 to 60 working days.")})
        deadline = cal.add_working_days(now, days)
        for unit in departments:
            session.add(Assignment(id=new_id(), item_id=item.id, department_id=unit.id, deadline_at=deadline))
        item.deadline_days = days
        item.state = "assigned"
        info.update(departments=[u.name for u in departments], days=days, deadline=deadline.isoformat())
        people = people_with(session, actor.book, actor.enabled, "business_feedback.answer",
                             department_units(session, [u.id for u in departments]))
        _notify(session, tenant, actor, item, "business_feedback.assigned", people, reveal=item.show_name,
                deadline=deadline)
    elif action == "merge":
        number = (data.get("into") or "").strip()
        other = session.scalars(sa.select(FeedbackItem).where(FeedbackItem.number == number)).first() \
            if number else None
        if other is None or other.id == item.id:
            raise ServiceError({"into": _("Give the number of another feedback item of this district.")})
        if other.state == "merged":
            raise ServiceError({"into": _("That item was itself merged; give the item it was merged into.")})
        item.merged_into_id = other.id
        item.state = "merged"
        item.closed_at = now
        info["into"] = other.number
        _tell_supervisor(session, tenant, actor, item, _l("merged with %(number)s", number=other.number), note)
    elif action == "record":
        item.state = "recorded"
        item.closed_at = now
        _tell_supervisor(session, tenant, actor, item, _l("recorded as market information"), note)
    elif action == "decline":
        item.state = "declined"
        item.closed_at = now
        _tell_supervisor(session, tenant, actor, item, _l("declined"), note)
    elif action == "answer":
        answer = (data.get("answer") or note).strip()
        if not answer:
            raise ServiceError({"answer": _("Say which measures were taken.")})
        mine = _my_assignment(session, actor, item)
        if mine is None or mine.answered_at is not None:
            raise Refused(_("Your department has already answered this feedback."), 409)
        mine.answer = answer
        mine.answered_at = now
        mine.answered_by_id = actor.id
        mine.answered_on_time = now <= mine.deadline_at
        note = answer
        info["department"] = unit_names(session, [mine.department_id]).get(mine.department_id, "")
        waiting = [a for a in assignments_of(session, item) if a.answered_at is None and a.id != mine.id]
        if not waiting:
            item.state = "answered"
            notify(session, item.submitted_by_id, "business_feedback.answered",
                   notice_context(session, item, reveal=True, note=answer), url=item_url(tenant, item),
                   module=MODULE, tenant=tenant, event_key=f"bf:{item.id}:{item.version}:answered")
    elif action == "rate":
        rating = data.get("rating")
        if rating not in RATING_LABELS:
            raise ServiceError({"rating": _("Choose how satisfied you are.")})
        by_supervisor = True
        info["rating"] = rating
        if rating == "unsatisfied" and not note:
            raise ServiceError({"note": _("Please say why you are not satisfied.")})
        if rating == "unsatisfied" and item.returned < 1:
            # 不满意 sends it back to the departments once, with the reason and a new deadline
            item.returned += 1
            item.state = "assigned"
            deadline = cal.add_working_days(now, item.deadline_days or settings(session)["deadline_days"])
            rows = assignments_of(session, item)
            for a in rows:
                a.answered_at = None
                a.answered_by_id = None
                a.answered_on_time = None
                a.deadline_at = deadline
                a.overdue_level = 0
            info.update(returned=True, deadline=deadline.isoformat())
            people = people_with(session, actor.book, actor.enabled, "business_feedback.answer",
                                 department_units(session, [a.department_id for a in rows]))
            _notify(session, tenant, actor, item, "business_feedback.returned", people, reveal=item.show_name,
                    note=note, deadline=deadline)
        else:
            item.rating = rating
            item.rating_comment = note or None
            item.state = "rated"
            office = people_with(session, actor.book, actor.enabled, "business_feedback.triage")
            _notify(session, tenant, actor, item, "business_feedback.to_close", office, reveal=True,
                    note=str(RATING_LABELS[rating]))
    elif action == "close":
        item.state = "closed"
        item.closed_at = now
    else:  # pragma: no cover - TRANSITIONS and this function are kept in step by the tests
        raise ValueError(action)
    item.updated_at = now
    _event(session, item, actor, "return" if info.get("returned") else action, before, item.state, note,
           role=role, by_supervisor=by_supervisor, data=info)
    audit.record(session, actor.user, f"business_feedback.item.{action}", "business_feedback_item", item.id,
                 before={"state": before}, after={"state": item.state, **info}, module=MODULE)


def record_coordination(session: so.Session, tenant: Tenant, actor: Actor, item_id: int,
                        data: dict[str, Any]) -> Coordination:
    """协商处理: the office records a meeting of an item's departments (an item assigned to two or more)."""
    item = get_item(session, actor, item_id)
    if not actor.may("business_feedback.triage"):
        raise Refused(_("Only %(who)s may do this at this step.", who=WHO_LABELS["office"]), 403)
    if item.state not in ("assigned", "answered"):
        raise Refused(_("A coordination is recorded while the departments handle the feedback."), 409)
    if len(assignments_of(session, item)) < 2:
        raise Refused(_("A coordination needs two or more departments assigned."), 409)
    row = Coordination(id=new_id(), item_id=item.id, held_on=data.get("held_on") or today(session, tenant),
                       participants=data["participants"], outcome=data["outcome"], recorded_by_id=actor.id)
    session.add(row)
    _event(session, item, actor, "coordinate", item.state, item.state, data["outcome"],
           role=actor.role("business_feedback.triage"),
           data={"participants": data["participants"], "held_on": row.held_on.isoformat()})
    audit.record(session, actor.user, "business_feedback.item.coordinate", "business_feedback_item", item.id,
                 after={"participants": data["participants"]}, module=MODULE)
    session.flush()
    return row


# --- timeline and notices ------------------------------------------------------------------------------


def _event(session: so.Session, item: FeedbackItem, actor: Actor, action: str, from_state: str | None,
           to_state: str | None, note: str, *, role: str, by_supervisor: bool = False,
           data: dict[str, Any] | None = None, at: dt.datetime | None = None) -> FeedbackEvent:
    event = FeedbackEvent(id=new_id(), item_id=item.id, at=at or utcnow(), actor_id=actor.id, actor_name=actor.name,
                          actor_role=role, by_supervisor=by_supervisor, action=action, from_state=from_state,
                          to_state=to_state, note=note or "", data=data or {})
    session.add(event)
    return event


def timeline(session: so.Session, actor: Actor, item: FeedbackItem) -> list[dict[str, Any]]:
    """The item's timeline as the person may read it: the supervisor's own steps without their name when hidden."""
    reveal = reveal_name(actor, item)
    out = []
    for e in session.scalars(sa.select(FeedbackEvent).where(FeedbackEvent.item_id == item.id)
                             .order_by(FeedbackEvent.at, FeedbackEvent.id)):
        hidden = e.by_supervisor and not reveal
        out.append({"id": e.id, "at": e.at, "action": e.action, "label": str(EVENT_LABELS.get(e.action, e.action)),
                    "actor": str(HIDDEN_NAME) if hidden else e.actor_name, "role": e.actor_role,
                    "from_state": e.from_state, "to_state": e.to_state, "note": e.note, "data": e.data})
    return out


def item_url(tenant: Tenant, item: FeedbackItem) -> str:
    return f"/t/{tenant.slug}/business_feedback/items/{item.id}"


def notice_context(session: so.Session, item: FeedbackItem, *, reveal: bool, **extra: Any) -> dict[str, Any]:
    area = session.scalars(sa.select(BusinessArea.name).where(BusinessArea.id == item.area_id)).first()
    enterprise = session.scalars(sa.select(Enterprise.name).where(Enterprise.id == item.enterprise_id)).first() \
        if item.enterprise_id else None
    supervisor = ""
    if reveal:
        supervisor = session.scalars(sa.select(User.name).where(User.id == item.submitted_by_id)).first() or ""
    summary = item.description if len(item.description) <= 60 else item.description[:58] + "…"
    return {"number": item.number, "area": area or "", "enterprise": enterprise or "", "summary": summary,
            "supervisor": supervisor, **extra}


def _notify(session: so.Session, tenant: Tenant, actor: Actor, item: FeedbackItem, kind: str, people: list[int],
            *, reveal: bool, **extra: Any) -> None:
    people = [p for p in people if p != actor.id]
    if people:
        notify(session, Recipients(user_ids=tuple(people)), kind, notice_context(session, item, reveal=reveal,
                                                                                 **extra),
               url=item_url(tenant, item), module=MODULE, tenant=tenant,
               urgent=True if item.urgency == "urgent" else None, event_key=f"bf:{item.id}:{item.version}:{kind}")


def _tell_supervisor(session: so.Session, tenant: Tenant, actor: Actor, item: FeedbackItem, status: Any,
                     note: str) -> None:
    notify(session, item.submitted_by_id, "business_feedback.decided",
           notice_context(session, item, reveal=True, status=str(status), note=note), url=item_url(tenant, item),
           module=MODULE, tenant=tenant, event_key=f"bf:{item.id}:{item.version}:decided")


# --- lists ----------------------------------------------------------------------------------------------


def list_items(session: so.Session, actor: Actor, filters: dict[str, Any], limit: int = PAGE_SIZE
               ) -> tuple[list[FeedbackItem], int | None]:
    """The items the person sees, newest first, by keyset (`before`: the last id of the previous page)."""
    q = sa.select(FeedbackItem).where(scope(actor))
    state = filters.get("state")
    if state == "open":
        q = q.where(FeedbackItem.state.in_(OPEN_STATES))
    elif state:
        q = q.where(FeedbackItem.state == state)
    if filters.get("kind"):
        q = q.where(FeedbackItem.kind == filters["kind"])
    if filters.get("enterprise_id"):
        q = q.where(FeedbackItem.enterprise_id == filters["enterprise_id"])
    if filters.get("before"):
        q = q.where(FeedbackItem.id < filters["before"])
    rows = list(session.scalars(q.order_by(FeedbackItem.id.desc()).limit(limit + 1)))
    cursor = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], cursor


def item_rows(session: so.Session, actor: Actor, items: list[FeedbackItem]) -> list[dict[str, Any]]:
    """Items as rows for lists, pages and the API (one query per kind of name); the supervisor's name only
    where `reveal_name` allows."""
    if not items:
        return []
    ids = [i.id for i in items]
    areas = dict(session.execute(sa.select(BusinessArea.id, BusinessArea.name)).all())
    ent_ids = {i.enterprise_id for i in items if i.enterprise_id}
    enterprises = {e.id: e for e in session.scalars(sa.select(Enterprise).where(Enterprise.id.in_(ent_ids)))} \
        if ent_ids else {}
    shown = {i.submitted_by_id for i in items if reveal_name(actor, i)}
    names = dict(session.execute(sa.select(User.id, User.name).where(User.id.in_(shown))).all()) \
        if shown else {}
    assignments: dict[int, list[Assignment]] = {}
    for a in session.scalars(sa.select(Assignment).where(Assignment.item_id.in_(ids)).order_by(Assignment.id)):
        assignments.setdefault(a.item_id, []).append(a)
    departments = unit_names(session, [a.department_id for rows in assignments.values() for a in rows])
    now = utcnow()
    out = []
    for i in items:
        ent = enterprises.get(i.enterprise_id) if i.enterprise_id else None
        rows = assignments.get(i.id, [])
        out.append({
            "id": i.id, "number": i.number, "kind": i.kind, "kind_label": str(KIND_LABELS[i.kind]),
            "area": areas.get(i.area_id, ""), "enterprise_id": ent.id if ent else None,
            "enterprise": ent.name if ent else "", "credit_code": ent.credit_code if ent else "",
            "description": i.description, "urgency": i.urgency, "urgency_label": str(URGENCY_LABELS[i.urgency]),
            "show_name": i.show_name,
            "supervisor_name": names.get(i.submitted_by_id) if reveal_name(actor, i) else None,
            "state": i.state, "state_label": str(STATE_LABELS[i.state]), "returned": i.returned,
            "rating": i.rating, "rating_label": str(RATING_LABELS[i.rating]) if i.rating else "",
            "rating_comment": i.rating_comment, "created_at": i.created_at, "version": i.version,
            "overdue": i.state == "assigned" and any(a.answered_at is None and a.deadline_at < now for a in rows),
            "assignments": [{"department_id": a.department_id, "department": departments.get(a.department_id, ""),
                             "deadline_at": a.deadline_at, "answer": a.answer, "answered_at": a.answered_at,
                             "answered_on_time": a.answered_on_time, "overdue_level": a.overdue_level}
                            for a in rows],
        })
    return out


def coordinations_of(session: so.Session, item: FeedbackItem) -> list[Coordination]:
    return list(session.scalars(sa.select(Coordination).where(Coordination.item_id == item.id)
                                .order_by(Coordination.id)))


def supervisor_of(session: so.Session, item: FeedbackItem) -> Supervisor | None:
    return session.scalars(sa.select(Supervisor).where(Supervisor.id == item.supervisor_id)).first()
