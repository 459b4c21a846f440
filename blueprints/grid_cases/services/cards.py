"""The contact card (便民服务连心卡) of each grid: what it says, who may make it, and its QR code.

A card names the grid with its community and street, the grid's leaders and workers with their phones (from
the role grants on the grid itself, so the card follows the staff list without anyone retyping it), and what
the community adds by hand (`ContactCard`): the community police officer, the community doctor, the community
hotline and a line of note. Its QR code opens the grid's public report form; the caller gives that URL, since
only the request knows the host residents reach (see `views/cards.py`).

Who: the people holding `grid_cases.cards` on the grid's subtree see, edit and print its card (a community
cadre the grids of their community, the district admin all of them). A grid outside their area is the same
404 as a grid that does not exist. A card is printed with the phones in full (publishing them is its purpose);
the list of grids shows them masked, as every list of staff does.

Lists load what they show in a fixed number of queries whatever the page's size: the grids, their ancestors,
their cards, and their staff.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _

from blueprints.grid_cases.models import ContactCard
from blueprints.grid_cases.services.base import MODULE, Actor, Refused
from saas import audit
from saas.ids import new_id
from saas.qr import public_url
from saas.schemas import MAX_ID, mask_phone
from tenants.models import OrgUnit, RoleGrant, User

PERMISSION = "grid_cases.cards"
EDITABLE = ("police_name", "police_phone", "doctor_name", "doctor_phone", "hotline", "note")
# the roles a card lists, in the order it lists them
STAFF_ROLES = ("grid_leader", "grid_worker")
PAGE_SIZE = 50
# a community's sheet: more grids than this in one community is a tree to fix, not a sheet to print
MAX_SHEET = 200

__all__ = [
    "EDITABLE",
    "MAX_SHEET",
    "PAGE_SIZE",
    "PERMISSION",
    "Card",
    "CardPerson",
    "communities_in_area",
    "community_cards",
    "get_card",
    "grid_page",
    "preview_card",
    "save_card",
]


@dataclasses.dataclass(frozen=True)
class CardPerson:
    name: str
    phone: str
    role: str

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)


@dataclasses.dataclass(frozen=True)
class Card:
    """A grid's card as it is printed: the grid, where it is, its staff and the community's contacts."""

    grid: OrgUnit
    community: OrgUnit | None
    street: OrgUnit | None
    leaders: tuple[CardPerson, ...]
    workers: tuple[CardPerson, ...]
    police_name: str = ""
    police_phone: str = ""
    doctor_name: str = ""
    doctor_phone: str = ""
    hotline: str = ""
    note: str = ""
    updated_at: dt.datetime | None = None

    @property
    def saved(self) -> bool:
        return self.updated_at is not None

    @property
    def version(self) -> int:
        """What an edit carries back: the last save's time in microseconds, 0 before the first save."""
        return version_of(self.updated_at)

    @property
    def complete(self) -> bool:
        return bool((self.police_name or self.police_phone) and (self.doctor_name or self.doctor_phone)
                    and self.hotline)

    def fields(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in EDITABLE}


def _area(actor: Actor) -> list[OrgUnit]:
    return actor.units(PERMISSION) if actor.user is not None else []


def _in_area(query: sa.Select[Any], units: Sequence[OrgUnit]) -> sa.Select[Any]:
    paths = sorted({u.path for u in units})
    # a unit inside another one adds nothing: the district admin's one prefix covers every cadre's
    paths = [p for p in paths if not any(p != q and p.startswith(q) for q in paths)]
    return query.where(sa.or_(*[OrgUnit.path.startswith(p, autoescape=True) for p in paths]))


def _grid(session: so.Session, actor: Actor, grid_id: int) -> OrgUnit:
    """The grid, if it is in the person's area; one 404 for missing, not a grid, and someone else's."""
    units = _area(actor)
    grid = None
    if units and 0 < grid_id <= MAX_ID:
        grid = session.scalars(sa.select(OrgUnit).where(OrgUnit.id == grid_id, OrgUnit.kind == "grid")).first()
    if grid is None or not actor.may(PERMISSION, grid):
        raise Refused(_("No such grid, or it is not in your area."), 404)
    return grid


def _ancestors(session: so.Session, grids: Iterable[OrgUnit]) -> dict[int, OrgUnit]:
    ids = {int(part) for g in grids for part in g.path.strip("/").split("/")[:-1] if part.isdigit()}
    if not ids:
        return {}
    return {u.id: u for u in session.scalars(sa.select(OrgUnit).where(OrgUnit.id.in_(ids)))}


