"""Quick notes (随手记) and claimed compounds (包片).

A quick note is a grid worker's one-line log of the day's work (巡查 patrol, 走访 visit, 宣传 publicity,
服务 service) with an optional photo; it counts in the worker's activity, and one tap turns it into a case
in the note's grid. A community cadre claims one or two compounds of their community: every case located
in a claimed compound reaches that cadre, whatever grid it came from.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from blueprints.grid_cases.models import CasePhoto, CompoundClaim, GridCase, QuickNote
from blueprints.grid_cases.services.base import MODULE, Actor, Refused, ServiceError, settings
from blueprints.grid_cases.services.photos import photo_rows
from saas import audit
from saas.ids import new_id
from saas.pictures import Upload, check_uploads
from saas.schemas import MAX_ID
from tenants.models import OrgUnit, Tenant, User

NOTE_KIND_LABELS = {"patrol": _l("Patrol"), "visit": _l("Home visit"), "publicity": _l("Publicity"),
                    "service": _l("Service")}
MAX_CLAIMS = 2


def _my_grid(session: so.Session, actor: Actor, code: str | None) -> OrgUnit | None:
    if code:
        unit = session.scalars(sa.select(OrgUnit).where(OrgUnit.code == code, OrgUnit.kind == "grid")).first()
        if unit is None:
            raise ServiceError({"grid_code": _("No grid has this code.")})
        if not actor.may("grid_cases.report", unit):
            raise ServiceError({"grid_code": _("You may log notes only in your own grids.")})
        return unit
    grids = [u for u in actor.units("grid_cases.report") if u.kind == "grid"]
    return grids[0] if grids else None


def add_note(session: so.Session, tenant: Tenant, actor: Actor, data: dict[str, Any],
             uploads: Iterable[Upload] = ()) -> QuickNote:
    if actor.user is None or not actor.may("grid_cases.report"):
        raise Refused(_("You may not log quick notes."), 403)
    grid = _my_grid(session, actor, data.get("grid_code"))
    conf = settings(session)
    pictures = check_uploads(uploads, conf["photo_max_mb"] * 1024 * 1024)
    note = QuickNote(id=new_id(), user_id=actor.user.id, grid_id=grid.id if grid else None,
                     kind=data.get("kind") or "patrol", text=data["text"])
    session.add(note)
    session.flush()
    for photo in photo_rows(pictures, stage="note", uploaded_by_id=actor.id, note_id=note.id):
        session.add(photo)
    session.flush()
    return note


def note_query(actor: Actor, filters: dict[str, Any]) -> sa.Select[Any]:
    """Notes newest first: the person's own, or those of the grids they see (`all`)."""
    q = sa.select(QuickNote)
    if filters.get("all"):
        grid_ids = sorted({u.id for u in actor.units("grid_cases.view") if u.kind == "grid"})
        if not any(u.kind != "grid" for u in actor.units("grid_cases.view")):
            q = q.where(sa.or_(QuickNote.user_id == (actor.id or 0), QuickNote.grid_id.in_(grid_ids)))
        else:
            paths = [u.path for u in actor.units("grid_cases.view")]
            q = q.where(sa.or_(QuickNote.user_id == (actor.id or 0), QuickNote.grid_id.in_(
                sa.select(OrgUnit.id).where(sa.or_(*[OrgUnit.path.startswith(p) for p in paths])))))
    else:
        q = q.where(QuickNote.user_id == (actor.id or 0))
    if filters.get("kind"):
        q = q.where(QuickNote.kind == filters["kind"])
    before = filters.get("before")
    if before and 0 < int(before) <= MAX_ID:
        q = q.where(QuickNote.id < int(before))
    return q.order_by(QuickNote.id.desc())


def note_by_id(session: so.Session, actor: Actor, note_id: int) -> QuickNote:
    note = None
    if 0 < note_id <= MAX_ID:
        note = session.scalars(sa.select(QuickNote).where(QuickNote.id == note_id,
                                                          QuickNote.user_id == (actor.id or 0))).first()
    if note is None:
        raise Refused(_("No such note."), 404)
    return note


def promote_note(session: so.Session, tenant: Tenant, actor: Actor, note_id: int, data: dict[str, Any]
                 ) -> GridCase:
    """Turn one's own note into a case in its grid; its photo comes along."""
    from blueprints.grid_cases.services.cases import report_case

    note = note_by_id(session, actor, note_id)
    if note.case_id is not None:
        raise Refused(_("This note is already a case."), 409)
    grid = session.scalars(sa.select(OrgUnit).where(OrgUnit.id == note.grid_id)).first() if note.grid_id else None
    case = report_case(session, tenant, actor, {
        "category_code": data.get("category_code", ""), "urgency": data.get("urgency") or "normal",
        "location_code": data.get("location_code") or (grid.code if grid else None),
        "description": data.get("description") or note.text, "address": data.get("address", ""),
    }, source="note", source_ref=str(note.id))
    for photo in session.scalars(sa.select(CasePhoto).where(CasePhoto.note_id == note.id)):
        copy = CasePhoto(case_id=case.id, stage="report", content_type=photo.content_type, width=photo.width,
                         height=photo.height, size=photo.size, data=photo.data, thumb=photo.thumb,
                         uploaded_by_id=photo.uploaded_by_id)
        session.add(copy)
    note.case_id = case.id
    session.flush()
    return case


