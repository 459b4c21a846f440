"""The public page for a neighbour's emergency report (no account; rate-limited per address by the kernel)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask import g, request

from blueprints.elderly_visits.models import EMERGENCY_KINDS
from blueprints.elderly_visits.neighbours import grid_by_code, report_neighbour_emergency
from blueprints.elderly_visits.services import emergency_labels
from blueprints.elderly_visits.views import bp
from saas import db, throttle
from saas.actors import ServiceError
from saas.rendering import render
from saas.schemas import Phone, Schema, Text, load_form
from tenants.models import OrgUnit


class NeighbourEmergencyIn(Schema):
    grid = Text(required=True, max_length=64)
    name = Text(required=True, min_length=1, max_length=40)
    room = Text(load_default="", max_length=40)
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(EMERGENCY_KINDS))
    description = Text(load_default="", max_length=500)
    phone = Phone(required=True)


@bp.route("/neighbour", methods=["GET", "POST"])
@throttle.address_limits
def neighbour_emergency() -> Any:
    """Report an emergency for an elderly neighbour (the grid comes from the contact card's QR code)."""
    form: dict[str, Any] = {"grid": (request.values.get("grid") or "")[:64]}
    errors: dict[str, Any] = {}
    outcome = None
    if request.method == "POST":
        form = {k: v for k, v in request.form.items() if k != "csrf_token"}
        data, errors = load_form(NeighbourEmergencyIn(), form)
        if data is not None:
            try:
                outcome = report_neighbour_emergency(db.session(), g.tenant, data)
            except ServiceError as err:
                db.session.rollback()
                errors = {k: [str(v)] for k, v in err.errors.items()}
            else:
                db.session.commit()
    grid = grid_by_code(db.session(), form.get("grid", ""))
    grids = [] if grid is not None else list(db.session().scalars(
        sa.select(OrgUnit).where(OrgUnit.kind == "grid").order_by(OrgUnit.path).limit(2000)))
    return render("elderly_visits/neighbour.html", form=form, errors=errors, grid=grid, grids=grids, outcome=outcome,
                  emergency_labels=emergency_labels(), status=422 if errors else 200)
