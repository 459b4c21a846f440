"""A case's life: reporting, the state machine of its steps, who may see it, and the work lists.

The state machine is data (`TRANSITIONS`): each transition names the states it leaves, who may make it
(`who`: the people at the case's level, the dispatcher, the department, the handler, the verifier on site
or the reporter), whether a note is required and whether the resident sees it. `act` is the one door:
it finds the case inside the actor's area (the same 404 for missing and foreign), refuses a stale version
(409), a state the transition does not leave (409) or a person who may not make it (403), applies the
change, sets the next step's deadline, writes the timeline and the audit log and queues the notices,
all in the caller's transaction. Concurrent changes are caught twice: by the version the form or client
sent, and by the row's version in the UPDATE itself (optimistic locking), so two people cannot both win.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import secrets
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite

from blueprints.grid_cases.models import (
    FINAL_STATES,
    OPEN_STATES,
    CaseCategory,
    CaseCounter,
    CaseEvent,
    CasePhoto,
    CompoundClaim,
    GridCase,
)
from blueprints.grid_cases.services import deadlines
from blueprints.grid_cases.services.base import (
    MODULE,
    Actor,
    Refused,
    ServiceError,
    calendar,
    department_units,
    not_found,
    people_with,
    settings,
    unit_names,
)
from blueprints.grid_cases.services.photos import photo_rows
from saas import audit
from saas.auth import StaffPhone, citizen_for_phone
from saas.db import utcnow
from saas.ids import new_id
from saas.notify import Recipients, notify
from saas.pictures import Upload, check_uploads
from saas.schemas import MAX_ID, mask_phone
from tenants.models import OrgUnit, Tenant, User

STATE_LABELS = {
    "reported": _l("Waiting for acceptance"),
    "escalated": _l("Escalated, waiting for acceptance"),
    "accepted": _l("Accepted"),
    "dispatched": _l("Dispatched to a department"),
    "in_progress": _l("In progress"),
    "extension_requested": _l("Extension requested"),
    "resolved": _l("Resolved, waiting for verification"),
    "verified": _l("Verified, waiting to be closed"),
    "closed": _l("Closed"),
    "rated": _l("Closed and rated"),
    "rejected": _l("Not accepted"),
}
# what a resident reads: fewer words, no internal steps
PUBLIC_STATE_LABELS = {
    "reported": _l("Received"), "escalated": _l("Being handled"), "accepted": _l("Accepted"),
    "dispatched": _l("Being handled"), "in_progress": _l("Being handled"), "extension_requested": _l("Being handled"),
    "resolved": _l("Resolved"), "verified": _l("Resolved"), "closed": _l("Closed"), "rated": _l("Closed"),
    "rejected": _l("Not accepted"),
}
SOURCE_LABELS = {
    "patrol": _l("Grid patrol"), "phone": _l("Resident by phone"), "web": _l("Resident online"),
    "qr": _l("Contact card QR code"), "note": _l("Quick note"), "hotline": _l("Hotline import"),
    "module": _l("Another module"), "open311": _l("Open311 client"),
}
URGENCY_LABELS = {"normal": _l("Normal"), "urgent": _l("Urgent")}
RATING_LABELS = {"satisfied": _l("Satisfied"), "basically": _l("Basically satisfied"),
                 "unsatisfied": _l("Not satisfied")}
ROLE_FALLBACK = {"system": _l("System"), "resident": _l("Resident")}
# a level's unit kind and the next level up; a district has none
NEXT_LEVEL = {"grid": "community", "community": "street", "street": "district"}
# the column of a case that holds each kind of unit: an area's list is one indexed range
AREA_COLUMNS = {"street": "street_id", "community": "community_id", "grid": "grid_id", "compound": "compound_id",
                "building": "building_id", "unit": "unit_id", "department": "department_id"}
STAFF_SOURCES = ("patrol", "phone", "hotline")
NUMBER_RE = re.compile(r"^[A-Za-z0-9]{1,8}-\d{8}-\d{3,}$")
PAGE_SIZE = 30


@dataclasses.dataclass(frozen=True)
class Transition:
    action: str
    label: Any
    sources: tuple[str, ...]
    who: str  # level | dispatcher | department | handler | verifier | reporter
    note: str = "optional"  # required | optional
    public: bool = False  # the resident sees this step and its note
    style: str = ""  # how the page shows the button: "" (primary), "secondary" or "contrast"


TRANSITIONS: dict[str, Transition] = {t.action: t for t in (
    Transition("accept", _l("Accept"), ("reported", "escalated"), "level", public=True),
    Transition("reject", _l("Do not accept"), ("reported", "escalated"), "level", note="required", public=True,
               style="secondary"),
    Transition("send_down", _l("Send back down"), ("escalated",), "level", note="required", style="secondary"),
    Transition("handle", _l("Handle at this level"), ("accepted",), "level"),
    Transition("escalate", _l("Escalate"), ("accepted", "in_progress"), "level", style="secondary"),
    Transition("dispatch", _l("Dispatch to a department"), ("accepted",), "dispatcher"),
    Transition("take", _l("Take on"), ("dispatched",), "department"),
    Transition("return", _l("Return to the dispatcher"), ("dispatched", "in_progress"), "department",
               note="required", style="secondary"),
    Transition("request_extension", _l("Ask for more time"), ("in_progress",), "department", note="required",
               style="secondary"),
    Transition("approve_extension", _l("Approve the extension"), ("extension_requested",), "dispatcher"),
    Transition("refuse_extension", _l("Refuse the extension"), ("extension_requested",), "dispatcher",
               note="required", style="secondary"),
    Transition("resolve", _l("Mark resolved"), ("in_progress",), "handler", public=True),
    Transition("verify", _l("Confirm on site"), ("resolved",), "verifier"),
    Transition("send_back", _l("Not fixed: send back"), ("resolved",), "verifier", note="required",
               style="secondary"),
    Transition("close", _l("Close the case"), ("verified",), "level", public=True),
    Transition("rate", _l("Rate"), ("closed",), "reporter", public=True),
)}
# timeline lines that are not transitions
EVENT_LABELS = {
    "report": _l("Reported"), "supervise": _l("Overdue: supervision (督办)"), "remind": _l("Deadline reminder"),
    "photos": _l("Photos added"), "link_common": _l("Linked to a common problem"),
    "resolve_common": _l("Resolved with its common problem"), "reopen": _l("Reopened: the reporter was not satisfied"),
    **{t.action: t.label for t in TRANSITIONS.values()},
}
WHO_LABELS = {
    "level": _l("the people at the case's current level"),
    "dispatcher": _l("the dispatcher at the street or district level"),
    "department": _l("the department it was dispatched to"),
    "handler": _l("whoever is handling it"),
    "verifier": _l("a grid worker of its grid"),
    "reporter": _l("the person who reported it"),
}


# --- locations and numbers ------------------------------------------------------------------------


@dataclasses.dataclass
class Place:
    """Where a case is: the unit named and its ancestors by kind."""

    units: dict[str, OrgUnit]

    @property
    def level(self) -> OrgUnit | None:
        for kind in ("grid", "community", "street", "district"):
            if kind in self.units:
                return self.units[kind]
        return None

    def ids(self) -> dict[str, int | None]:
        return {col: (self.units[kind].id if kind in self.units else None) for kind, col in AREA_COLUMNS.items()
                if kind != "department"}


LOCATION_KINDS = ("grid", "compound", "building", "unit", "community", "street")


def place_of(session: so.Session, unit: OrgUnit | None) -> Place:
    """The unit and its ancestors (one query for the whole path)."""
    units: dict[str, OrgUnit] = {}
    if unit is not None:
        ids = [int(p) for p in unit.path.strip("/").split("/") if p]
        for u in session.scalars(sa.select(OrgUnit).where(OrgUnit.id.in_(ids))):
            units.setdefault(u.kind, u)
    if "district" not in units:
        root = session.scalars(sa.select(OrgUnit).where(OrgUnit.kind == "district")).first()
        if root is not None:
            units["district"] = root
    return Place(units)


def location_unit(session: so.Session, code: str | None = None, unit_id: int | None = None) -> OrgUnit | None:
    """A unit a case may be located in (a grid, compound, building, unit, community or street), by code or id."""
    q = sa.select(OrgUnit).where(OrgUnit.kind.in_(LOCATION_KINDS))
    if code:
        q = q.where(OrgUnit.code == code)
    elif unit_id:
        q = q.where(OrgUnit.id == unit_id)
    else:
        return None
    return session.scalars(q).first()


def next_number(session: so.Session, tenant: Tenant, prefix: str, now: dt.datetime | None = None) -> str:
    """The next case number of the district's local day: XD-20261122-0007 (one UPSERT, no race)."""
    cal = calendar(session, tenant)
    day = cal.local_date(now or utcnow())
    table = CaseCounter.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table).values(tenant_id=tenant.id, id=new_id(), day=day, last=1)
    stmt = stmt.on_conflict_do_update(index_elements=["tenant_id", "day"], set_={"last": table.c.last + 1})
    n = session.execute(stmt.returning(table.c.last)).scalar_one()
    return f"{prefix}-{day:%Y%m%d}-{n:04d}"


