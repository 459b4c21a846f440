"""Contact cards (便民服务连心卡): a grid's card as JSON, read and saved by the people who make the cards."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from blueprints.grid_cases.api import blp
from blueprints.grid_cases.schemas import CardIn, CardOut
from blueprints.grid_cases.services import cards as card_services
from blueprints.grid_cases.services.cards import PERMISSION, Card, report_url
from blueprints.grid_cases.web import actor, answering
from saas import db
from saas.auth import require
from tenants.models import OrgUnit


def _unit(unit: OrgUnit | None) -> dict[str, Any] | None:
    return {"id": str(unit.id), "code": unit.code, "name": unit.name} if unit is not None else None


def card_out(card: Card) -> dict[str, Any]:
    return {
        "grid": _unit(card.grid), "community": _unit(card.community), "street": _unit(card.street),
        "leaders": [{"name": p.name, "phone": p.phone, "role": p.role} for p in card.leaders],
        "workers": [{"name": p.name, "phone": p.phone, "role": p.role} for p in card.workers],
        **card.fields(), "complete": card.complete, "report_url": report_url(card.grid), "updated_at": card.updated_at,
        "version": card.version,
    }


@blp.route("/cards/<int:grid_id>")
class ContactCardById(MethodView):
    @blp.response(200, CardOut)
    @require(PERMISSION)
    def get(self, grid_id: int) -> dict[str, Any]:
        """A grid's contact card as it prints (phones in full); 404 for a grid outside my area"""
        with answering(commit=False):
            card = card_services.get_card(db.session(), actor(), grid_id)
        return card_out(card)

    @blp.arguments(CardIn)
    @blp.response(200, CardOut)
    @blp.alt_response(409, response="CONFLICT")
    @require(PERMISSION)
    def put(self, data: dict[str, Any], grid_id: int) -> dict[str, Any]:
        """Save the card's police officer, doctor, hotline and note (a field left out is emptied); 409 when
        the `version` sent is not the card's any more, or someone else saved the grid's first card at the same
        moment"""
        with answering():
            card = card_services.save_card(db.session(), actor(), grid_id, data)
        return card_out(card)
