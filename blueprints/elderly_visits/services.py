"""为老服务 (elderly visits): the registry, the visit schedule, visits logged on a phone, needs and emergencies.

Services take the session (bound to the tenant), the tenant and the actor explicitly and never read request
globals, so the pages, the JSON API and the periodic jobs share them; what a door sends, a service decides.

Who sees whom is one WHERE clause (`scope`): the residents of the units on which a person holds
`elderly_visits.view`, and those assigned to them. The sensitive part of a record (health, care notes, living
situation, emergency contacts, the full ID number) is shown only to the assigned worker and backup and to those
holding `elderly_visits.sensitive` on the resident's grid (the community cadre, admins); every such view is
written to the audit log.

Schedule: the next visit is due a number of days after the last one (the resident's own frequency, or the
district's rules by category: 独居 and 失能 weekly, 高龄 every two weeks; 80 or older counts as 高龄 whatever
was ticked), or a calendar month after it for everyone else (31 January → 28 or 29 February). A visit logged
late counts from the day it took place; an older visit logged after a newer one moves nothing.
"""

from __future__ import annotations

import calendar as month_calendar
import datetime as dt
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _
from stdnum.cn import ric

from blueprints.elderly_visits.models import (
    EMERGENCY_STATES,
    ElderlyPerson,
    Emergency,
    EmergencyAction,
    EmergencyContact,
    Need,
    Visit,
    VisitPhoto,
)
from saas import audit
from saas.actors import Actor, Refused, ServiceError
from saas.db import utcnow
from saas.modules import module_settings
from saas.notify import Recipients, notify
from saas.pictures import Picture, Upload, check_uploads
from saas.schemas import mask_id_number, mask_phone
from saas.workdays import local_date, zone
from tenants.models import ModuleSwitch, OrgUnit, RoleGrant, Tenant, User

MODULE = "elderly_visits"
MIN_AGE = 60
# a visit may be logged this long after it took place (a worker back in the office); never in the future
MAX_LATE = dt.timedelta(days=30)
CLOCK_SKEW = dt.timedelta(minutes=5)
PLACE_KINDS = ("compound", "building", "unit")
# grid cases' category for a need the grid must act on (its default taxonomy; "other" when it has none)
NEED_CATEGORY = {"repair": "property", "medical": "other", "shopping": "other", "company": "other",
                 "policy": "other"}

__all__ = ["MODULE", "Actor", "Refused", "ServiceError"]


def not_found() -> Refused:
    # one answer for "no such resident" and "someone else's resident"
    return Refused(_("No such resident, or not in your area."), 404)


def settings(session: so.Session) -> dict[str, Any]:
    """The district's settings of the module (the kernel's `module_settings`)."""
    from blueprints.elderly_visits import module

    return module_settings(session, module)


# --- the schedule -------------------------------------------------------------------------------------------


def age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def effective_categories(categories: Iterable[str], birth: dt.date, today: dt.date) -> set[str]:
    cats = set(categories)
    if age_on(birth, today) >= 80:
        cats.add("very_old")
    return cats


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, or the month's last day when it has no such day (31 Jan + 1 = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, month_calendar.monthrange(year, month)[1]))


def interval_days(person: ElderlyPerson, rules: dict[str, Any], today: dt.date) -> int | None:
    """Days between visits for this resident, or None for the monthly default."""
    if person.frequency_days:
        return person.frequency_days
    cats = effective_categories(person.categories or (), person.birth_date, today)
    days = [rules[key] for cat, key in (("alone", "alone_days"), ("disabled", "disabled_days"),
                                       ("very_old", "very_old_days")) if cat in cats]
    return min(days) if days else None


def next_due(person: ElderlyPerson, rules: dict[str, Any], since: dt.date) -> dt.date:
    days = interval_days(person, rules, since)
    return since + dt.timedelta(days=days) if days else add_months(since, rules["default_months"])


def frequency_label(person: ElderlyPerson, rules: dict[str, Any], today: dt.date) -> str:
    days = interval_days(person, rules, today)
    if days is None:
        return _("every %(n)s month(s)", n=rules["default_months"])
    return _("every %(n)s days", n=days)


def today_in(tenant: Tenant, now: dt.datetime | None = None) -> dt.date:
    return local_date(now or utcnow(), tenant.timezone)


# --- who sees what ------------------------------------------------------------------------------------------


def scope(actor: Actor) -> sa.ColumnElement[bool]:
    """The residents a person may see: in the units where they hold `elderly_visits.view`, or assigned to them."""
    grid = sa.select(OrgUnit.path).where(OrgUnit.id == ElderlyPerson.grid_id).scalar_subquery()
    clauses: list[sa.ColumnElement[bool]] = [grid.startswith(u.path) for u in actor.units("elderly_visits.view")]
    if actor.id is not None:
        clauses += [ElderlyPerson.worker_id == actor.id, ElderlyPerson.backup_worker_id == actor.id]
    return sa.or_(*clauses) if clauses else sa.false()


def get_person(session: so.Session, actor: Actor, person_id: int) -> ElderlyPerson:
    person = session.scalars(sa.select(ElderlyPerson).where(ElderlyPerson.id == person_id, scope(actor))).first()
    if person is None:
        raise not_found()
    return person


def unit_by_id(session: so.Session, unit_id: int | None) -> OrgUnit | None:
    if unit_id is None:
        return None
    return session.scalars(sa.select(OrgUnit).where(OrgUnit.id == unit_id)).first()


def assigned(actor: Actor, person: ElderlyPerson) -> bool:
    return actor.id is not None and actor.id in (person.worker_id, person.backup_worker_id)


def may_see_sensitive(actor: Actor, person: ElderlyPerson, grid: OrgUnit | None) -> bool:
    return assigned(actor, person) or (grid is not None and actor.may("elderly_visits.sensitive", grid))