# --- who may ----------------------------------------------------------------------------------------


def role_for(actor: Actor, case: GridCase, who: str) -> str | None:
    """The role in which the actor may act as `who` on the case now, or None."""
    if actor.user is None:
        return None
    if who == "level":
        return actor.role_on("grid_cases.accept", case.level_unit_id)
    if who == "dispatcher":
        return actor.role_on("grid_cases.dispatch", case.level_unit_id)
    if who == "department":
        return actor.department_role(case.department_id)
    if who == "handler":
        return role_for(actor, case, "department" if case.department_id is not None else "level")
    if who == "verifier":
        if case.grid_id is None:
            return actor.role_on("grid_cases.accept", case.level_unit_id)
        return actor.role_on("grid_cases.verify", case.grid_id)
    if who == "reporter":
        return "resident" if is_reporter(actor, case) else None
    raise ValueError(who)


def is_reporter(actor: Actor, case: GridCase) -> bool:
    user = actor.user
    if user is None:
        return False
    if case.reporter_user_id is not None and case.reporter_user_id == user.id and user.kind == "citizen":
        return True
    return user.kind == "citizen" and bool(user.phone) and user.phone == case.reporter_phone


def allowed(actor: Actor, case: GridCase, action: str) -> bool:
    t = TRANSITIONS[action]
    if case.state not in t.sources or role_for(actor, case, t.who) is None:
        return False
    return _extra_rule(case, action) is None


def _extra_rule(case: GridCase, action: str) -> str | None:
    """What a transition needs beyond state and role; the refusal's reason, or None."""
    if action == "escalate" and case.state == "in_progress" and case.department_id is not None:
        return _("A department cannot escalate a case; return it to the dispatcher instead.")
    if action == "request_extension" and case.department_id is None:
        return _("Only a department asks for more time.")
    return None


def available_actions(actor: Actor, case: GridCase, level_kind: str | None = None) -> list[Transition]:
    out = []
    for t in TRANSITIONS.values():
        if not allowed(actor, case, t.action):
            continue
        if t.action == "escalate" and level_kind == "district":
            continue
        if t.action == "dispatch" and level_kind not in (None, "street", "district"):
            continue
        out.append(t)
    return out


# --- who sees ---------------------------------------------------------------------------------------


def scope(session: so.Session, actor: Actor) -> sa.ColumnElement[bool]:
    """The cases the actor may see, as one WHERE clause that an index answers in order: their areas (a grid, a
    community, a street or the whole district), their department's cases, the compounds they look after outside
    those areas; for a resident, what their phone reported.

    A unit inside another of the person's units adds nothing, and an OR over two columns would keep PostgreSQL
    from walking one index newest first, so covered units are dropped: the usual area is one column's IN list.
    """
    user = actor.user
    if user is None:
        return sa.true()
    if user.kind == "citizen":
        return GridCase.reporter_phone == user.phone if user.phone else sa.false()
    units = actor.units("grid_cases.view")
    if any(u.kind == "district" for u in units):
        return sa.true()
    if units:
        claimed = list(session.scalars(sa.select(OrgUnit).join(CompoundClaim, sa.and_(
            CompoundClaim.tenant_id == OrgUnit.tenant_id, CompoundClaim.compound_id == OrgUnit.id)).where(
            CompoundClaim.user_id == user.id)))
        units = [*units, *claimed]
    kept = [u for u in units if not any(o is not u and u.path.startswith(o.path) and o.path != u.path
                                        for o in units)]
    by_column: dict[str, set[int]] = {}
    for unit in kept:
        if unit.kind == "section" and unit.parent_id is not None:
            by_column.setdefault("department_id", set()).add(unit.parent_id)
        elif unit.kind in AREA_COLUMNS:
            by_column.setdefault(AREA_COLUMNS[unit.kind], set()).add(unit.id)
    conds = [getattr(GridCase, column).in_(sorted(ids)) for column, ids in by_column.items()]
    if not conds:
        return sa.false()
    return conds[0] if len(conds) == 1 else sa.or_(*conds)