def _staff(session: so.Session, grid_ids: list[int]) -> dict[int, list[tuple[str, User]]]:
    """(role, person) of each grid's leaders and workers, in the order they were appointed."""
    out: dict[int, list[tuple[str, User]]] = {}
    if not grid_ids:
        return out
    rows = session.execute(
        sa.select(RoleGrant.org_unit_id, RoleGrant.role, User)
        .join(User, sa.and_(User.tenant_id == RoleGrant.tenant_id, User.id == RoleGrant.user_id))
        .where(RoleGrant.org_unit_id.in_(grid_ids), RoleGrant.role.in_(STAFF_ROLES), User.active.is_(True),
               User.kind == "staff")
        .order_by(RoleGrant.id))
    for unit_id, role, user in rows:
        out.setdefault(unit_id, []).append((role, user))
    return out


def version_of(saved_at: dt.datetime | None) -> int:
    if saved_at is None:
        return 0
    if saved_at.tzinfo is None:
        saved_at = saved_at.replace(tzinfo=dt.UTC)
    return int(saved_at.timestamp()) * 1_000_000 + saved_at.microsecond


def cards_for(session: so.Session, grids: Sequence[OrgUnit]) -> list[Card]:
    """The cards of these grids, in their order, in four queries whatever their number."""
    if not grids:
        return []
    ids = [g.id for g in grids]
    ancestors = _ancestors(session, grids)
    saved = {c.grid_id: c for c in session.scalars(sa.select(ContactCard).where(ContactCard.grid_id.in_(ids)))}
    staff = _staff(session, ids)
    cards = []
    for grid in grids:
        community = ancestors.get(grid.parent_id) if grid.parent_id else None
        street = ancestors.get(community.parent_id) if community is not None and community.parent_id else None
        people: dict[str, list[CardPerson]] = {role: [] for role in STAFF_ROLES}
        seen: set[int] = set()
        # a leader who is also a worker of the grid is listed once, as its leader
        for role in STAFF_ROLES:
            for grant_role, user in staff.get(grid.id, []):
                if grant_role == role and user.id not in seen:
                    seen.add(user.id)
                    people[role].append(CardPerson(user.name, user.phone or "", role))
        row = saved.get(grid.id)
        values = {k: getattr(row, k) or "" for k in EDITABLE} if row is not None else {}
        cards.append(Card(grid=grid, community=community if community and community.kind == "community" else None,
                          street=street if street and street.kind == "street" else None,
                          leaders=tuple(people["grid_leader"]), workers=tuple(people["grid_worker"]),
                          updated_at=row.updated_at if row is not None else None, **values))
    return cards


def get_card(session: so.Session, actor: Actor, grid_id: int) -> Card:
    return cards_for(session, [_grid(session, actor, grid_id)])[0]


def preview_card(card: Card, data: dict[str, Any]) -> Card:
    """The card as it would print with these (validated) values, nothing saved."""
    return dataclasses.replace(card, **{k: data.get(k, "") or "" for k in EDITABLE})


def save_card(session: so.Session, actor: Actor, grid_id: int, data: dict[str, Any]) -> Card:
    """Save a grid's editable fields (validated by `CardIn`), audited; a save that changes nothing writes nothing.

    `data["version"]`, when given, is the card's version as the editor read it: if someone saved the card since,
    the save is refused (409) and changes nothing. Without it the last save wins."""
    grid = _grid(session, actor, grid_id)
    # locked until the transaction ends, so two saves of one card are checked one after the other
    row = session.scalars(sa.select(ContactCard).where(ContactCard.grid_id == grid.id).with_for_update()).first()
    seen = data.get("version")
    if seen is not None and seen != version_of(row.updated_at if row is not None else None):
        raise Refused(_("Someone else saved this card a moment ago; reload it and try again."), 409)
    after = {k: data.get(k, "") or "" for k in EDITABLE}
    before = {k: getattr(row, k) or "" for k in EDITABLE} if row is not None else None
    if before == after or (before is None and not any(after.values())):
        return get_card(session, actor, grid.id)
    if row is None:
        row = ContactCard(id=new_id(), grid_id=grid.id)
        session.add(row)
    for key, value in after.items():
        setattr(row, key, value)
    try:
        session.flush()
    except sa.exc.IntegrityError:
        # the first save of this grid's card by two people at once: the other one's is kept
        session.rollback()
        raise Refused(_("Someone else saved this card a moment ago; reload it and try again."), 409) from None
    changed = {k for k in EDITABLE if (before or {}).get(k, "") != after[k]}
    audit.record(session, actor.user, "grid_cases.card.update", "grid_cases_card", row.id,
                 before={"grid": grid.code, **{k: before[k] for k in changed}} if before is not None else None,
                 after={"grid": grid.code, **{k: after[k] for k in changed}}, module=MODULE)
    session.flush()
    return get_card(session, actor, grid.id)


