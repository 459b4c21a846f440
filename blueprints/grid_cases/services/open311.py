"""Open311 GeoReport v2 over grid cases: the district's categories as services, its cases as service requests.

The rules of what Open311 shows, since its GET methods answer anyone, without a key:
- services: every active category (code, name, description; its default department as `group`);
- requests: only cases of categories marked `public` (a neighbours' dispute is not), and of those only the
  spec's fields: the case number, the open/closed status with the public wording of its step, the category,
  the description and the address with phone numbers, ID numbers, e-mail addresses and the reporter's name
  blotted out, who holds it (the department, or the grid, community or street), the dates, the current
  step's deadline, the location unit's code, the coordinates rounded to 3 decimals (about 110 m), and a
  `media_url` the Open311 client itself sent. Never the reporter's name, phone or e-mail, never a photo,
  never a staff member's name, note or result, the rating, the source or the hotline's ticket number, never
  the case's internal id or token.
- a request's token (`tokens/{token}`) is exchanged for its number only for the same public cases.

Creating a request needs a personal API token of the district (`api_key`) whose person may report cases;
the case then goes through `report_case` like every other report, with source `open311`. The e-mail,
device and account ids a client may send are accepted and not kept (the product reaches residents by
phone), and so are `attribute[...]` values: every service is declared without attributes.

Functions take the session (bound to the tenant) and the tenant explicitly and never read request globals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _

from blueprints.grid_cases.models import FINAL_STATES, OPEN_STATES, CaseCategory, GridCase
from blueprints.grid_cases.services.base import MODULE, Actor, Refused, ServiceError, unit_names
from blueprints.grid_cases.services.cases import PUBLIC_STATE_LABELS, report_case
from blueprints.grid_cases.services.categories import list_categories
from saas.audit import AuditEntry
from saas.masking import coarsen, mask_personal
from saas.workdays import zone
from tenants.models import ModuleSwitch, OrgUnit, Tenant

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
FORMATS = ("text/xml", "application/json")
WINDOW = dt.timedelta(days=90)  # the spec's default range, and the widest a query may ask for
MAX_REQUESTS = 1000  # the spec's default cap
# what `address_id` names: a unit of the district's tree where a problem can be
ADDRESS_KINDS = ("unit", "building", "compound", "grid")
# the units an address names, most specific first (the spec's order); a grid is no address
ADDRESS_PARTS = ("unit_id", "building_id", "compound_id", "community_id", "street_id")
# the services' field names, as the core's errors name them
FIELD_NAMES = {"category_code": "service_code", "location_code": "address_id", "location_id": "address_id",
               "reporter_phone": "phone", "reporter_name": "first_name", "lng": "long"}


class Open311Error(Exception):
    """A refusal in the spec's terms: the HTTP status and one description per error."""

    def __init__(self, status: int, *descriptions: str):
        super().__init__(status, descriptions)
        self.status = status
        self.descriptions = list(descriptions)


# --- time -----------------------------------------------------------------------------------------


def w3c(value: dt.datetime | None, tz: str) -> str | None:
    """A moment as the spec writes it: ISO 8601 with the district's UTC offset, to the second."""
    if value is None:
        return None
    return value.astimezone(zone(tz)).isoformat(timespec="seconds")


def moment(value: dt.datetime | dt.date, tz: str, *, end: bool = False) -> dt.datetime:
    """A query bound as a moment: a date alone is that whole day in the district's time zone."""
    if isinstance(value, dt.datetime):
        return value
    day = value + dt.timedelta(days=1) if end else value
    return dt.datetime.combine(day, dt.time(), zone(tz))


def changeset(session: so.Session, tenant: Tenant) -> str:
    """When the list of services last changed: the module's switch or settings, or a category."""
    switched = session.scalar(sa.select(ModuleSwitch.updated_at).where(ModuleSwitch.module_key == MODULE))
    edited = session.scalars(sa.select(AuditEntry.at).where(
        AuditEntry.module == MODULE, AuditEntry.action.like("grid_cases.category.%"))
        .order_by(AuditEntry.at.desc()).limit(1)).first()
    latest = max(t for t in (switched, edited, tenant.created_at) if t is not None)
    return w3c(latest, tenant.timezone) or ""


# --- services -------------------------------------------------------------------------------------