def get_case(session: so.Session, actor: Actor, case_id: int | None = None, number: str | None = None,
             *, lock: bool = False) -> GridCase:
    """A case inside the actor's area, by id or number; the same refusal for missing and foreign."""
    q = sa.select(GridCase).where(scope(session, actor))
    if case_id is not None:
        if not 0 < case_id <= MAX_ID:
            raise not_found()
        q = q.where(GridCase.id == case_id)
    elif number:
        q = q.where(GridCase.number == number.strip().upper())
    else:
        raise not_found()
    if lock:
        q = q.with_for_update()
    case = session.scalars(q).first()
    if case is None:
        raise not_found()
    return case


# --- reporting ----------------------------------------------------------------------------------------


def report_case(session: so.Session, tenant: Tenant, actor: Actor, data: dict[str, Any],
                uploads: Iterable[Upload] = (), *, source: str | None = None, source_ref: str | None = None,
                enabled: Iterable[str] | None = None) -> GridCase:
    """Open a case. `data`: category_code, location_code (or location_id), urgency, address, lat, lng,
    description, reporter_name, reporter_phone; already checked by the schema (field rules live there).

    Staff report in their own areas, whatever the door (a page, the API, Open311 with their token, a hotline
    ticket, a note): the rule is here, so every door refuses with the same reason. Residents and other
    modules report anywhere in the district. A report by someone who may accept at its level is accepted at
    once (a grid worker's own patrol find needs no second step).
    """
    conf = settings(session)
    errors: dict[str, str] = {}
    category = session.scalars(sa.select(CaseCategory).where(
        CaseCategory.code == data.get("category_code", ""), CaseCategory.active.is_(True))).first()
    if category is None:
        errors["category_code"] = _("Choose one of the district's categories.")
    unit = location_unit(session, data.get("location_code"), data.get("location_id"))
    if unit is None and (data.get("location_code") or data.get("location_id")):
        errors["location_code"] = _("No grid, compound or building has this code.")
    staff = actor.user is not None and actor.user.kind == "staff"
    source = source or ("patrol" if staff else "web")
    if staff:
        if not actor.may("grid_cases.report", unit):
            errors["location_code"] = _("You may report cases only in your own area.")
        if unit is None and not actor.may("grid_cases.report", place_of(session, None).level):
            errors["location_code"] = _("Choose where the problem is.")
    elif unit is None and source in ("web", "qr"):
        errors["location_code"] = _("Choose where the problem is.")
    if source == "open311" and not actor.may("grid_cases.report"):
        raise Refused(_("This API key may not report cases."), 403)
    if source in ("phone", "hotline") and not data.get("reporter_phone"):
        errors["reporter_phone"] = _("Enter the resident's mobile number.")
    pictures = []
    if not errors:
        try:
            pictures = check_uploads(uploads, conf["photo_max_mb"] * 1024 * 1024)
        except ServiceError as err:
            errors.update(err.errors)
    if errors:
        raise ServiceError(errors)
    assert category is not None
    place = place_of(session, unit)
    level = place.level
    if level is None:
        raise ServiceError(_("This district has no root unit."))
    reporter_user_id, reporter_name, reporter_phone = _reporter(session, actor, source, data)
    now = utcnow()
    cal = calendar(session, tenant)
    case = GridCase(
        id=new_id(), number=next_number(session, tenant, conf["case_prefix"], now), source=source,
        source_ref=source_ref, category_id=category.id, urgency=data.get("urgency") or "normal",
        address=data.get("address", ""), lat=data.get("lat"), lng=data.get("lng"),
        description=data["description"], reporter_user_id=reporter_user_id, reporter_name=reporter_name,
        reporter_phone=reporter_phone, reported_by_id=actor.id if staff else None, state="reported",
        level_unit_id=level.id, created_at=now, media_url=data.get("media_url"),
        token=secrets.token_urlsafe(18) if source == "open311" else None, **place.ids(),
    )
    case.deadline_at = deadlines.step_deadline(cal, conf, case.urgency, "accept", now)
    session.add(case)
    session.flush()
    event = _event(session, case, actor, "report", None, "reported", "", public=True,
                   role=_acting_role(actor, case), data={"source": source})
    session.flush()
    for photo in photo_rows(pictures, stage="report", uploaded_by_id=actor.id if actor.user else None,
                            case_id=case.id, event_id=event.id):
        session.add(photo)
    audit.record(session, actor.user, "grid_cases.case.report", "grid_cases_case", case.id,
                 after={"number": case.number, "category": category.code, "source": source,
                        "level_unit_id": str(level.id)}, module=MODULE)
    book_enabled = set(enabled if enabled is not None else actor.enabled)
    # staff who may accept at the level accept their own finds and the calls they took; an API client's or another
    # module's report waits for a person
    role = actor.role_on("grid_cases.accept", case.level_unit_id)
    if role is not None and staff and source in (*STAFF_SOURCES, "note"):
        _apply(session, tenant, actor, case, TRANSITIONS["accept"], role, {"note": ""}, conf, cal, book_enabled)
    else:
        _notify_people(session, tenant, actor, case, "grid_cases.to_accept",
                       people_with(session, actor.book, book_enabled, "grid_cases.accept", [case.level_unit_id]),
                       book_enabled)
    _notify_claim_holder(session, tenant, actor, case, book_enabled)
    from blueprints.grid_cases.services.common import offer_common_problem

    offer_common_problem(session, tenant, actor, case, conf)
    session.flush()
    return case


