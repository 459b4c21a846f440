"""Common problems (共性问题): open cases of one category in one compound or building, handled as one.

When a report brings the open, unlinked cases of its category in its compound within the module's window
(`common_problem_window_days`) up to the threshold (`common_problem_threshold`), the compound's community
cadres and the cadre who looks after it (包片) are offered to link them. Linking makes a common problem;
resolving it resolves every linked case that is still open, with the same result, and tells each reporter.
The linked cases then go on as any other: verification on site, closing, rating.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _

from blueprints.grid_cases.models import CaseCategory, CommonProblem, CompoundClaim, GridCase
from blueprints.grid_cases.services import deadlines
from blueprints.grid_cases.services.base import (
    MODULE,
    Actor,
    Refused,
    ServiceError,
    calendar,
    people_with,
    settings,
)
from blueprints.grid_cases.services.photos import photo_rows
from saas import audit
from saas.db import utcnow
from saas.ids import new_id
from saas.notify import Recipients, notify
from saas.pictures import Upload, check_uploads
from saas.schemas import MAX_ID
from tenants.models import OrgUnit, Tenant

# the states a case may be in when it is linked, and when its common problem resolves it
LINKABLE = ("reported", "escalated", "accepted", "dispatched", "in_progress", "extension_requested")


def _open_in(place: OrgUnit, category_id: int, since: dt.datetime) -> sa.Select[Any]:
    column = GridCase.building_id if place.kind == "building" else GridCase.compound_id
    return sa.select(GridCase).where(column == place.id, GridCase.category_id == category_id,
                                     GridCase.state.in_(LINKABLE), GridCase.common_problem_id.is_(None),
                                     GridCase.created_at >= since)


def offer_common_problem(session: so.Session, tenant: Tenant, actor: Actor, case: GridCase,
                         conf: dict[str, Any] | None = None) -> bool:
    """After a report: when its compound's open cases of its category just reached the threshold, offer to link."""
    if case.compound_id is None:
        return False
    conf = conf or settings(session)
    since = utcnow() - dt.timedelta(days=conf["common_problem_window_days"])
    compound = session.scalars(sa.select(OrgUnit).where(OrgUnit.id == case.compound_id)).one()
    count = session.scalar(sa.select(sa.func.count()).select_from(
        _open_in(compound, case.category_id, since).subquery())) or 0
    if count != conf["common_problem_threshold"]:
        return False
    enabled = set(actor.enabled)
    people = set(people_with(session, actor.book, enabled, "grid_cases.common",
                             [case.community_id] if case.community_id else []))
    holder = session.scalars(sa.select(CompoundClaim.user_id).where(CompoundClaim.compound_id == compound.id)).first()
    if holder is not None:
        people.add(holder)
    category = session.scalars(sa.select(CaseCategory.name).where(CaseCategory.id == case.category_id)).one()
    if people:
        notify(session, Recipients(user_ids=tuple(sorted(people))), "grid_cases.common_suggested",
               {"count": count, "category": category, "place": compound.name},
               url=f"/t/{tenant.slug}/grid_cases/common", module=MODULE, tenant=tenant,
               event_key=f"common:{compound.id}:{case.category_id}:{case.id}")
    return True