def service_rows(session: so.Session) -> list[dict[str, Any]]:
    """The active categories as Open311 services, in the spec's order of fields."""
    categories = list_categories(session, active_only=True)
    departments = unit_names(session, [c.department_id for c in categories])
    out = []
    for c in categories:
        department = departments.get(c.department_id) if c.department_id is not None else None
        # the name's parts ("排水/下水道") and the English code are the synonyms a client can search by
        keywords = [p.strip() for p in c.name.split("/") if p.strip()] + [c.code]
        out.append({
            "service_code": c.code, "service_name": c.name, "description": c.description or None,
            "metadata": False, "type": "realtime", "keywords": ", ".join(dict.fromkeys(keywords)),
            "group": department.name if department is not None else None,
        })
    return out


def active_category(session: so.Session, code: str) -> CaseCategory:
    category = session.scalars(sa.select(CaseCategory).where(CaseCategory.code == code,
                                                             CaseCategory.active.is_(True))).first()
    if category is None:
        raise Open311Error(404, _("service_code %(code)s was not found.", code=code))
    return category


def service_definition(session: so.Session, code: str) -> dict[str, Any]:
    """A service's definition: no service asks for attributes (every `metadata` is false)."""
    category = active_category(session, code)
    return {"service_code": category.code, "attributes": []}


# --- requests -------------------------------------------------------------------------------------


def _public_cases() -> sa.Select[Any]:
    public = sa.select(CaseCategory.id).where(CaseCategory.public.is_(True))
    return sa.select(GridCase).where(GridCase.category_id.in_(public))


def find_requests(session: so.Session, tenant: Tenant, query: dict[str, Any],
                  now: dt.datetime | None = None) -> list[GridCase]:
    """GET requests: public cases by number (which overrides the rest), or by service codes, status and a
    window of their requested time (the last 90 days by default, at most 90 days), newest first, 1000 at most.
    """
    q = _public_cases()
    numbers = query.get("service_request_id")
    if numbers:
        q = q.where(GridCase.number.in_(sorted({n.upper() for n in numbers})))
    else:
        tz = tenant.timezone
        start, end = query.get("start_date"), query.get("end_date")
        start_at = moment(start, tz) if start is not None else None
        end_at = moment(end, tz, end=True) if end is not None else None
        # a date alone ends at the next midnight, which it does not include; a moment includes itself
        end_included = not (isinstance(end, dt.date) and not isinstance(end, dt.datetime))
        if start_at is None:
            end_at = end_at or now or dt.datetime.now(dt.UTC)
            start_at = end_at - WINDOW
        elif end_at is None:
            end_at = start_at + WINDOW
        if end_at < start_at:
            raise Open311Error(400, _("end_date is before start_date."))
        if end_at - start_at > WINDOW:
            raise Open311Error(400, _("The range from start_date to end_date may not span more than 90 days."))
        q = q.where(GridCase.created_at >= start_at,
                    GridCase.created_at <= end_at if end_included else GridCase.created_at < end_at)
        codes = query.get("service_code")
        if codes:
            q = q.where(GridCase.category_id.in_(sa.select(CaseCategory.id).where(CaseCategory.code.in_(codes))))
        statuses = set(query.get("status") or ())
        if statuses == {"open"}:
            q = q.where(GridCase.state.in_(OPEN_STATES))
        elif statuses == {"closed"}:
            q = q.where(GridCase.state.in_(FINAL_STATES))
    q = q.order_by(GridCase.created_at.desc(), GridCase.id.desc()).limit(MAX_REQUESTS)
    return list(session.scalars(q))


def find_request(session: so.Session, number: str) -> GridCase:
    """One public case by its number; a missing case and a case of a category that is not public look alike."""
    case = session.scalars(_public_cases().where(GridCase.number == number.strip().upper())).first()
    if case is None:
        raise Open311Error(404, _("service_request_id %(id)s was not found.", id=number))
    return case


def find_token(session: so.Session, token: str) -> GridCase:
    case = session.scalars(_public_cases().where(GridCase.token == token)).first() if token else None
    if case is None:
        raise Open311Error(404, _("token %(token)s was not found.", token=token))
    return case


def redact(text: str, names: Iterable[str] = (), phones: Iterable[str] = ()) -> str:
    """The text with what names a person blotted out by the kernel's one rule (`saas.masking`): phones, fixed
    lines, ID numbers and e-mail addresses in their disguises, and the given names and phones (the reporter's)."""
    return mask_personal(text, known=[*phones, *names])