def _reporter(session: so.Session, actor: Actor, source: str,
              data: dict[str, Any]) -> tuple[int | None, str, str | None]:
    """(user id, name, phone) of whoever reported: the staff member on patrol, or the resident by phone."""
    user = actor.user
    if user is not None and (user.kind == "citizen" or (source == "patrol" and not data.get("reporter_phone"))):
        return user.id, data.get("reporter_name") or user.name, user.phone
    phone = data.get("reporter_phone") or None
    if phone is None:
        return None, data.get("reporter_name", ""), None
    try:
        person = citizen_for_phone(phone, session)
    except StaffPhone:
        # a staff member reporting as a resident: keep the number, link no account
        return None, data.get("reporter_name", ""), phone
    return person.id, data.get("reporter_name") or "", phone


def _acting_role(actor: Actor, case: GridCase) -> str:
    if actor.user is None:
        return "system"
    if actor.user.kind == "citizen":
        return "resident"
    for perm in ("grid_cases.accept", "grid_cases.report", "grid_cases.view"):
        grants = actor.grants(perm)
        if grants:
            return grants[0].role
    return actor.user.grants[0].role if actor.user.grants else ""


# --- the state machine ------------------------------------------------------------------------------


def act(session: so.Session, tenant: Tenant, actor: Actor, case_id: int, action: str, data: dict[str, Any],
        uploads: Iterable[Upload] = ()) -> GridCase:
    """Make one transition. `data`: version (required), note, and per action department_code (dispatch),
    days (request_extension), result (resolve), rating and comment (rate)."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise Refused(_("Unknown action."), 404)
    case = get_case(session, actor, case_id)
    if data.get("version") is not None and int(data["version"]) != case.version:
        raise Refused(_("Someone else changed this case first; reload it and try again."), 409)
    if case.state not in transition.sources:
        raise Refused(_("This case is now “%(state)s”: “%(action)s” is no longer possible.",
                        state=STATE_LABELS[case.state], action=transition.label), 409)
    role = role_for(actor, case, transition.who)
    if role is None:
        raise Refused(_("Only %(who)s may do this at this step.", who=WHO_LABELS[transition.who]), 403)
    reason = _extra_rule(case, action)
    if reason is not None:
        raise Refused(reason, 409)
    conf = settings(session)
    cal = calendar(session, tenant)
    note = (data.get("note") or "").strip()
    if transition.note == "required" and not note:
        raise ServiceError({"note": _("Please say why.")})
    pictures = check_uploads(uploads, conf["photo_max_mb"] * 1024 * 1024) if uploads else []
    try:
        event = _apply(session, tenant, actor, case, transition, role, {**data, "note": note}, conf, cal,
                       set(actor.enabled))
        for photo in photo_rows(pictures, stage="verify" if action in ("verify", "send_back") else "result",
                                uploaded_by_id=actor.id, case_id=case.id, event_id=event.id):
            session.add(photo)
        session.flush()
    except so.exc.StaleDataError:
        # the row's version moved under us (a flush, or an autoflush of one of the queries above)
        session.rollback()
        raise Refused(_("Someone else changed this case first; reload it and try again."), 409) from None
    return case


def _apply(session: so.Session, tenant: Tenant, actor: Actor, case: GridCase, t: Transition, role: str,
           data: dict[str, Any], conf: dict[str, Any], cal: Any, enabled: set[str]) -> CaseEvent:
    """The effect of a transition on the case, its deadline, timeline, audit log and notices."""
    now = utcnow()
    before = case.state
    note = data.get("note", "")
    info: dict[str, Any] = {}
    category = session.scalars(sa.select(CaseCategory).where(CaseCategory.id == case.category_id)).one()
    notices: list[tuple[str, list[int]]] = []
    resident_notice: str | None = None

    def step(name: str, start: dt.datetime = now) -> None:
        case.deadline_at = deadlines.step_deadline(cal, conf, case.urgency, name, start, category)
        case.reminded_at = None
        case.supervised_at = None

    def level_people(unit_id: int | None = None, permission: str = "grid_cases.accept") -> list[int]:
        return people_with(session, actor.book, enabled, permission, [unit_id or case.level_unit_id])

    def department_people() -> list[int]:
        if case.department_id is None:
            return []
        return people_with(session, actor.book, enabled, "grid_cases.department",
                           department_units(session, case.department_id))

    def handler_people() -> list[int]:
        return department_people() if case.department_id is not None else level_people()

    action = t.action
    if action == "accept":
        # the resident hears of the first acceptance; a higher level accepting an escalation is internal
        resident_notice = "accepted" if before == "reported" else None
        case.state = "accepted"
        step("accept")
    elif action == "reject":
        case.state = "rejected"
        case.deadline_at = None
        case.closed_at = now
        resident_notice = "rejected"
    elif action == "send_down":
        lower = _lower_level(case)
        if lower is None:
            raise Refused(_("There is no lower level to send this case to."), 409)
        case.level_unit_id = lower
        case.state = "accepted"
        step("accept")
        info["level"] = _unit_name(session, lower)
        notices.append(("grid_cases.to_accept", level_people(lower)))
    elif action == "handle":
        case.state = "in_progress"
        case.resolve_by = deadlines.step_deadline(cal, conf, case.urgency, "resolve", now, category)
        case.deadline_at, case.reminded_at, case.supervised_at = case.resolve_by, None, None
    elif action == "escalate":
        level = session.scalars(sa.select(OrgUnit).where(OrgUnit.id == case.level_unit_id)).one()
        parent = session.scalars(sa.select(OrgUnit).where(OrgUnit.id == level.parent_id)).first() \
            if level.parent_id else None
        if level.kind not in NEXT_LEVEL or parent is None:
            raise Refused(_("The district is the highest level; dispatch the case to a department instead."), 409)
        case.level_unit_id = parent.id
        case.state = "escalated"
        case.resolve_by = None
        step("accept")
        info["level"] = parent.name
        notices.append(("grid_cases.to_accept", level_people(parent.id)))
    elif action == "dispatch":
        level = session.scalars(sa.select(OrgUnit).where(OrgUnit.id == case.level_unit_id)).one()
        if level.kind not in ("street", "district"):
            raise Refused(_("Cases are dispatched to departments from the street or district level."), 409)
        department = _department_for(session, data, category)
        case.department_id = department.id
        case.state = "dispatched"
        case.resolve_by = deadlines.step_deadline(cal, conf, case.urgency, "resolve", now, category)
        step("accept")
        info["department"] = department.name
        notices.append(("grid_cases.dispatched", department_people()))
    elif action == "take":
        case.state = "in_progress"
        case.deadline_at, case.reminded_at, case.supervised_at = case.resolve_by, None, None
    elif action == "return":
        info["department"] = _unit_name(session, case.department_id)
        case.department_id = None
        case.resolve_by = None
        case.state = "accepted"
        step("accept")
        notices.append(("grid_cases.returned", level_people()))
    elif action == "request_extension":
        days = data.get("days")
        if not isinstance(days, int) or not 1 <= days <= 30:
            raise ServiceError({"days": _("Ask for 1 to 30 working days.")})
        case.extension_days = days
        case.state = "extension_requested"
        info["days"] = days
        notices.append(("grid_cases.extension", level_people(permission="grid_cases.dispatch")))
    elif action == "approve_extension":
        days = case.extension_days or 0
        case.resolve_by = deadlines.extend(cal, case.resolve_by or now, days)
        case.deadline_at, case.reminded_at, case.supervised_at = case.resolve_by, None, None
        case.extension_days = None
        case.state = "in_progress"
        info.update(days=days, approved=True)
        notices.append(("grid_cases.extension_decided", department_people()))
    elif action == "refuse_extension":
        info.update(days=case.extension_days, approved=False)
        case.extension_days = None
        case.state = "in_progress"
        notices.append(("grid_cases.extension_decided", department_people()))
    elif action == "resolve":
        result = (data.get("result") or note or "").strip()
        if not result:
            raise ServiceError({"result": _("Say what was done.")})
        case.result = result
        note = result
        case.resolved_at = now
        case.resolved_on_time = case.resolve_by is None or now <= case.resolve_by
        case.state = "resolved"
        step("verify")
        notices.append(("grid_cases.to_verify", people_with(
            session, actor.book, enabled, "grid_cases.verify" if case.grid_id else "grid_cases.accept",
            [case.grid_id or case.level_unit_id])))
        resident_notice = "resolved"
    elif action == "verify":
        case.state = "verified"
        step("accept")
        notices.append(("grid_cases.to_close", level_people()))
    elif action == "send_back":
        case.state = "in_progress"
        case.resolved_at = None
        case.resolved_on_time = None
        case.deadline_at, case.reminded_at, case.supervised_at = case.resolve_by or now, None, None
        notices.append(("grid_cases.sent_back", handler_people()))
    elif action == "close":
        case.state = "closed"
        case.closed_at = now
        case.deadline_at = None
        resident_notice = "closed"
    elif action == "rate":
        rating = data.get("rating")
        if rating not in RATING_LABELS:
            raise ServiceError({"rating": _("Choose how satisfied you are.")})
        comment = (data.get("comment") or note or "").strip()[:500]
        note = comment
        info["rating"] = rating
        case.rated_at = now
        if rating == "unsatisfied" and conf["reopen_on_unsatisfied"] and case.reopened < 1:
            # 好差评: a first "not satisfied" sends the case back to whoever handled it, once
            case.reopened += 1
            case.state = "in_progress"
            case.closed_at = None
            case.resolved_at = None
            case.resolved_on_time = None
            case.resolve_by = deadlines.step_deadline(cal, conf, case.urgency, "resolve", now, category)
            case.deadline_at, case.reminded_at, case.supervised_at = case.resolve_by, None, None
            info["reopened"] = True
            notices.append(("grid_cases.reopened", handler_people()))
        else:
            case.rating = rating
            case.rating_comment = comment or None
            case.state = "rated"
    else:  # pragma: no cover - TRANSITIONS and this function are kept in step by the tests
        raise ValueError(action)
    case.updated_at = now
    event = _event(session, case, actor, action, before, case.state, note, public=t.public, role=role, data=info)
    audit.record(session, actor.user, f"grid_cases.case.{action}", "grid_cases_case", case.id,
                 before={"state": before}, after={"state": case.state, **info}, module=MODULE)
    for kind, people in notices:
        _notify_people(session, tenant, actor, case, kind, people, enabled, note=note, extra=info)
    if resident_notice is not None:
        _notify_resident(session, tenant, actor, case, resident_notice, note, enabled)
    return event


def _lower_level(case: GridCase) -> int | None:
    """The level a case came up from: the child of its level on its own path (None at the grid)."""
    if case.level_unit_id == case.grid_id:
        return None
    if case.level_unit_id == case.community_id:
        return case.grid_id
    if case.level_unit_id == case.street_id:
        return case.community_id
    return case.street_id


def _department_for(session: so.Session, data: dict[str, Any], category: CaseCategory) -> OrgUnit:
    code = (data.get("department_code") or "").strip()
    q = sa.select(OrgUnit).where(OrgUnit.kind == "department")
    if code:
        department = session.scalars(q.where(OrgUnit.code == code)).first()
        if department is None:
            raise ServiceError({"department_code": _("No department has this code.")})
        return department
    if category.department_id is not None:
        department = session.scalars(q.where(OrgUnit.id == category.department_id)).first()
        if department is not None:
            return department
    raise ServiceError({"department_code": _("Choose the department that should handle it.")})


def _unit_name(session: so.Session, unit_id: int | None) -> str:
    if unit_id is None:
        return ""
    return session.scalars(sa.select(OrgUnit.name).where(OrgUnit.id == unit_id)).first() or ""


def _event(session: so.Session, case: GridCase, actor: Actor, action: str, from_state: str | None,
           to_state: str | None, note: str, *, public: bool, role: str, data: dict[str, Any] | None = None,
           at: dt.datetime | None = None) -> CaseEvent:
    event = CaseEvent(id=new_id(), case_id=case.id, at=at or utcnow(), actor_id=actor.id, actor_name=actor.name,
                      actor_role=role, action=action, from_state=from_state, to_state=to_state, note=note or "",
                      public=public, data=data or {})
    session.add(event)
    return event


# --- notices ----------------------------------------------------------------------------------------


def notice_context(session: so.Session, case: GridCase, **extra: Any) -> dict[str, Any]:
    category = session.scalars(sa.select(CaseCategory.name).where(CaseCategory.id == case.category_id)).first()
    place_id = case.compound_id or case.grid_id or case.community_id or case.level_unit_id
    summary = case.description if len(case.description) <= 60 else case.description[:58] + "…"
    return {"number": case.number, "category": category or "", "place": _unit_name(session, place_id),
            "summary": summary, "deadline": case.deadline_at, "urgent": case.urgency == "urgent", **extra}


def case_url(tenant: Tenant, case: GridCase, public: bool = False) -> str:
    if public:
        return f"/t/{tenant.slug}/grid_cases/public/{case.number}"
    return f"/t/{tenant.slug}/grid_cases/cases/{case.id}"


def _notify_people(session: so.Session, tenant: Tenant, actor: Actor, case: GridCase, kind: str,
                   people: list[int], enabled: set[str], note: str = "", extra: dict[str, Any] | None = None) -> None:
    people = [p for p in people if p != actor.id]
    if not people:
        return
    notify(session, Recipients(user_ids=tuple(people)), kind,
           notice_context(session, case, note=note, **(extra or {})), url=case_url(tenant, case), module=MODULE,
           tenant=tenant, urgent=True if case.urgency == "urgent" else None,
           event_key=f"case:{case.id}:{case.version}:{kind}")


def _notify_resident(session: so.Session, tenant: Tenant, actor: Actor, case: GridCase, what: str, note: str,
                     enabled: set[str]) -> None:
    """The reporter hears of acceptance, refusal, resolution and closing (with the rating link)."""
    if case.reporter_user_id is None or case.reporter_user_id == actor.id:
        return
    reporter = session.scalars(sa.select(User).where(User.id == case.reporter_user_id)).first()
    if reporter is None or reporter.kind != "citizen":
        return
    status = {"accepted": _l("accepted"), "rejected": _l("not accepted"), "resolved": _l("resolved"),
              "closed": _l("closed: please rate how it was handled")}[what]
    with_note = note if what in ("rejected", "resolved") else ""
    # notices are worded in Chinese for everyone (saas.notify), whatever language the acting staff member reads
    with force_locale("zh_CN"):
        status_text = str(status)
    notify(session, reporter.id, "grid_cases.resident_update",
           notice_context(session, case, status=status_text, note=with_note), url=case_url(tenant, case, True),
           module=MODULE, tenant=tenant, event_key=f"case:{case.id}:{case.version}:resident:{what}")


def _notify_claim_holder(session: so.Session, tenant: Tenant, actor: Actor, case: GridCase,
                         enabled: set[str]) -> None:
    if case.compound_id is None:
        return
    holder = session.scalars(sa.select(CompoundClaim.user_id).where(CompoundClaim.compound_id == case.compound_id)
                             ).first()
    if holder is not None and holder != actor.id:
        notify(session, holder, "grid_cases.claimed_case", notice_context(session, case), url=case_url(tenant, case),
               module=MODULE, tenant=tenant, event_key=f"case:{case.id}:claimed")


def step_people(session: so.Session, book: Any, enabled: set[str], case: GridCase) -> list[int]:
    """Who holds the case's current step: they get its reminders and its 督办."""
    if case.state in ("reported", "escalated", "accepted", "verified") or (
            case.state == "in_progress" and case.department_id is None):
        return people_with(session, book, enabled, "grid_cases.accept", [case.level_unit_id])
    if case.state in ("dispatched", "in_progress") and case.department_id is not None:
        return people_with(session, book, enabled, "grid_cases.department",
                           department_units(session, case.department_id))
    if case.state == "extension_requested":
        return people_with(session, book, enabled, "grid_cases.dispatch", [case.level_unit_id])
    if case.state == "resolved":
        if case.grid_id is not None:
            return people_with(session, book, enabled, "grid_cases.verify", [case.grid_id])
        return people_with(session, book, enabled, "grid_cases.accept", [case.level_unit_id])
    return []