def suggestions(session: so.Session, actor: Actor, conf: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Groups of open, unlinked cases of one category in one compound (and in one building) at or above the
    threshold, in the places where the actor may link common problems."""
    conf = conf or settings(session)
    since = utcnow() - dt.timedelta(days=conf["common_problem_window_days"])
    threshold = conf["common_problem_threshold"]
    units = actor.units("grid_cases.common")
    if not units:
        return []
    out = []
    for column in (GridCase.compound_id, GridCase.building_id):
        rows = session.execute(
            sa.select(column, GridCase.category_id, sa.func.count(), sa.func.min(GridCase.created_at))
            .where(column.is_not(None), GridCase.state.in_(LINKABLE), GridCase.common_problem_id.is_(None),
                   GridCase.created_at >= since)
            .group_by(column, GridCase.category_id).having(sa.func.count() >= threshold)
            .order_by(sa.func.count().desc()).limit(200)).all()
        if not rows:
            continue
        places = {u.id: u for u in session.scalars(sa.select(OrgUnit).where(OrgUnit.id.in_({r[0] for r in rows})))}
        cats = {c.id: c for c in session.scalars(sa.select(CaseCategory).where(
            CaseCategory.id.in_({r[1] for r in rows})))}
        # the offered cases themselves, newest first, for every group at once
        offered: dict[tuple[int, int], list[dict[str, str]]] = {}
        for case_id, number, place_id, category_id in session.execute(
                sa.select(GridCase.id, GridCase.number, column, GridCase.category_id)
                .where(column.in_({r[0] for r in rows}), GridCase.category_id.in_({r[1] for r in rows}),
                       GridCase.state.in_(LINKABLE), GridCase.common_problem_id.is_(None),
                       GridCase.created_at >= since)
                .order_by(GridCase.id.desc())):
            offered.setdefault((place_id, category_id), []).append({"id": str(case_id), "number": number})
        for place_id, category_id, count, first in rows:
            place = places.get(place_id)
            if place is None or not actor.may("grid_cases.common", place):
                continue
            out.append({"place_id": str(place.id), "place": place.name, "place_kind": place.kind,
                        "place_code": place.code, "category_id": str(category_id),
                        "category_code": cats[category_id].code, "category": cats[category_id].name,
                        "count": count, "since": first, "cases": offered.get((place_id, category_id), [])})
    return out


def problem_by_id(session: so.Session, actor: Actor, problem_id: int) -> CommonProblem:
    problem = None
    if 0 < problem_id <= MAX_ID:
        problem = session.scalars(sa.select(CommonProblem).where(CommonProblem.id == problem_id)).first()
    if problem is not None:
        place = session.scalars(sa.select(OrgUnit).where(OrgUnit.id == problem.place_id)).first()
        if place is not None and (actor.may("grid_cases.common", place) or actor.may("grid_cases.view", place)):
            return problem
    raise Refused(_("No such common problem, or it is not in your area."), 404)


def list_problems(session: so.Session, actor: Actor, limit: int = 100) -> list[CommonProblem]:
    problems = list(session.scalars(sa.select(CommonProblem).order_by(CommonProblem.id.desc()).limit(limit * 3)))
    places = {u.id: u for u in session.scalars(sa.select(OrgUnit).where(
        OrgUnit.id.in_({p.place_id for p in problems})))} if problems else {}
    return [p for p in problems if p.place_id in places and (
        actor.may("grid_cases.common", places[p.place_id]) or actor.may("grid_cases.view", places[p.place_id]))
    ][:limit]


def link_common(session: so.Session, tenant: Tenant, actor: Actor, *, place_code: str, category_code: str,
                title: str = "", case_ids: Iterable[int] | None = None) -> CommonProblem:
    """Link the open cases of a category in a compound or building (all of them, or those named) as one problem."""
    place = session.scalars(sa.select(OrgUnit).where(OrgUnit.code == place_code,
                                                     OrgUnit.kind.in_(("compound", "building")))).first()
    if place is None:
        raise ServiceError({"place_code": _("No compound or building has this code.")})
    if not actor.may("grid_cases.common", place):
        raise Refused(_("You may link common problems only in your own area."), 403)
    category = session.scalars(sa.select(CaseCategory).where(CaseCategory.code == category_code)).first()
    if category is None:
        raise ServiceError({"category_code": _("Choose one of the district's categories.")})
    conf = settings(session)
    since = utcnow() - dt.timedelta(days=conf["common_problem_window_days"])
    q = _open_in(place, category.id, since)
    wanted = {int(i) for i in case_ids} if case_ids is not None else None
    if wanted is not None:
        q = q.where(GridCase.id.in_(sorted(wanted)))
    cases = list(session.scalars(q.order_by(GridCase.id)))
    if wanted is not None and len(cases) != len(wanted):
        raise ServiceError({"case_ids": _("Some of these cases are not open cases of this category and place.")})
    if len(cases) < 2:
        raise ServiceError({"_form": _("A common problem links at least two open cases.")})
    problem = CommonProblem(id=new_id(), title=title or f"{place.name} · {category.name}", category_id=category.id,
                            place_id=place.id, created_by_id=actor.id)
    session.add(problem)
    session.flush()
    from blueprints.grid_cases.services.cases import _acting_role, _event

    for case in cases:
        case.common_problem_id = problem.id
        _event(session, case, actor, "link_common", case.state, case.state, problem.title, public=False,
               role=_acting_role(actor, case), data={"common_problem_id": str(problem.id)})
    audit.record(session, actor.user, "grid_cases.common.link", "grid_cases_common_problem", problem.id,
                 after={"place": place.code, "category": category.code, "cases": [c.number for c in cases]},
                 module=MODULE)
    session.flush()
    return problem


def problem_cases(session: so.Session, problem: CommonProblem) -> list[GridCase]:
    return list(session.scalars(sa.select(GridCase).where(GridCase.common_problem_id == problem.id)
                                .order_by(GridCase.id)))


def resolve_common(session: so.Session, tenant: Tenant, actor: Actor, problem_id: int, result: str,
                   uploads: Iterable[Upload] = ()) -> tuple[CommonProblem, list[GridCase]]:
    """Resolve the problem: every linked case still open is resolved with its result, and its reporter told."""
    from blueprints.grid_cases.services.cases import _acting_role, _event, _notify_people, _notify_resident

    problem = problem_by_id(session, actor, problem_id)
    place = session.scalars(sa.select(OrgUnit).where(OrgUnit.id == problem.place_id)).one()
    if not actor.may("grid_cases.common", place):
        raise Refused(_("You may resolve common problems only in your own area."), 403)
    if problem.state != "open":
        raise Refused(_("This common problem is already resolved."), 409)
    result = (result or "").strip()
    if not result:
        raise ServiceError({"result": _("Say what was done.")})
    conf = settings(session)
    pictures = check_uploads(uploads, conf["photo_max_mb"] * 1024 * 1024)
    cal = calendar(session, tenant)
    now = utcnow()
    problem.state, problem.result, problem.resolved_at = "resolved", result, now
    resolved = []
    enabled = set(actor.enabled)
    for case in problem_cases(session, problem):
        if case.state not in LINKABLE:
            continue
        before = case.state
        case.state = "resolved"
        case.result = result
        case.resolved_at = now
        case.resolved_on_time = case.resolve_by is None or now <= case.resolve_by
        case.deadline_at = deadlines.step_deadline(cal, conf, case.urgency, "verify", now)
        case.reminded_at = case.supervised_at = None
        event = _event(session, case, actor, "resolve_common", before, "resolved", result, public=True,
                       role=_acting_role(actor, case), data={"common_problem_id": str(problem.id)})
        session.flush()
        for photo in photo_rows(pictures, stage="result", uploaded_by_id=actor.id, case_id=case.id,
                                event_id=event.id):
            session.add(photo)
        verifiers = people_with(session, actor.book, enabled, "grid_cases.verify" if case.grid_id else
                                "grid_cases.accept", [case.grid_id or case.level_unit_id])
        _notify_people(session, tenant, actor, case, "grid_cases.to_verify", verifiers, enabled, note=result)
        _notify_resident(session, tenant, actor, case, "resolved", result, enabled)
        resolved.append(case)
    audit.record(session, actor.user, "grid_cases.common.resolve", "grid_cases_common_problem", problem.id,
                 after={"result": result, "cases": [c.number for c in resolved]}, module=MODULE)
    session.flush()
    return problem, resolved