def request_rows(session: so.Session, tenant: Tenant, cases: list[GridCase]) -> list[dict[str, Any]]:
    """Public cases as Open311 service requests, in the spec's order of fields (see the module's docstring)."""
    cats = {c.id: c for c in session.scalars(sa.select(CaseCategory).where(
        CaseCategory.id.in_({c.category_id for c in cases})))} if cases else {}
    units = unit_names(session, [getattr(c, col) for c in cases for col in (
        *ADDRESS_PARTS, "grid_id", "level_unit_id", "department_id")])
    tz = tenant.timezone
    out = []
    for case in cases:
        category = cats[case.category_id]
        names, phones = [case.reporter_name or ""], [case.reporter_phone or ""]
        places = [units[i].name for i in (getattr(case, col) for col in ADDRESS_PARTS) if i in units]
        address = ", ".join(dict.fromkeys(p for p in [redact(case.address or "", names, phones).strip(), *places]
                                          if p)) or None
        address_unit = next((units[i] for i in (case.unit_id, case.building_id, case.compound_id, case.grid_id)
                             if i in units), None)
        holder = units.get(case.department_id) if case.department_id is not None else units.get(case.level_unit_id)
        final = case.state in FINAL_STATES
        media = case.media_url or None
        if media is not None and redact(media, names, phones) != media:
            media = None  # a link that carries someone's number or address is not published
        out.append({
            "service_request_id": case.number,
            "status": "closed" if final else "open",
            "status_notes": str(PUBLIC_STATE_LABELS[case.state]),
            "service_name": category.name,
            "service_code": category.code,
            "description": redact(case.description or "", names, phones) or None,
            "agency_responsible": holder.name if holder is not None else None,
            "service_notice": None,
            "requested_datetime": w3c(case.created_at, tz),
            "updated_datetime": w3c((case.closed_at if final and case.closed_at else None) or case.updated_at, tz),
            "expected_datetime": None if final else w3c(case.deadline_at, tz),
            "address": address,
            "address_id": address_unit.code if address_unit is not None else None,
            "zipcode": None,
            "lat": coarsen(case.lat),  # a neighbourhood, not the reporter's door
            "long": coarsen(case.lng),
            "media_url": media,
        })
    return out


def token_rows(case: GridCase) -> list[dict[str, Any]]:
    return [{"service_request_id": case.number, "token": case.token}]


# --- creating a request ---------------------------------------------------------------------------


def create_request(session: so.Session, tenant: Tenant, actor: Actor, data: dict[str, Any]) -> GridCase:
    """POST requests: a report through `report_case` with source open311. `data` is the checked form
    (see the Open311 schemas); the category must be active and `address_id` a unit where a problem can be.
    """
    active_category(session, data["service_code"])
    unit = None
    if data.get("address_id"):
        unit = session.scalars(sa.select(OrgUnit).where(OrgUnit.code == data["address_id"],
                                                        OrgUnit.kind.in_(ADDRESS_KINDS))).first()
        if unit is None:
            raise Open311Error(400, _("address_id %(id)s is not a grid, compound, building or unit of the district.",
                                      id=data["address_id"]))
    names = [data.get("last_name") or "", data.get("first_name") or ""]
    # 张 + 三 is 张三, the family name first and no space; john + smith is "john smith"
    cjk = all(_is_cjk(n) for n in names if n)
    reporter = "".join(names) if cjk else " ".join(n for n in reversed(names) if n)
    report = {
        "category_code": data["service_code"], "location_id": unit.id if unit is not None else None,
        "address": data.get("address_string") or "", "lat": data.get("lat"), "lng": data.get("long"),
        "description": data.get("description") or "", "reporter_name": reporter,
        "reporter_phone": data.get("phone"), "media_url": data.get("media_url"), "urgency": "normal",
    }
    try:
        return report_case(session, tenant, actor, report, source="open311")
    except Refused as err:
        raise Open311Error(err.status, err.message) from None
    except ServiceError as err:
        raise Open311Error(400, *(f"{FIELD_NAMES.get(k, k)}: {v}" if not k.startswith("_") else str(v)
                                  for k, v in err.errors.items())) from None


def _is_cjk(text: str) -> bool:
    return all("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or ch == "·" for ch in text.strip())


def service_notice(session: so.Session, tenant: Tenant, case: GridCase, when: str | None) -> str:
    """What the reporter can expect next, for the answer to POST requests."""
    holder_id = case.department_id or case.level_unit_id
    holder = session.scalars(sa.select(OrgUnit.name).where(OrgUnit.id == holder_id)).first() or tenant.name_zh
    if when:
        return _("Received as case %(number)s; %(holder)s takes the next step by %(when)s.",
                 number=case.number, holder=holder, when=when)
    return _("Received as case %(number)s.", number=case.number)