def may_visit(actor: Actor, person: ElderlyPerson, grid: OrgUnit | None) -> bool:
    return assigned(actor, person) or (grid is not None and actor.may("elderly_visits.visit", grid))


def roles_with(actor: Actor, permission: str) -> list[str]:
    on = set(actor.enabled)
    return [role for role in actor.book.roles if permission in actor.book.permissions(role, on)]


def grid_visitors(session: so.Session, actor: Actor, grid: OrgUnit) -> list[User]:
    """The people who may be assigned to a grid's residents: a visiting role granted on the grid itself."""
    roles = roles_with(actor, "elderly_visits.visit")
    return list(session.scalars(
        sa.select(User).options(so.lazyload(User.grants))
        .join(RoleGrant, sa.and_(RoleGrant.tenant_id == User.tenant_id, RoleGrant.user_id == User.id))
        .where(RoleGrant.org_unit_id == grid.id, RoleGrant.role.in_(roles), User.active.is_(True))
        .order_by(User.name).distinct()))


# --- the registry -------------------------------------------------------------------------------------------


def _unit_by_code(session: so.Session, code: str) -> OrgUnit | None:
    return session.scalars(sa.select(OrgUnit).where(OrgUnit.code == code)).first() if code else None


def _community_of(session: so.Session, grid: OrgUnit) -> int | None:
    parent = unit_by_id(session, grid.parent_id)
    return parent.id if parent is not None and parent.kind == "community" else None


def identity_errors(number: str, birth: dt.date, sex: str, today: dt.date) -> dict[str, str]:
    """What a resident's birth date and sex must agree with: their ID number (a valid one), and the age of the
    registry (the form, the API and the import ask the same)."""
    errors: dict[str, str] = {}
    if ric.get_birth_date(number) != birth:
        errors["birth_date"] = _("The birth date does not match the resident ID number.")
    elif age_on(birth, today) < MIN_AGE:
        errors["birth_date"] = _("The registry is for residents aged %(n)s or older.", n=MIN_AGE)
    if sex_of(number) != sex:
        errors["sex"] = _("The sex does not match the resident ID number.")
    return errors


def sex_of(number: str) -> str:
    return "m" if int(number[16]) % 2 else "f"


def register_person(session: so.Session, tenant: Tenant, actor: Actor, data: dict[str, Any]) -> ElderlyPerson:
    """Put a resident on the registry with their contacts; every refusal names its field and changes nothing."""
    errors: dict[str, str] = {}
    grid = _unit_by_code(session, data["grid_code"])
    if grid is None or grid.kind != "grid":
        raise ServiceError({"grid_code": _("No such grid in this district.")})
    if not actor.may("elderly_visits.manage", grid):
        raise Refused(_("You may not register residents in this grid."), 403)
    place = None
    if data.get("place_code"):
        place = _unit_by_code(session, data["place_code"])
        if place is None or place.kind not in PLACE_KINDS or not place.path.startswith(grid.path):
            errors["place_code"] = _("Choose a compound, building or unit of the resident's grid.")
    today = today_in(tenant)
    birth = data["birth_date"]
    number = data["id_number"]
    errors.update(identity_errors(number, birth, data["sex"], today))
    if session.scalars(sa.select(ElderlyPerson.id).where(ElderlyPerson.id_number == number)).first():
        errors["id_number"] = _("This resident is already on the registry.")
    visitors = {u.id for u in grid_visitors(session, actor, grid)}
    if data["worker_id"] not in visitors:
        errors["worker_id"] = _("Choose a grid worker of the resident's grid.")
    backup = data.get("backup_worker_id")
    if backup is not None and (backup not in visitors or backup == data["worker_id"]):
        errors["backup_worker_id"] = _("Choose another grid worker of the resident's grid as the backup.")
    if errors:
        raise ServiceError(errors)
    now = utcnow()
    person = ElderlyPerson(
        name=data["name"], sex=data["sex"], birth_date=birth, id_number=number, phone=data.get("phone"),
        grid_id=grid.id, community_id=_community_of(session, grid), place_id=place.id if place else None,
        room=data.get("room", ""), address=data.get("address", ""), categories=sorted(set(data["categories"])),
        living=data.get("living", ""), conditions=data.get("conditions", ""), care_notes=data.get("care_notes", ""),
        worker_id=data["worker_id"], backup_worker_id=backup, frequency_days=data.get("frequency_days"),
        consent_at=now, consent_note=data.get("consent_note", ""), registered_at=now, next_visit_on=today,
    )
    person.next_visit_on = next_due(person, settings(session), today)
    session.add(person)
    session.flush()
    for pos, contact in enumerate(data.get("contacts") or ()):
        session.add(EmergencyContact(person_id=person.id, name=contact["name"], relation=contact.get("relation", ""),
                                     phone=contact["phone"], position=pos))
    audit.record(session, actor, "elderly_visits.register", "elderly_person", person.id,
                 after={"grid": grid.code, "categories": person.categories, "worker_id": str(person.worker_id)},
                 module=MODULE)
    session.flush()
    return person


def contacts_of(session: so.Session, person_id: int) -> list[EmergencyContact]:
    return list(session.scalars(sa.select(EmergencyContact).where(EmergencyContact.person_id == person_id)
                                .order_by(EmergencyContact.position)))