def supervisor_people(session: so.Session, book: Any, enabled: set[str], case: GridCase) -> list[int]:
    """Who supervises an overdue step (督办): the level above the one holding it; for a department, its dispatcher."""
    if case.state in ("dispatched", "in_progress", "extension_requested") and case.department_id is not None:
        return people_with(session, book, enabled, "grid_cases.dispatch", [case.level_unit_id])
    level = session.scalars(sa.select(OrgUnit).where(OrgUnit.id == case.level_unit_id)).first()
    if level is None or level.parent_id is None:
        return people_with(session, book, enabled, "grid_cases.accept", [case.level_unit_id])
    return people_with(session, book, enabled, "grid_cases.accept", [level.parent_id])


# --- lists ----------------------------------------------------------------------------------------


VIEWS = ("area", "new", "accept", "todo", "department", "verify", "overdue", "claimed", "mine")
VIEW_LABELS = {
    "area": _l("All in my area"),
    "new": _l("New reports in my grids"),
    "accept": _l("Waiting for my acceptance"),
    "todo": _l("At my level"),
    "department": _l("Dispatched to my department"),
    "verify": _l("Waiting for my verification"),
    "overdue": _l("Overdue"),
    "claimed": _l("In my compounds"),
    "mine": _l("Reported by me"),
}


