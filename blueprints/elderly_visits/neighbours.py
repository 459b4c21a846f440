"""A neighbour's emergency report, from the grid's contact card (its QR code opens the grid's report page, which
offers "report an emergency for an elderly neighbour").

The neighbour proves their phone with the kernel's phone code (the residents' sign-in) and names the resident and
where they live. A registered resident of that grid with that name (and room, when given) gets an emergency
through `open_emergency`, the worker's own way: the same urgent notices and the same escalation after minutes.
When nobody on the registry matches, or several do, the report is an emergency all the same, of the grid and
without a resident: the grid's workers and the community's cadres hear at once with what the neighbour wrote, a
cadre links the resident (one of the candidates, or one found in the grid), and until then it is taken on and
escalated like any other. The neighbour's phone is kept on the record for the call back, read in full only by
those who may read residents' contacts, and masked in notices and the audit log.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _

from blueprints.elderly_visits.models import ElderlyPerson, Emergency
from blueprints.elderly_visits.services import open_emergency
from saas.actors import Actor, ServiceError
from tenants.models import OrgUnit, Tenant


def grid_by_code(session: so.Session, code: str) -> OrgUnit | None:
    if not code:
        return None
    return session.scalars(sa.select(OrgUnit).where(OrgUnit.code == code, OrgUnit.kind == "grid")).first()


def neighbour_report_errors(session: so.Session, data: dict[str, Any]) -> dict[str, str]:
    """What is wrong with a report before anything is done (the door asks before it spends the phone's code)."""
    errors: dict[str, str] = {}
    if grid_by_code(session, data.get("grid", "")) is None:
        errors["grid"] = _("Scan the code on your grid's contact card, or choose your grid.")
    if not (data.get("name") or "").strip():
        errors["name"] = _("Write the neighbour's name.")
    if data.get("kind") == "other" and not data.get("description"):
        errors["description"] = _("Say what happened.")
    return errors


def report_neighbour_emergency(session: so.Session, tenant: Tenant, data: dict[str, Any],
                               reporter: Actor | None = None) -> Emergency:
    """Raise what a neighbour reports (their phone in `data["phone"]`, verified by the door); the emergency is the
    resident's when exactly one registered resident matches, else the grid's, with the candidates."""
    errors = neighbour_report_errors(session, data)
    if errors:
        raise ServiceError(errors)
    grid = grid_by_code(session, data.get("grid", ""))
    if grid is None:  # checked above; read again for the type
        raise ServiceError({"grid": _("Scan the code on your grid's contact card, or choose your grid.")})
    name = data["name"].strip()
    people = list(session.scalars(sa.select(ElderlyPerson).where(
        ElderlyPerson.grid_id == grid.id, ElderlyPerson.active.is_(True), ElderlyPerson.name == name)
        .order_by(ElderlyPerson.id)))
    if data.get("room"):
        people = [p for p in people if p.room == data["room"]] or people
    person = people[0] if len(people) == 1 else None
    return open_emergency(session, tenant, reporter, person, grid,
                          {"kind": data["kind"], "description": data.get("description", "")},
                          source="neighbour", reporter_phone=data["phone"], reported_name=name,
                          reported_place=data.get("room", ""),
                          candidates=[p.id for p in people] if len(people) > 1 else ())
