"""A neighbour's emergency report: anyone, without an account, from the grid's contact card (its QR code opens the
grid's report page, which offers "report an emergency for an elderly neighbour").

The neighbour names the resident and where they live; a registered resident of that grid with that name (and
room, when given) gets an emergency through `open_emergency`, the worker's own way: the same urgent notices and
the same escalation after minutes. When nobody on the registry matches, the grid's workers and the community's
cadres are still told at once, on urgent channels, with what the neighbour wrote. The neighbour's phone goes into
the record so that the cadre can call back; the door is rate-limited per address by the kernel's throttle.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _

from blueprints.elderly_visits.models import ElderlyPerson
from blueprints.elderly_visits.services import MODULE, emergency_labels, open_emergency
from saas import audit
from saas.actors import ServiceError
from saas.notify import Recipients, notify
from tenants.models import OrgUnit, RoleGrant, Tenant


def grid_by_code(session: so.Session, code: str) -> OrgUnit | None:
    if not code:
        return None
    return session.scalars(sa.select(OrgUnit).where(OrgUnit.code == code, OrgUnit.kind == "grid")).first()


def report_neighbour_emergency(session: so.Session, tenant: Tenant, data: dict[str, Any]) -> str:
    """Raise what a neighbour reports; returns "emergency" when a registered resident matched, else "told"."""
    grid = grid_by_code(session, data.get("grid", ""))
    if grid is None:
        raise ServiceError({"grid": _("Scan the code on your grid's contact card, or choose your grid.")})
    if data["kind"] == "other" and not data.get("description"):
        raise ServiceError({"description": _("Say what happened.")})
    people = list(session.scalars(sa.select(ElderlyPerson).where(
        ElderlyPerson.grid_id == grid.id, ElderlyPerson.active.is_(True), ElderlyPerson.name == data["name"])))
    if data.get("room"):
        people = [p for p in people if p.room == data["room"]] or people
    kind_label = str(dict(emergency_labels())[data["kind"]])
    description = _("Reported by a neighbour (%(phone)s): %(text)s", phone=data["phone"],
                    text=" ".join(x for x in (data.get("room", ""), data.get("description", "")) if x))
    if len(people) == 1:
        open_emergency(session, tenant, None, people[0], grid, {"kind": data["kind"], "description": description})
        return "emergency"
    staff = list(session.scalars(sa.select(RoleGrant.user_id).where(
        RoleGrant.org_unit_id.in_([u for u in (grid.id, grid.parent_id) if u is not None]),
        RoleGrant.role.in_(("community_cadre", "grid_leader", "grid_worker"))).distinct()))
    if staff:
        notify(session, Recipients(user_ids=tuple(sorted(staff))), "elderly_visits.emergency",
               {"name": data["name"], "kind": kind_label, "place": grid.name, "description": description},
               module=MODULE, tenant=tenant, urgent=True)
    audit.record(session, None, "elderly_visits.neighbour_report", "org_unit", grid.id,
                 after={"kind": data["kind"], "matched": False}, module=MODULE)
    session.flush()
    return "told"