def notes_out(session: so.Session, notes: list[QuickNote]) -> list[dict[str, Any]]:
    grids = {u.id: u for u in session.scalars(sa.select(OrgUnit).where(
        OrgUnit.id.in_({n.grid_id for n in notes if n.grid_id})))} if notes else {}
    users = dict(session.execute(sa.select(User.id, User.name).where(User.id.in_({n.user_id for n in notes})))
                 .all()) if notes else {}
    photos: dict[int, list[str]] = {}
    if notes:
        for pid, nid in session.execute(sa.select(CasePhoto.id, CasePhoto.note_id).where(
                CasePhoto.note_id.in_([n.id for n in notes]))):
            photos.setdefault(nid, []).append(str(pid))
    cases = dict(session.execute(sa.select(GridCase.id, GridCase.number).where(
        GridCase.id.in_([n.case_id for n in notes if n.case_id]))).all()) if notes else {}
    return [{"id": str(n.id), "kind": n.kind, "kind_label": str(NOTE_KIND_LABELS[n.kind]), "text": n.text,
             "grid": grids[n.grid_id].name if n.grid_id in grids else "",
             "grid_code": grids[n.grid_id].code if n.grid_id in grids else None,
             "author": users.get(n.user_id, ""), "created_at": n.created_at,
             "case_id": str(n.case_id) if n.case_id else None, "case_number": cases.get(n.case_id),
             "photos": photos.get(n.id, [])} for n in notes]


# --- claimed compounds ---------------------------------------------------------------------------------


def claimable(session: so.Session, actor: Actor) -> list[tuple[OrgUnit, int | None]]:
    """The compounds in the cadre's communities, each with whoever looks after it now."""
    units = actor.units("grid_cases.claim")
    if not units:
        return []
    compounds = list(session.scalars(sa.select(OrgUnit).where(
        OrgUnit.kind == "compound", sa.or_(*[OrgUnit.path.startswith(u.path) for u in units]))
        .order_by(OrgUnit.path).limit(500)))
    holders = dict(session.execute(sa.select(CompoundClaim.compound_id, CompoundClaim.user_id).where(
        CompoundClaim.compound_id.in_([c.id for c in compounds]))).all()) if compounds else {}
    return [(c, holders.get(c.id)) for c in compounds]


def my_claims(session: so.Session, actor: Actor) -> list[CompoundClaim]:
    return list(session.scalars(sa.select(CompoundClaim).where(CompoundClaim.user_id == (actor.id or 0))
                                .order_by(CompoundClaim.created_at)))


def claim_compound(session: so.Session, actor: Actor, compound_code: str) -> CompoundClaim:
    compound = session.scalars(sa.select(OrgUnit).where(OrgUnit.code == compound_code,
                                                        OrgUnit.kind == "compound")).first()
    if compound is None:
        raise ServiceError({"compound_code": _("No compound has this code.")})
    if actor.user is None or not actor.may("grid_cases.claim", compound):
        raise Refused(_("You may look after compounds of your own community only."), 403)
    holder = session.scalars(sa.select(CompoundClaim).where(CompoundClaim.compound_id == compound.id)).first()
    if holder is not None:
        if holder.user_id == actor.user.id:
            return holder
        name = session.scalars(sa.select(User.name).where(User.id == holder.user_id)).first() or ""
        raise ServiceError({"compound_code": _("%(name)s already looks after this compound.", name=name)})
    if len(my_claims(session, actor)) >= MAX_CLAIMS:
        raise ServiceError({"compound_code": _("A cadre looks after at most %(n)s compounds; release one first.",
                                               n=MAX_CLAIMS)})
    claim = CompoundClaim(id=new_id(), user_id=actor.user.id, compound_id=compound.id)
    session.add(claim)
    try:
        session.flush()
    except sa.exc.IntegrityError:
        session.rollback()
        raise ServiceError({"compound_code": _("Someone else claimed this compound a moment ago.")}) from None
    audit.record(session, actor.user, "grid_cases.claim.add", "grid_cases_claim", claim.id,
                 after={"compound": compound.code}, module=MODULE)
    return claim


def release_compound(session: so.Session, actor: Actor, claim_id: int) -> None:
    claim = None
    if 0 < claim_id <= MAX_ID:
        claim = session.scalars(sa.select(CompoundClaim).where(CompoundClaim.id == claim_id,
                                                               CompoundClaim.user_id == (actor.id or 0))).first()
    if claim is None:
        raise Refused(_("No such claim."), 404)
    code = session.scalars(sa.select(OrgUnit.code).where(OrgUnit.id == claim.compound_id)).first()
    audit.record(session, actor.user, "grid_cases.claim.release", "grid_cases_claim", claim.id,
                 before={"compound": code}, module=MODULE)
    session.delete(claim)
    session.flush()