def person_out(session: so.Session, tenant: Tenant, actor: Actor, person: ElderlyPerson, *,
               names: dict[int, str] | None = None, units: dict[int, OrgUnit] | None = None,
               rules: dict[str, Any] | None = None, detail: bool = False) -> dict[str, Any]:
    """A resident as a list or the detail shows them; the sensitive part only to those who may see it, and a
    detail view of it is written to the audit log."""
    today = today_in(tenant)
    rules = rules if rules is not None else settings(session)
    units = units if units is not None else unit_map(session, [person.grid_id, person.place_id])
    names = names if names is not None else user_names(session, [person.worker_id, person.backup_worker_id])
    grid = units.get(person.grid_id)
    sensitive = detail and may_see_sensitive(actor, person, grid)
    out: dict[str, Any] = {
        "id": str(person.id), "name": person.name, "sex": person.sex, "age": age_on(person.birth_date, today),
        "id_number": person.id_number if sensitive else mask_id_number(person.id_number),
        "phone": person.phone if sensitive else mask_phone(person.phone),
        "grid": grid.name if grid else "", "place": units[person.place_id].name if person.place_id in units else "",
        "room": person.room, "address": person.address,
        "categories": sorted(effective_categories(person.categories or (), person.birth_date, today)),
        "worker": names.get(person.worker_id, ""), "backup": names.get(person.backup_worker_id or 0, ""),
        "frequency_days": interval_days(person, rules, today) or 0,
        "frequency": frequency_label(person, rules, today),
        "last_visit_at": person.last_visit_at, "next_visit_on": person.next_visit_on,
        "overdue": person.next_visit_on < today, "due_today": person.next_visit_on == today,
        "sensitive": sensitive, "version": person.version, "living": None, "conditions": None, "care_notes": None,
        "contacts": None, "assigned": assigned(actor, person),
    }
    if sensitive:
        out.update(living=person.living, conditions=person.conditions, care_notes=person.care_notes,
                   contacts=[{"name": c.name, "relation": c.relation, "phone": c.phone}
                             for c in contacts_of(session, person.id)])
        audit.record(session, actor, "elderly_visits.view_sensitive", "elderly_person", person.id, module=MODULE)
    return out


def unit_map(session: so.Session, ids: Iterable[int | None]) -> dict[int, OrgUnit]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u for u in session.scalars(sa.select(OrgUnit).where(OrgUnit.id.in_(wanted)))}