def views_for(actor: Actor) -> list[str]:
    """The work lists that mean something for the person's roles."""
    out = ["area"]
    if any(u.kind == "grid" for u in actor.units("grid_cases.view")):
        out.append("new")
    if actor.grants("grid_cases.accept"):
        out += ["accept", "todo"]
    if actor.grants("grid_cases.department"):
        out.append("department")
    if actor.grants("grid_cases.verify"):
        out.append("verify")
    out.append("overdue")
    if actor.grants("grid_cases.claim"):
        out.append("claimed")
    if actor.grants("grid_cases.report"):
        out.append("mine")
    return out


def _ids(units: Iterable[OrgUnit]) -> list[int]:
    return sorted({u.id for u in units})


def case_query(session: so.Session, tenant: Tenant, actor: Actor, filters: dict[str, Any],
               now: dt.datetime | None = None) -> tuple[sa.Select[Any], dict[str, str]]:
    """The work list as one query, newest first, keyset on the time-ordered id; field errors for bad filters.

    Filters: view, q (a number, or words of the description or address), category (code), state, grid
    (code of any area unit), urgency, since/until (local days), overdue, before (the keyset cursor).
    """
    now = now or utcnow()
    errors: dict[str, str] = {}
    q = sa.select(GridCase).where(scope(session, actor))
    view = filters.get("view") or "area"
    user_id = actor.id or 0
    if view == "new":
        q = q.where(GridCase.state == "reported",
                    GridCase.grid_id.in_(_ids(u for u in actor.units("grid_cases.view") if u.kind == "grid")))
    elif view == "accept":
        q = q.where(GridCase.state.in_(("reported", "escalated")),
                    GridCase.level_unit_id.in_(_ids(actor.units("grid_cases.accept"))))
    elif view == "todo":
        q = q.where(GridCase.level_unit_id.in_(_ids(actor.units("grid_cases.accept"))), sa.or_(
            GridCase.state.in_(("accepted", "verified")),
            sa.and_(GridCase.state == "in_progress", GridCase.department_id.is_(None)),
            GridCase.state == "extension_requested"))
    elif view == "department":
        depts = {u.parent_id if u.kind == "section" else u.id for u in actor.units("grid_cases.department")}
        q = q.where(GridCase.state.in_(("dispatched", "in_progress", "extension_requested")),
                    GridCase.department_id.in_(sorted(d for d in depts if d is not None)))
    elif view == "verify":
        q = q.where(GridCase.state == "resolved",
                    GridCase.grid_id.in_(_ids(actor.units("grid_cases.verify"))))
    elif view == "overdue":
        q = q.where(GridCase.deadline_at < now)
    elif view == "claimed":
        q = q.where(GridCase.compound_id.in_(
            sa.select(CompoundClaim.compound_id).where(CompoundClaim.user_id == user_id)))
    elif view == "mine":
        q = q.where(sa.or_(GridCase.reported_by_id == user_id, GridCase.reporter_user_id == user_id))
    elif view != "area":
        errors["view"] = _("Not one of the choices.")
    text = (filters.get("q") or "").strip()
    if text:
        if NUMBER_RE.match(text):
            q = q.where(GridCase.number == text.upper())
        else:
            like = sa.or_(GridCase.description.contains(text, autoescape=True),
                          GridCase.address.contains(text, autoescape=True))
            q = q.where(like)
    if filters.get("category"):
        q = q.where(GridCase.category_id.in_(
            sa.select(CaseCategory.id).where(CaseCategory.code == filters["category"])))
    if filters.get("state"):
        if filters["state"] == "open":
            q = q.where(GridCase.state.in_(OPEN_STATES))
        elif filters["state"] == "final":
            q = q.where(GridCase.state.in_(FINAL_STATES))
        elif filters["state"] in STATE_LABELS:
            q = q.where(GridCase.state == filters["state"])
        else:
            errors["state"] = _("Not one of the choices.")
    if filters.get("urgency"):
        q = q.where(GridCase.urgency == filters["urgency"])
    if filters.get("grid"):
        unit = session.scalars(sa.select(OrgUnit).where(OrgUnit.code == filters["grid"])).first()
        column = AREA_COLUMNS.get(unit.kind) if unit is not None else None
        if unit is None or (column is None and unit.kind != "district"):
            errors["grid"] = _("No grid, community or street has this code.")
        elif column is not None:
            q = q.where(getattr(GridCase, column) == unit.id)
    if filters.get("overdue"):
        q = q.where(GridCase.deadline_at < now)
    cal = calendar(session, tenant)
    days: dict[str, dt.date] = {}
    for name in ("since", "until"):
        value = filters.get(name)
        if not value:
            continue
        try:
            days[name] = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
        except ValueError:
            errors[name] = _("Use a date like 2026-11-22.")
    if "since" in days and "until" in days and days["until"] < days["since"]:
        errors["until"] = _("The end date is before the start date.")
    for name, day in days.items():
        start = dt.datetime.combine(day + dt.timedelta(days=1 if name == "until" else 0), dt.time(), cal.tz)
        q = q.where(GridCase.created_at >= start if name == "since" else GridCase.created_at < start)
    before = filters.get("before")
    if before:
        try:
            cursor = int(before)
            if not 0 < cursor <= MAX_ID:
                raise ValueError(cursor)
        except (TypeError, ValueError):
            errors["before"] = _("Invalid value.")
        else:
            q = q.where(GridCase.id < cursor)
    return q.order_by(GridCase.id.desc()), errors