# --- lists -------------------------------------------------------------------------------------------


def communities_in_area(session: so.Session, actor: Actor) -> list[tuple[OrgUnit, OrgUnit | None]]:
    """(community, street) of the person's area, in the tree's order: the choices of the list's filter."""
    units = _area(actor)
    if not units:
        return []
    communities = list(session.scalars(_in_area(sa.select(OrgUnit).where(OrgUnit.kind == "community"), units)
                                       .order_by(OrgUnit.path).limit(2000)))
    streets = {u.id: u for u in session.scalars(sa.select(OrgUnit).where(
        OrgUnit.id.in_({c.parent_id for c in communities if c.parent_id})))} if communities else {}
    return [(c, streets.get(c.parent_id) if c.parent_id else None) for c in communities]


def _todo() -> sa.ColumnElement[bool]:
    """No card yet, or one without the police officer, the doctor or the hotline (as `Card.complete`)."""
    filled = sa.select(ContactCard.grid_id).where(
        sa.or_(ContactCard.police_name != "", ContactCard.police_phone != ""),
        sa.or_(ContactCard.doctor_name != "", ContactCard.doctor_phone != ""),
        ContactCard.hotline != "")
    return OrgUnit.id.not_in(filled.scalar_subquery())


def grid_page(session: so.Session, actor: Actor, filters: dict[str, Any], limit: int = PAGE_SIZE
              ) -> tuple[list[Card], str | None, dict[str, list[str]]]:
    """A page of the grids in the person's area with their cards, in the tree's order (so grouped by community
    and street); keyset pages on the grid's path. Returns the cards, the cursor of the next page and field errors."""
    units = _area(actor)
    if not units:
        return [], None, {}
    q = _in_area(sa.select(OrgUnit).where(OrgUnit.kind == "grid"), units)
    if filters.get("community"):
        community = session.scalars(sa.select(OrgUnit).where(OrgUnit.code == filters["community"],
                                                             OrgUnit.kind == "community")).first()
        if community is None or (not actor.may(PERMISSION, community) and not any(
                u.path.startswith(community.path) for u in units)):
            return [], None, {"community": [_("No such community in your area.")]}
        q = q.where(OrgUnit.parent_id == community.id)
    if filters.get("q"):
        words = filters["q"]
        q = q.where(sa.or_(OrgUnit.name.contains(words, autoescape=True), OrgUnit.code.contains(words,
                                                                                               autoescape=True)))
    if filters.get("todo"):
        q = q.where(_todo())
    after = filters.get("after")
    if after:
        cursor = session.scalars(sa.select(OrgUnit.path).where(OrgUnit.id == after, OrgUnit.kind == "grid")).first()
        if cursor is not None:
            q = q.where(OrgUnit.path > cursor)
    grids = list(session.scalars(q.order_by(OrgUnit.path).limit(limit + 1)))
    more = len(grids) > limit
    grids = grids[:limit]
    return cards_for(session, grids), (str(grids[-1].id) if more and grids else None), {}


def community_cards(session: so.Session, actor: Actor, community_id: int) -> tuple[OrgUnit, list[Card], bool]:
    """A community's grids in the person's area, for one sheet: the community, the cards, and whether some were
    left off (more than `MAX_SHEET`)."""
    units = _area(actor)
    community = None
    if units and 0 < community_id <= MAX_ID:
        community = session.scalars(sa.select(OrgUnit).where(OrgUnit.id == community_id,
                                                             OrgUnit.kind == "community")).first()
    grids: list[OrgUnit] = []
    if community is not None:
        grids = list(session.scalars(_in_area(sa.select(OrgUnit).where(
            OrgUnit.kind == "grid", OrgUnit.parent_id == community.id), units).order_by(OrgUnit.path)
            .limit(MAX_SHEET + 1)))
    if community is None or not grids:
        raise Refused(_("No such community, or it is not in your area."), 404)
    return community, cards_for(session, grids[:MAX_SHEET]), len(grids) > MAX_SHEET


def report_url(grid: OrgUnit) -> str:
    """What the card's QR code opens: the grid's public report form, as a resident's phone reaches it."""
    return public_url("grid_cases.report", grid=grid.code)