def user_names(session: so.Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(session.execute(sa.select(User.id, User.name).where(User.id.in_(wanted))).all())


def list_people(session: so.Session, tenant: Tenant, actor: Actor, *, due: str = "week", q: str = "",
                mine: bool = False, limit: int = 200) -> list[dict[str, Any]]:
    """A worker's list on the phone: due today, overdue, due this week (overdue included) or all, by place."""
    today = today_in(tenant)
    stmt = sa.select(ElderlyPerson).where(scope(actor), ElderlyPerson.active.is_(True))
    if due == "today":
        stmt = stmt.where(ElderlyPerson.next_visit_on == today)
    elif due == "overdue":
        stmt = stmt.where(ElderlyPerson.next_visit_on < today)
    elif due == "week":
        stmt = stmt.where(ElderlyPerson.next_visit_on <= today + dt.timedelta(days=6 - today.weekday()))
    if q:
        stmt = stmt.where(ElderlyPerson.name.contains(q, autoescape=True))
    if mine and actor.id is not None:
        stmt = stmt.where(sa.or_(ElderlyPerson.worker_id == actor.id, ElderlyPerson.backup_worker_id == actor.id))
    people = list(session.scalars(stmt.order_by(ElderlyPerson.place_id, ElderlyPerson.next_visit_on,
                                                ElderlyPerson.id).limit(limit)))
    units = unit_map(session, [p.grid_id for p in people] + [p.place_id for p in people])
    names = user_names(session, [p.worker_id for p in people] + [p.backup_worker_id for p in people])
    rules = settings(session)
    return [person_out(session, tenant, actor, p, names=names, units=units, rules=rules) for p in people]


# --- visits -------------------------------------------------------------------------------------------------


def log_visit(session: so.Session, tenant: Tenant, actor: Actor, person_id: int, data: dict[str, Any],
              uploads: Iterable[Upload] = ()) -> Visit:
    """Log a visit, with an optional photo. The same `client_key` sent again (a phone back online, a double tap)
    returns the visit already kept and changes nothing; a need becomes a grid case when asked and grid cases is
    on."""
    key = data.get("client_key")
    if key:
        done = session.scalars(sa.select(Visit).where(Visit.client_key == key)).first()
        if done is not None:
            if done.person_id != person_id:
                raise ServiceError({"client_key": _("This key belongs to another visit.")})
            return done
    person = get_person(session, actor, person_id)
    grid = unit_by_id(session, person.grid_id)
    if not may_visit(actor, person, grid):
        raise Refused(_("Only the resident's grid workers log their visits."), 403)
    now = utcnow()
    at = data.get("visited_at") or now
    if at.tzinfo is None:
        at = at.replace(tzinfo=zone(tenant.timezone))
    at = at.astimezone(dt.UTC)
    if at > now + CLOCK_SKEW:
        raise ServiceError({"visited_at": _("A visit cannot be dated in the future.")})
    if at < now - MAX_LATE:
        raise ServiceError({"visited_at": _("A visit can be logged up to 30 days after it took place.")})
    if data.get("make_case") and not data.get("needs"):
        raise ServiceError({"needs": _("Tick the need the grid case is about.")})
    pictures = _visit_pictures(session, uploads)
    visit = Visit(person_id=person.id, visitor_id=actor.id, planned_on=person.next_visit_on, visited_at=at,
                  kind=data["kind"], health=data["health"], mood=data["mood"], needs=sorted(set(data["needs"])),
                  risks=sorted(set(data["risks"])), notes=data.get("notes", ""),
                  duration_min=data.get("duration_min"), client_key=key)
    if key:
        # two sends of one visit at the same instant: the unique key lets one in; the other returns it
        try:
            with session.begin_nested():
                session.add(visit)
                session.flush()
        except sa.exc.IntegrityError:
            done = session.scalars(sa.select(Visit).where(Visit.client_key == key)).first()
            if done is None or done.person_id != person_id:
                raise ServiceError({"client_key": _("This key belongs to another visit.")}) from None
            return done
    else:
        session.add(visit)
        session.flush()
    if person.last_visit_at is None or at >= person.last_visit_at:
        person.last_visit_at = at
        person.next_visit_on = next_due(person, settings(session), local_date(at, tenant.timezone))
        person.escalated_for = None
    case_number = None
    if data.get("make_case"):
        case_number = _open_case(session, tenant, actor, person, grid, visit, data)
    for kind in visit.needs:
        session.add(Need(person_id=person.id, visit_id=visit.id, kind=kind, note=data.get("need_note", ""),
                         case_number=case_number))
    for picture in pictures:
        session.add(_photo_row(visit, picture, actor))
    audit.record(session, actor, "elderly_visits.visit", "elderly_person", person.id,
                 after={"visit": str(visit.id), "kind": visit.kind, "needs": visit.needs,
                        **({"case": case_number} if case_number else {}), **({"photo": True} if pictures else {})},
                 module=MODULE)
    session.flush()
    return visit


def _open_case(session: so.Session, tenant: Tenant, actor: Actor, person: ElderlyPerson, grid: OrgUnit | None,
               visit: Visit, data: dict[str, Any]) -> str:
    """A need the grid must act on becomes a grid case, through grid cases' own public service (the link this
    module declares); without grid cases the need stays a follow-up task here."""
    if "grid_cases" not in actor.enabled:
        raise ServiceError({"make_case": _("Grid cases is off in this district: the need stays a follow-up task.")})
    from blueprints.grid_cases.services import category_by_code, open_case_for_module

    code = NEED_CATEGORY.get(visit.needs[0], "other")
    if category_by_code(session, code) is None:
        code = "other"
    place = unit_by_id(session, person.place_id) or grid
    labels = dict(need_labels())
    text = "；".join(str(labels[n]) for n in visit.needs)
    if data.get("need_note"):
        text += "：" + data["need_note"]
    try:
        case = open_case_for_module(session, tenant, MODULE, f"visit:{visit.id}", {
            "category_code": code, "location_code": place.code if place else None, "urgency": "normal",
            "address": person.address or "", "description": _("Found on an elderly visit: %(needs)s", needs=text),
        }, enabled=actor.enabled)
    except ServiceError as err:
        raise ServiceError({"make_case": " ".join(str(v) for v in err.errors.values())}) from None
    return case.number


# --- a visit's photo (the reading of an upload is the kernel's: saas.pictures) ------------------------------


def _visit_pictures(session: so.Session, uploads: Iterable[Upload]) -> list[Picture]:
    """The visit's photo read and checked, or a refusal naming the field; one photo a visit."""
    files = [u for u in uploads if u.filename or u.data]
    if not files:
        return []
    if len(files) > 1:
        raise ServiceError({"photo": _("One photo a visit.")})
    try:
        return check_uploads(files, settings(session)["photo_max_mb"] * 1024 * 1024)
    except ServiceError as err:
        raise ServiceError({"photo": " ".join(str(v) for v in err.errors.values())}) from None


def _photo_row(visit: Visit, picture: Picture, actor: Actor) -> VisitPhoto:
    return VisitPhoto(visit_id=visit.id, content_type="image/jpeg", width=picture.width, height=picture.height,
                      size=len(picture.data), data=picture.data, thumb=picture.thumb, uploaded_by_id=actor.id)


def _visible_visit(session: so.Session, actor: Actor, visit_id: int) -> tuple[Visit, ElderlyPerson]:
    """A visit of a resident one sees; one 404 for a missing visit and someone else's."""
    visit = session.scalars(sa.select(Visit).where(Visit.id == visit_id)).first()
    if visit is None:
        raise Refused(_("No such visit, or not in your area."), 404)
    try:
        return visit, get_person(session, actor, visit.person_id)
    except Refused:
        raise Refused(_("No such visit, or not in your area."), 404) from None


def add_visit_photo(session: so.Session, actor: Actor, visit_id: int, uploads: Iterable[Upload]) -> VisitPhoto:
    """The photo of a visit logged without one (the API sends it apart): by the visitor or the resident's
    workers; a visit keeps one photo."""
    visit, person = _visible_visit(session, actor, visit_id)
    if actor.id != visit.visitor_id and not may_visit(actor, person, unit_by_id(session, person.grid_id)):
        raise Refused(_("Only the resident's grid workers log their visits."), 403)
    if session.scalars(sa.select(VisitPhoto.id).where(VisitPhoto.visit_id == visit.id)).first() is not None:
        raise Refused(_("This visit already has its photo."), 409)
    pictures = _visit_pictures(session, uploads)
    if not pictures:
        raise ServiceError({"photo": _("Choose a photo.")})
    row = _photo_row(visit, pictures[0], actor)
    session.add(row)
    session.flush()
    audit.record(session, actor, "elderly_visits.visit_photo", "elderly_person", person.id,
                 after={"visit": str(visit.id)}, module=MODULE)
    return row


def visit_photo(session: so.Session, actor: Actor, visit_id: int) -> VisitPhoto:
    """A visit's photo, for those who see the visit (the resident's area, or their own assigned resident)."""
    visit, _person = _visible_visit(session, actor, visit_id)
    photo = session.scalars(sa.select(VisitPhoto).where(VisitPhoto.visit_id == visit.id)
                            .options(so.undefer(VisitPhoto.data), so.undefer(VisitPhoto.thumb))).first()
    if photo is None:
        raise Refused(_("This visit has no photo."), 404)
    return photo


def photographed(session: so.Session, visit_ids: Iterable[int]) -> set[int]:
    """Which of these visits have a photo."""
    wanted = list(visit_ids)
    if not wanted:
        return set()
    return set(session.scalars(sa.select(VisitPhoto.visit_id).where(VisitPhoto.visit_id.in_(wanted))))


def visits_of(session: so.Session, person_id: int, limit: int = 50) -> list[Visit]:
    return list(session.scalars(sa.select(Visit).where(Visit.person_id == person_id)
                                .order_by(Visit.visited_at.desc(), Visit.id.desc()).limit(limit)))


def visit_out(visit: Visit, names: dict[int, str], cases: dict[int, str | None] | None = None,
              photos: set[int] | None = None) -> dict[str, Any]:
    return {"id": str(visit.id), "person_id": str(visit.person_id), "visitor": names.get(visit.visitor_id, ""),
            "kind": visit.kind, "visited_at": visit.visited_at, "planned_on": visit.planned_on,
            "health": visit.health, "mood": visit.mood, "needs": visit.needs, "risks": visit.risks,
            "notes": visit.notes, "duration_min": visit.duration_min,
            "case_number": (cases or {}).get(visit.id), "has_photo": visit.id in (photos or set())}


def needs_of(session: so.Session, person_id: int) -> list[Need]:
    return list(session.scalars(sa.select(Need).where(Need.person_id == person_id)
                                .order_by(Need.state, Need.created_at.desc())))


def resolve_need(session: so.Session, actor: Actor, need_id: int, result: str) -> Need:
    need = session.scalars(sa.select(Need).where(Need.id == need_id)).first()
    if need is None:
        raise not_found()
    person = get_person(session, actor, need.person_id)
    if not may_visit(actor, person, unit_by_id(session, person.grid_id)):
        raise Refused(_("Only the resident's grid workers follow up their needs."), 403)
    if need.state != "open":
        raise Refused(_("This need is already resolved."), 409)
    if not result:
        raise ServiceError({"result": _("Say what was done.")})
    need.state, need.result, need.resolved_at, need.resolved_by_id = "resolved", result, utcnow(), actor.id
    audit.record(session, actor, "elderly_visits.need_resolved", "elderly_person", person.id,
                 after={"need": need.kind, "result": result}, module=MODULE)
    session.flush()
    return need


# --- emergencies ------------------------------------------------------------------------------------------


def _cadres(session: so.Session, person: ElderlyPerson | Emergency) -> list[int]:
    unit_ids = [u for u in (person.community_id, person.grid_id) if u is not None]
    return list(session.scalars(sa.select(RoleGrant.user_id).where(
        RoleGrant.org_unit_id.in_(unit_ids), RoleGrant.role.in_(("community_cadre", "grid_leader")))
        .distinct()))


def _grid_workers(session: so.Session, grid_id: int) -> list[int]:
    """Whoever works the grid, for an emergency whose resident is not known yet (nobody is assigned to it)."""
    return list(session.scalars(sa.select(RoleGrant.user_id).where(
        RoleGrant.org_unit_id == grid_id, RoleGrant.role == "grid_worker").distinct()))


def _contact_people(session: so.Session, person: ElderlyPerson) -> list[int]:
    """The emergency contacts as people of the district (by phone: a resident's account is made on first use, as
    the residents' sign-in does), so they hear on urgent channels like anyone else."""
    from saas.auth import citizen_for_phone

    ids = []
    for contact in contacts_of(session, person.id):
        known = session.scalars(sa.select(User.id).where(User.phone == contact.phone)).first()
        ids.append(known if known is not None else citizen_for_phone(contact.phone, session).id)
    return ids


def emergency_url(tenant: Tenant, emergency: Emergency) -> str:
    return f"/t/{tenant.slug}/elderly_visits/emergencies/{emergency.id}"


def notice_text(emergency: Emergency) -> str:
    """What a notice says of an emergency: who reported it (their phone masked: a notice is read on a lock screen
    and kept by SMS gateways), where, and what they wrote."""
    parts = []
    if emergency.source == "neighbour":
        parts.append(_("Reported by a neighbour (%(phone)s)", phone=mask_phone(emergency.reporter_phone)))
    elif emergency.source == "family":
        parts.append(_("Reported by the family (%(phone)s)", phone=mask_phone(emergency.reporter_phone)))
    if emergency.person_id is None:
        parts.append(_("not matched to a registered resident: link it"))
    head = "，".join(parts)
    text = " ".join(x for x in (emergency.reported_place, emergency.description) if x)
    return f"{head}：{text}" if head and text else head or text


def emergency_name(emergency: Emergency, person: ElderlyPerson | None) -> str:
    return person.name if person is not None else emergency.reported_name


def raise_emergency(session: so.Session, tenant: Tenant, actor: Actor, person_id: int,
                    data: dict[str, Any]) -> Emergency:
    """An emergency for a resident: the community's cadres, the resident's workers and the emergency contacts
    hear at once, on urgent channels (no quiet hours)."""
    person = get_person(session, actor, person_id)
    grid = unit_by_id(session, person.grid_id)
    if not (assigned(actor, person) or (grid is not None and actor.may("elderly_visits.emergency", grid))):
        raise Refused(_("You may not raise an emergency for this resident."), 403)
    return open_emergency(session, tenant, actor, person, grid, data)


def relatives_of(session: so.Session, actor: Actor) -> list[ElderlyPerson]:
    """The residents whose emergency contact is the signed-in person's phone (verified by the phone code)."""
    phone = actor.user.phone if actor.user is not None else None
    if not phone:
        return []
    ids = sa.select(EmergencyContact.person_id).where(EmergencyContact.phone == phone)
    return list(session.scalars(sa.select(ElderlyPerson).where(
        ElderlyPerson.id.in_(ids), ElderlyPerson.active.is_(True)).order_by(ElderlyPerson.name, ElderlyPerson.id)))


def raise_family_emergency(session: so.Session, tenant: Tenant, actor: Actor, person_id: int,
                           data: dict[str, Any]) -> Emergency:
    """An emergency raised by a relative: the signed-in person's phone (proved by the phone code) must be one of
    the resident's emergency contacts; anyone else gets the answer a resident who does not exist gets."""
    person = next((p for p in relatives_of(session, actor) if p.id == person_id), None)
    if person is None:
        raise Refused(_("No such relative: only a registered emergency contact may raise it."), 404)
    return open_emergency(session, tenant, actor, person, unit_by_id(session, person.grid_id), data,
                          source="family", reporter_phone=actor.user.phone if actor.user is not None else None)


def open_emergency(session: so.Session, tenant: Tenant, actor: Actor | None, person: ElderlyPerson | None,
                   grid: OrgUnit | None, data: dict[str, Any], *, source: str = "worker",
                   reporter_phone: str | None = None, reported_name: str = "", reported_place: str = "",
                   candidates: Iterable[int] = ()) -> Emergency:
    """The one way an emergency starts, whoever raised it (a worker, the family, a neighbour): the record, and
    the urgent notices to the community's cadres, the resident's workers and the family.

    Without a resident (a neighbour's report nobody on the registry matched, or several did) the emergency is
    the grid's: its workers and leader and the community's cadres hear at once, and a cadre links the resident
    later (`link_emergency`); it is taken on and escalated like any other."""
    if data["kind"] == "other" and not data.get("description"):
        raise ServiceError({"description": _("Say what happened.")})
    if person is not None:
        grid_id, community_id = person.grid_id, person.community_id
    elif grid is not None:
        grid_id, community_id = grid.id, _community_of(session, grid)
    else:
        raise ServiceError({"grid": _("No such grid in this district.")})
    by_id = actor.id if actor is not None else None
    emergency = Emergency(person_id=person.id if person is not None else None, grid_id=grid_id,
                          community_id=community_id, kind=data["kind"], description=data.get("description", ""),
                          raised_by_id=by_id, raised_at=utcnow(), source=source, reporter_phone=reporter_phone,
                          reported_name=reported_name or (person.name if person is not None else ""),
                          reported_place=reported_place, candidate_ids=[str(i) for i in candidates])
    session.add(emergency)
    session.flush()
    staff = set(_cadres(session, emergency))
    if person is not None:
        staff |= {person.worker_id} | ({person.backup_worker_id} - {None})
    else:
        staff |= set(_grid_workers(session, grid_id))
    staff.discard(by_id)
    context = {"name": emergency_name(emergency, person), "kind": str(dict(emergency_labels())[emergency.kind]),
               "place": grid.name if grid else "", "description": notice_text(emergency)}
    if staff:
        notify(session, Recipients(user_ids=tuple(sorted(staff))), "elderly_visits.emergency", context,
               url=emergency_url(tenant, emergency), module=MODULE, tenant=tenant, urgent=True,
               event_key=f"emergency:{emergency.id}:raised")
    if person is not None:
        _tell_family(session, tenant, emergency, person, context, skip=by_id)
    after: dict[str, Any] = {"kind": emergency.kind, "person": str(person.id) if person is not None else None,
                             "source": source}
    if reporter_phone:
        after["phone"] = mask_phone(reporter_phone)
    if person is None:
        after["candidates"] = len(emergency.candidate_ids)
    audit.record(session, actor, "elderly_visits.emergency", "emergency", emergency.id, after=after, module=MODULE)
    session.flush()
    return emergency


def _tell_family(session: so.Session, tenant: Tenant, emergency: Emergency, person: ElderlyPerson,
                 context: dict[str, Any], skip: int | None) -> None:
    family = [i for i in _contact_people(session, person) if i != skip]
    if family:
        notify(session, Recipients(user_ids=tuple(family)), "elderly_visits.emergency_family", context,
               module=MODULE, tenant=tenant, urgent=True, event_key=f"emergency:{emergency.id}:family")


def emergency_scope(actor: Actor) -> sa.ColumnElement[bool]:
    """The emergencies a person may see: in the grids under the units where they hold `elderly_visits.view`, or of
    a resident assigned to them. An emergency nobody linked yet is its grid's."""
    grid = sa.select(OrgUnit.path).where(OrgUnit.id == Emergency.grid_id).scalar_subquery()
    clauses: list[sa.ColumnElement[bool]] = [grid.startswith(u.path) for u in actor.units("elderly_visits.view")]
    if actor.id is not None:
        mine = so.aliased(ElderlyPerson)  # its own FROM, whether or not the outer query joins the residents
        clauses.append(sa.select(mine.id).where(
            mine.id == Emergency.person_id, sa.or_(mine.worker_id == actor.id, mine.backup_worker_id == actor.id))
            .correlate(Emergency).exists())
    return sa.or_(*clauses) if clauses else sa.false()


def get_emergency(session: so.Session, actor: Actor, emergency_id: int) -> tuple[Emergency, ElderlyPerson | None]:
    """An emergency the person may see and its resident (None until linked); one 404 for missing and foreign."""
    emergency = session.scalars(sa.select(Emergency).where(Emergency.id == emergency_id,
                                                           emergency_scope(actor))).first()
    if emergency is None:
        raise Refused(_("No such emergency, or not in your area."), 404)
    person = None
    if emergency.person_id is not None:
        person = session.scalars(sa.select(ElderlyPerson).where(ElderlyPerson.id == emergency.person_id)).first()
    return emergency, person


def may_respond(session: so.Session, actor: Actor, emergency: Emergency, person: ElderlyPerson | None) -> bool:
    """Whether the actor may act on the emergency (take it on, record, close, link): its resident's assigned
    workers, or whoever responds on its grid. The page shows its forms to them alone."""
    grid = unit_by_id(session, emergency.grid_id)
    return ((person is not None and assigned(actor, person))
            or (grid is not None and actor.may("elderly_visits.respond", grid)))


def may_see_reporter(actor: Actor, person: ElderlyPerson | None, grid: OrgUnit | None) -> bool:
    """The reporter's phone is sensitive, like a resident's contacts: the assigned workers and those holding
    `elderly_visits.sensitive` on the grid read it."""
    return (person is not None and assigned(actor, person)) or (
        grid is not None and actor.may("elderly_visits.sensitive", grid))


def _check(session: so.Session, actor: Actor, emergency_id: int, version: int | None,
           states: tuple[str, ...]) -> tuple[Emergency, ElderlyPerson | None]:
    """Who may act, on the version they saw (None: an action that adds to the record and decides nothing)."""
    emergency, person = get_emergency(session, actor, emergency_id)
    if not may_respond(session, actor, emergency, person):
        raise Refused(_("You may not act on this emergency."), 403)
    if version is not None and emergency.version != version:
        raise Refused(_("Someone else acted on this emergency just now: look at it again."), 409)
    if emergency.state not in states:
        raise Refused(_("This step is not possible now."), 409)
    return emergency, person


def _acknowledge(emergency: Emergency, actor: Actor, now: dt.datetime) -> None:
    if emergency.state == "raised":
        emergency.state, emergency.acknowledged_at, emergency.acknowledged_by_id = "acknowledged", now, actor.id


def acknowledge_emergency(session: so.Session, actor: Actor, emergency_id: int, version: int) -> Emergency:
    emergency, _person = _check(session, actor, emergency_id, version, ("raised",))
    _acknowledge(emergency, actor, utcnow())
    audit.record(session, actor, "elderly_visits.emergency_ack", "emergency", emergency.id, module=MODULE)
    session.flush()
    return emergency


def link_emergency(session: so.Session, tenant: Tenant, actor: Actor, emergency_id: int,
                   data: dict[str, Any]) -> Emergency:
    """Name the resident of an emergency nobody on the registry matched (one of the candidates, or any resident the
    cadre finds): the emergency becomes the resident's, and while it is open their workers and family hear now
    what the grid heard when it was raised."""
    emergency, person = _check(session, actor, emergency_id, data["version"], EMERGENCY_STATES)
    if person is not None:
        raise Refused(_("This emergency is already linked to a resident."), 409)
    try:
        target = get_person(session, actor, data["person_id"])
    except Refused:
        raise ServiceError({"person_id": _("Choose a resident of your area.")}) from None
    if not target.active:
        raise ServiceError({"person_id": _("Choose a resident of your area.")})
    now = utcnow()
    told = set(_cadres(session, emergency)) | set(_grid_workers(session, emergency.grid_id))
    emergency.person_id, emergency.grid_id, emergency.community_id = target.id, target.grid_id, target.community_id
    emergency.linked_at, emergency.linked_by_id = now, actor.id
    session.flush()
    if emergency.state != "closed":
        grid = unit_by_id(session, target.grid_id)
        context = {"name": target.name, "kind": str(dict(emergency_labels())[emergency.kind]),
                   "place": grid.name if grid else "", "description": notice_text(emergency)}
        workers = ({target.worker_id} | ({target.backup_worker_id} - {None}) | set(_cadres(session, emergency))) \
            - told - {actor.id}
        if workers:
            notify(session, Recipients(user_ids=tuple(sorted(workers))), "elderly_visits.emergency", context,
                   url=emergency_url(tenant, emergency), module=MODULE, tenant=tenant, urgent=True,
                   event_key=f"emergency:{emergency.id}:linked")
        _tell_family(session, tenant, emergency, target, context, skip=actor.id)
    audit.record(session, actor, "elderly_visits.emergency_linked", "emergency", emergency.id,
                 after={"person": str(target.id)}, module=MODULE)
    session.flush()
    return emergency


def add_action(session: so.Session, actor: Actor, emergency_id: int, data: dict[str, Any]) -> Emergency:
    """Record what was done (120 called, family told, accompanied to hospital); acting acknowledges."""
    emergency, _person = _check(session, actor, emergency_id, data.get("version"), ("raised", "acknowledged"))
    if data["kind"] == "other" and not data.get("note"):
        raise ServiceError({"note": _("Say what was done.")})
    now = utcnow()
    _acknowledge(emergency, actor, now)
    session.add(EmergencyAction(emergency_id=emergency.id, kind=data["kind"], note=data.get("note", ""), at=now,
                                by_id=actor.id))
    session.flush()
    audit.record(session, actor, "elderly_visits.emergency_action", "emergency", emergency.id,
                 after={"action": data["kind"]}, module=MODULE)
    return emergency


def close_emergency(session: so.Session, actor: Actor, emergency_id: int, data: dict[str, Any]) -> Emergency:
    emergency, _person = _check(session, actor, emergency_id, data["version"], ("raised", "acknowledged"))
    if not data.get("outcome"):
        raise ServiceError({"outcome": _("Say how it ended.")})
    now = utcnow()
    _acknowledge(emergency, actor, now)
    emergency.state, emergency.outcome, emergency.closed_at, emergency.closed_by_id = (
        "closed", data["outcome"], now, actor.id)
    audit.record(session, actor, "elderly_visits.emergency_closed", "emergency", emergency.id,
                 after={"outcome": data["outcome"]}, module=MODULE)
    session.flush()
    return emergency


def actions_of(session: so.Session, emergency_ids: list[int]) -> dict[int, list[EmergencyAction]]:
    out: dict[int, list[EmergencyAction]] = {i: [] for i in emergency_ids}
    if emergency_ids:
        for action in session.scalars(sa.select(EmergencyAction).where(
                EmergencyAction.emergency_id.in_(emergency_ids)).order_by(EmergencyAction.at)):
            out[action.emergency_id].append(action)
    return out


def list_emergencies(session: so.Session, actor: Actor, *, open_only: bool = False, person_id: int | None = None,
                     unlinked: bool = False, limit: int = 100) -> list[tuple[Emergency, ElderlyPerson | None]]:
    """The emergencies one sees, newest first, with their resident (None for one nobody linked yet)."""
    stmt = (sa.select(Emergency, ElderlyPerson)
            .outerjoin(ElderlyPerson, sa.and_(ElderlyPerson.tenant_id == Emergency.tenant_id,
                                              ElderlyPerson.id == Emergency.person_id))
            .where(emergency_scope(actor)))
    if open_only:
        stmt = stmt.where(Emergency.state != "closed")
    if person_id is not None:
        stmt = stmt.where(Emergency.person_id == person_id)
    if unlinked:
        stmt = stmt.where(Emergency.person_id.is_(None))
    return [(e, p) for e, p in session.execute(stmt.order_by(Emergency.raised_at.desc()).limit(limit)).all()]


def emergency_out(session: so.Session, actor: Actor, emergency: Emergency, person: ElderlyPerson | None,
                  actions: list[EmergencyAction], *, units: dict[int, OrgUnit] | None = None,
                  detail: bool = False) -> dict[str, Any]:
    """An emergency as the lists and the detail show it; the reporter's phone in full only to those who may read
    it (a detail view of it is written to the audit log), masked for everyone else."""
    names = user_names(session, [a.by_id for a in actions])
    grid = units.get(emergency.grid_id) if units is not None else unit_by_id(session, emergency.grid_id)
    phone = emergency.reporter_phone
    clear = bool(phone) and may_see_reporter(actor, person, grid)
    if clear and detail:
        audit.record(session, actor, "elderly_visits.view_sensitive", "emergency", emergency.id, module=MODULE)
    return {"id": str(emergency.id), "person_id": str(person.id) if person is not None else None,
            "person": emergency_name(emergency, person), "linked": person is not None,
            "source": emergency.source, "reported_name": emergency.reported_name,
            "reported_place": emergency.reported_place, "candidate_ids": list(emergency.candidate_ids or ()),
            "reporter_phone": phone if clear else mask_phone(phone), "grid": grid.name if grid else "",
            "kind": emergency.kind, "description": emergency.description, "state": emergency.state,
            "raised_at": emergency.raised_at, "acknowledged_at": emergency.acknowledged_at,
            "escalated_at": emergency.escalated_at, "closed_at": emergency.closed_at, "outcome": emergency.outcome,
            "version": emergency.version,
            "actions": [{"kind": a.kind, "note": a.note, "at": a.at, "by": names.get(a.by_id or 0, "")}
                        for a in actions]}


def candidates_of(session: so.Session, actor: Actor, emergency: Emergency, q: str = "") -> list[ElderlyPerson]:
    """Whom an unlinked emergency may be: the residents the report matched, then those of its grid (or, with `q`,
    any resident one sees whose name contains it)."""
    ids = [int(i) for i in emergency.candidate_ids or () if str(i).isdigit()]
    stmt = sa.select(ElderlyPerson).where(scope(actor), ElderlyPerson.active.is_(True))
    if q:
        stmt = stmt.where(ElderlyPerson.name.contains(q, autoescape=True))
    else:
        stmt = stmt.where(sa.or_(ElderlyPerson.grid_id == emergency.grid_id, ElderlyPerson.id.in_(ids)))
    people = list(session.scalars(stmt.order_by(ElderlyPerson.name, ElderlyPerson.id).limit(50)))
    people.sort(key=lambda p: p.id not in ids)
    return people


# --- labels (one place, for the pages, the API's documentation and the notices) --------------------------


def category_labels() -> list[tuple[str, str]]:
    return [("empty_nest", _("Empty nest")), ("alone", _("Living alone")), ("very_old", _("80 or older")),
            ("disabled", _("Disabled or bedridden")), ("post_surgery", _("Recovering from surgery")),
            ("low_income", _("Minimum living allowance")), ("watch", _("Close attention"))]


def visit_kind_labels() -> list[tuple[str, str]]:
    return [("home", _("Home visit")), ("phone", _("Phone call")), ("chat", _("Company and a chat")),
            ("errand", _("Errand for them"))]


def condition_labels() -> list[tuple[str, str]]:
    return [("good", _("Good")), ("fair", _("Fair")), ("poor", _("Poor"))]


def need_labels() -> list[tuple[str, str]]:
    return [("shopping", _("Shopping")), ("repair", _("Repairs at home")), ("medical", _("Seeing a doctor")),
            ("company", _("Company")), ("policy", _("Policy advice"))]


def risk_labels() -> list[tuple[str, str]]:
    return [("fall", _("Risk of falling")), ("fire", _("Fire risk")), ("gas", _("Gas safety")),
            ("health", _("Health getting worse")), ("alone_long", _("Alone for long")),
            ("fraud", _("Targeted by fraud"))]


def emergency_labels() -> list[tuple[str, str]]:
    return [("fall", _("A fall")), ("illness", _("Sudden illness")),
            ("no_answer", _("No answer at the door or on the phone")), ("missing", _("Gone missing")),
            ("other", _("Something else"))]


def action_labels() -> list[tuple[str, str]]:
    return [("called_120", _("Called 120")), ("family_told", _("Told the family")),
            ("accompanied", _("Went with them to hospital")), ("arrived", _("Arrived on site")),
            ("other", _("Something else"))]


def state_labels() -> dict[str, str]:
    return {"raised": _("Raised"), "acknowledged": _("Being handled"), "closed": _("Finished")}


# --- provisioning -----------------------------------------------------------------------------------------


def provision(session: so.Session, tenant: Tenant) -> None:
    """The district's own visit-frequency rules, written once from the defaults when it first switches the
    module on, so that later defaults never change a district's schedule; what the district saved stays."""
    from blueprints.elderly_visits import module

    row = session.scalars(sa.select(ModuleSwitch).where(ModuleSwitch.module_key == MODULE)).one()
    row.settings = {**module.defaults(), **(row.settings or {})}
    session.flush()