def case_rows(session: so.Session, cases: list[GridCase], now: dt.datetime | None = None,
              *, reveal_phone: bool = False) -> list[dict[str, Any]]:
    """Cases as the lists, the API and the exports show them; names come in one query per kind."""
    now = now or utcnow()
    cats = {c.id: c for c in session.scalars(sa.select(CaseCategory).where(
        CaseCategory.id.in_({c.category_id for c in cases})))} if cases else {}
    units = unit_names(session, [i for c in cases for i in (c.street_id, c.community_id, c.grid_id, c.compound_id,
                                                             c.building_id, c.level_unit_id, c.department_id)])

    def name(unit_id: int | None) -> str:
        return units[unit_id].name if unit_id in units else ""

    def code(unit_id: int | None) -> str | None:
        return units[unit_id].code if unit_id in units else None

    out = []
    for c in cases:
        cat = cats.get(c.category_id)
        out.append({
            "id": str(c.id), "number": c.number, "state": c.state, "state_label": str(STATE_LABELS[c.state]),
            "source": c.source, "source_label": str(SOURCE_LABELS[c.source]), "urgency": c.urgency,
            "urgency_label": str(URGENCY_LABELS[c.urgency]),
            "category_code": cat.code if cat else None, "category": cat.name if cat else "",
            "street": name(c.street_id), "community": name(c.community_id), "grid": name(c.grid_id),
            "grid_code": code(c.grid_id), "compound": name(c.compound_id), "building": name(c.building_id),
            "address": c.address, "lat": c.lat, "lng": c.lng, "description": c.description,
            "level": name(c.level_unit_id), "level_code": code(c.level_unit_id),
            "level_kind": units[c.level_unit_id].kind if c.level_unit_id in units else None,
            "department": name(c.department_id), "department_code": code(c.department_id),
            "reporter_name": c.reporter_name,
            "reporter_phone": c.reporter_phone if reveal_phone else mask_phone(c.reporter_phone),
            "deadline_at": c.deadline_at, "resolve_by": c.resolve_by, "overdue": c.overdue(now),
            "created_at": c.created_at, "updated_at": c.updated_at, "resolved_at": c.resolved_at,
            "closed_at": c.closed_at, "result": c.result, "rating": c.rating,
            "rating_label": str(RATING_LABELS[c.rating]) if c.rating else "", "rating_comment": c.rating_comment,
            "reopened": c.reopened, "extension_days": c.extension_days, "version": c.version,
            "common_problem_id": str(c.common_problem_id) if c.common_problem_id else None,
        })
    return out


def list_cases(session: so.Session, tenant: Tenant, actor: Actor, filters: dict[str, Any], limit: int = PAGE_SIZE
               ) -> tuple[list[GridCase], str | None, dict[str, str]]:
    from saas.pagination import keyset_page

    q, errors = case_query(session, tenant, actor, filters)
    if errors:
        return [], None, errors
    rows, cursor = keyset_page(session, q, limit)
    return rows, cursor, {}


def timeline(session: so.Session, case: GridCase, *, public_only: bool = False) -> list[CaseEvent]:
    q = sa.select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.at, CaseEvent.id)
    if public_only:
        q = q.where(CaseEvent.public.is_(True))
    return list(session.scalars(q))


def reporter_phone_for(session: so.Session, actor: Actor, case: GridCase) -> str | None:
    """The reporter's mobile number in full, for the staff who call residents back (those who accept cases and
    the departments); a resident's number shown so is recorded in the district's audit log as a view of personal
    data. None for everyone else, who see it masked. The caller commits (a page commits as it renders)."""
    if not case.reporter_phone or not (actor.may("grid_cases.accept") or actor.may("grid_cases.department")):
        return None
    if case.reported_by_id is not None and case.reporter_user_id == case.reported_by_id:
        return case.reporter_phone  # staff on patrol reported it: their work number, not a resident's
    audit.record(session, actor.user, "grid_cases.case.view_contact", "grid_cases_case", case.id, module=MODULE)
    return case.reporter_phone


def photos_of(session: so.Session, case: GridCase) -> list[CasePhoto]:
    return list(session.scalars(sa.select(CasePhoto).where(CasePhoto.case_id == case.id)
                                .order_by(CasePhoto.created_at, CasePhoto.id)))


def photo_for(session: so.Session, actor: Actor, photo_id: int, *, public: bool = False) -> CasePhoto:
    """A photo whose case (or quick note) the actor may see; public pages see report and result photos only."""
    if not 0 < photo_id <= MAX_ID:
        raise not_found()
    photo = session.scalars(sa.select(CasePhoto).where(CasePhoto.id == photo_id)).first()
    if photo is None:
        raise not_found()
    if photo.case_id is not None:
        get_case(session, actor, photo.case_id)
        if public and photo.stage not in ("report", "result"):
            raise not_found()
        return photo
    if photo.note_id is not None:
        from blueprints.grid_cases.models import QuickNote

        note = session.scalars(sa.select(QuickNote).where(QuickNote.id == photo.note_id)).first()
        if note is not None and (note.user_id == actor.id or (note.grid_id is not None and actor.may(
                "grid_cases.view", session.scalars(sa.select(OrgUnit).where(OrgUnit.id == note.grid_id)).first()))):
            return photo
    raise not_found()


def event_role_label(book: Any, role: str) -> str:
    if role in ROLE_FALLBACK:
        return str(ROLE_FALLBACK[role])
    spec = book.roles.get(role)
    return str(spec.name) if spec is not None else role


def add_photos(session: so.Session, tenant: Tenant, actor: Actor, case_id: int, stage: str,
               uploads: Iterable[Upload]) -> list[CasePhoto]:
    """Photos added to a case outside a transition: the reporter's to the report while it is open, the
    handler's to the result while handling, the verifier's while verifying."""
    case = get_case(session, actor, case_id)
    if stage == "report":
        may = case.is_open and (case.reported_by_id == actor.id or is_reporter(actor, case))
    elif stage == "result":
        may = case.state == "in_progress" and role_for(actor, case, "handler") is not None
    elif stage == "verify":
        may = case.state == "resolved" and role_for(actor, case, "verifier") is not None
    else:
        raise ServiceError({"stage": _("Not one of the choices.")})
    if not may:
        raise Refused(_("You may not add photos to this case at this step."), 403)
    already = session.scalar(sa.select(sa.func.count()).select_from(CasePhoto).where(
        CasePhoto.case_id == case.id, CasePhoto.stage == stage)) or 0
    pictures = check_uploads(uploads, settings(session)["photo_max_mb"] * 1024 * 1024, already=already)
    if not pictures:
        raise ServiceError({"photos": _("Choose at least one photo.")})
    event = _event(session, case, actor, "photos", case.state, case.state, "", public=stage == "report",
                   role=_acting_role(actor, case), data={"count": len(pictures), "stage": stage})
    session.flush()
    rows = photo_rows(pictures, stage=stage, uploaded_by_id=actor.id, case_id=case.id, event_id=event.id)
    session.add_all(rows)
    session.flush()
    return rows


def open_case_for_module(session: so.Session, tenant: Tenant, module_key: str, ref: str, data: dict[str, Any],
                         *, enabled: Iterable[str] | None = None) -> GridCase:
    """Another module's way to open a case (an elderly visit that finds a hazard): reported by the system on the
    module's behalf, `source` "module" and `source_ref` "<module>:<ref>", waiting for acceptance at its level.

    The other module names this function in its own code; grid cases knows no other module.
    """
    from flask import current_app

    book = current_app.extensions["saas.roles"]
    on = frozenset(enabled if enabled is not None else {MODULE, module_key})
    return report_case(session, tenant, Actor.system(book, on), data, source="module",
                       source_ref=f"{module_key}:{ref}"[:80])
