"""万人助万企: cadres assigned to enterprises one to one, visits logged on a phone, what they found (each problem
or request a feedback item routed like any other, through `items.submit_item`) and what came of them, with
figures (loans arranged in yuan, workers recruited, approvals unblocked); the enterprises not visited within
the district's interval (`visit_interval_days`).

A cadre (the module's role `enterprise_cadre`, permission `business_feedback.visit`) sees and visits the
enterprises assigned to them; the office (`business_feedback.enterprises`) assigns cadres, sees every
enterprise's visits and the list of those overdue for a visit, and may log a visit on a cadre's behalf.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _

from blueprints.business_feedback.models import Enterprise, EnterpriseCadre, FeedbackItem, Visit
from blueprints.business_feedback.services.base import (
    MODULE,
    Actor,
    Refused,
    ServiceError,
    not_found,
    people_with,
    settings,
    today,
)
from blueprints.business_feedback.services.enterprises import get_enterprise
from blueprints.business_feedback.services.items import STATE_LABELS, submit_item
from saas import audit
from saas.db import utcnow
from saas.ids import new_id
from tenants.models import Tenant, User

EARLIEST_DAYS = 366  # a visit is logged within a year of the day it took place


def is_office(actor: Actor) -> bool:
    return actor.may("business_feedback.enterprises")


def cadre_of(session: so.Session, enterprise_id: int) -> EnterpriseCadre | None:
    return session.scalars(sa.select(EnterpriseCadre).where(EnterpriseCadre.enterprise_id == enterprise_id)).first()


def visible_enterprise(session: so.Session, actor: Actor, enterprise_id: int) -> Enterprise:
    """The enterprise, for the office or its own cadre; anyone else (and another district's) gets a 404."""
    enterprise = get_enterprise(session, enterprise_id)
    if is_office(actor):
        return enterprise
    cadre = cadre_of(session, enterprise.id)
    if cadre is None or actor.id is None or cadre.user_id != actor.id or not actor.may("business_feedback.visit"):
        raise not_found("enterprise")
    return enterprise


def assign_cadre(session: so.Session, tenant: Tenant, actor: Actor, enterprise_id: int,
                 data: dict[str, Any]) -> EnterpriseCadre:
    """The office names the enterprise's cadre: an active person of the district holding the cadre's role."""
    if not is_office(actor):
        raise Refused(_("Only the business-environment office assigns cadres to enterprises."), 403)
    enterprise = get_enterprise(session, enterprise_id)
    user_id = int(data["user_id"])
    if user_id not in people_with(session, actor.book, actor.enabled, "business_feedback.visit") or not \
            session.scalars(sa.select(User.id).where(User.id == user_id)).first():
        raise ServiceError({"user_id": _("Choose a person of this district who holds the enterprise cadre role.")})
    row = cadre_of(session, enterprise.id)
    before = row.user_id if row is not None else None
    if row is None:
        row = EnterpriseCadre(id=new_id(), enterprise_id=enterprise.id, user_id=user_id, assigned_by_id=actor.id)
        session.add(row)
    else:
        row.user_id, row.assigned_by_id, row.assigned_at = user_id, actor.id, utcnow()
    audit.record(session, actor.user, "business_feedback.enterprise.cadre", "business_feedback_enterprise",
                 enterprise.id, before={"user_id": before}, after={"user_id": user_id}, module=MODULE)
    session.flush()
    return row


def log_visit(session: so.Session, tenant: Tenant, actor: Actor, enterprise_id: int, data: dict[str, Any]) -> Visit:
    """The enterprise's cadre (or the office) logs a visit; each problem found becomes a feedback item."""
    if not actor.may("business_feedback.visit") or actor.id is None:
        raise Refused(_("Only the enterprise's cadre logs its visits."), 403)
    enterprise = visible_enterprise(session, actor, enterprise_id)
    day = today(session, tenant)
    visited_on: dt.date = data["visited_on"]
    if visited_on > day:
        raise ServiceError({"visited_on": _("A visit is logged once it took place: not after today.")})
    if visited_on < day - dt.timedelta(days=EARLIEST_DAYS):
        raise ServiceError({"visited_on": _("Log a visit within a year of the day it took place.")})
    figures = {k: int(data.get(k) or 0) for k in ("loans_yuan", "workers_recruited", "approvals_unblocked")}
    if any(v < 0 for v in figures.values()):
        raise ServiceError({k: _("Not below zero.") for k, v in figures.items() if v < 0})
    visit = Visit(id=new_id(), enterprise_id=enterprise.id, cadre_id=actor.id, visited_on=visited_on,
                  visitors=data["visitors"], findings=data.get("findings") or "", outcome=data.get("outcome") or "",
                  **figures)
    session.add(visit)
    session.flush()
    for i, problem in enumerate(data.get("problems") or []):
        try:
            submit_item(session, tenant, actor, {**problem, "show_name": True}, visit=visit)
        except ServiceError as err:
            raise ServiceError({f"problems.{i}.{k}": v for k, v in err.errors.items()}) from None
    audit.record(session, actor.user, "business_feedback.visit.log", "business_feedback_visit", visit.id,
                 after={"enterprise": enterprise.name, "visited_on": visited_on.isoformat(), **figures,
                        "problems": len(data.get("problems") or [])}, module=MODULE)
    return visit


def visit_rows(session: so.Session, visits: list[Visit]) -> list[dict[str, Any]]:
    """Visits as rows for the pages and the API, with their cadre's name and the items they raised."""
    if not visits:
        return []
    ids = [v.id for v in visits]
    names = dict(session.execute(sa.select(User.id, User.name).where(User.id.in_({v.cadre_id for v in visits})))
                 .all())
    enterprises = dict(session.execute(sa.select(Enterprise.id, Enterprise.name).where(
        Enterprise.id.in_({v.enterprise_id for v in visits}))).all())
    raised: dict[int, list[dict[str, Any]]] = {}
    for item_id, number, state, visit_id in session.execute(
            sa.select(FeedbackItem.id, FeedbackItem.number, FeedbackItem.state, FeedbackItem.visit_id)
            .where(FeedbackItem.visit_id.in_(ids)).order_by(FeedbackItem.id)):
        raised.setdefault(visit_id, []).append({"id": str(item_id), "number": number, "state": state,
                                                "state_label": str(STATE_LABELS[state])})
    return [{"id": v.id, "enterprise_id": v.enterprise_id, "enterprise": enterprises.get(v.enterprise_id, ""),
             "cadre": names.get(v.cadre_id, ""), "visited_on": v.visited_on, "visitors": v.visitors,
             "findings": v.findings, "outcome": v.outcome, "loans_yuan": v.loans_yuan,
             "workers_recruited": v.workers_recruited, "approvals_unblocked": v.approvals_unblocked,
             "items": raised.get(v.id, [])} for v in visits]


def visits_of(session: so.Session, enterprise_id: int, limit: int = 100) -> list[dict[str, Any]]:
    visits = list(session.scalars(sa.select(Visit).where(Visit.enterprise_id == enterprise_id)
                                  .order_by(Visit.visited_on.desc(), Visit.id.desc()).limit(limit)))
    return visit_rows(session, visits)


@dataclasses.dataclass(frozen=True)
class Helped:
    """An enterprise with its cadre and its last visit, as the lists show it."""

    enterprise_id: int
    enterprise: str
    cadre_id: int
    cadre: str
    last_visit: dt.date | None
    days_since: int | None  # None: never visited
    due: bool


def _helped(session: so.Session, tenant: Tenant, where: Any, day: dt.date | None = None) -> list[Helped]:
    day = day or today(session, tenant)
    interval = settings(session)["visit_interval_days"]
    last = (sa.select(Visit.enterprise_id, sa.func.max(Visit.visited_on).label("last"))
            .group_by(Visit.enterprise_id).subquery("last_visits"))
    rows = session.execute(
        sa.select(Enterprise.id, Enterprise.name, User.id, User.name, last.c.last)
        .join(EnterpriseCadre, sa.and_(EnterpriseCadre.tenant_id == Enterprise.tenant_id,
                                       EnterpriseCadre.enterprise_id == Enterprise.id))
        .join(User, sa.and_(User.tenant_id == EnterpriseCadre.tenant_id, User.id == EnterpriseCadre.user_id))
        .outerjoin(last, last.c.enterprise_id == Enterprise.id).where(where)
        .order_by(last.c.last.asc().nulls_first(), Enterprise.name)).all()
    out = []
    for eid, ename, uid, uname, last_day in rows:
        if isinstance(last_day, str):  # SQLite hands max() of a date back as text
            last_day = dt.date.fromisoformat(last_day)
        since = (day - last_day).days if last_day else None
        out.append(Helped(eid, ename, uid, uname, last_day, since, since is None or since > interval))
    return out


def due_visits(session: so.Session, tenant: Tenant, actor: Actor, day: dt.date | None = None) -> list[Helped]:
    """The office's list: enterprises with a cadre not visited within the district's interval (never first)."""
    if not is_office(actor):
        raise Refused(_("Only the business-environment office sees every enterprise's visits."), 403)
    return [h for h in _helped(session, tenant, sa.true(), day) if h.due]


def my_enterprises(session: so.Session, tenant: Tenant, actor: Actor) -> list[Helped]:
    """The enterprises the cadre helps, the most overdue for a visit first."""
    if actor.id is None:
        return []
    return _helped(session, tenant, EnterpriseCadre.user_id == actor.id)


def cadres(session: so.Session, actor: Actor) -> list[tuple[int, str]]:
    """(id, name) of the district's people who may be assigned to enterprises."""
    ids = people_with(session, actor.book, actor.enabled, "business_feedback.visit")
    if not ids:
        return []
    return [tuple(r) for r in session.execute(sa.select(User.id, User.name).where(User.id.in_(ids))
                                              .order_by(User.name))]  # type: ignore[misc]


@dataclasses.dataclass(frozen=True)
class VisitFigures:
    visits: int = 0
    enterprises: int = 0
    problems: int = 0  # feedback items raised on the visits
    solved: int = 0  # of them, closed
    loans_yuan: int = 0
    workers_recruited: int = 0
    approvals_unblocked: int = 0


def visit_figures(session: so.Session, since: dt.date, until: dt.date) -> VisitFigures:
    """Visits of the period (local days, inclusive) and their outcomes, in two statements."""
    in_period = sa.and_(Visit.visited_on >= since, Visit.visited_on <= until)
    row = session.execute(sa.select(
        sa.func.count(), sa.func.count(sa.distinct(Visit.enterprise_id)),
        sa.func.coalesce(sa.func.sum(Visit.loans_yuan), 0), sa.func.coalesce(sa.func.sum(Visit.workers_recruited), 0),
        sa.func.coalesce(sa.func.sum(Visit.approvals_unblocked), 0)).where(in_period)).one()
    problems, solved = session.execute(
        sa.select(sa.func.count(), sa.func.count().filter(FeedbackItem.state == "closed"))
        .select_from(FeedbackItem).join(Visit, sa.and_(Visit.tenant_id == FeedbackItem.tenant_id,
                                                        Visit.id == FeedbackItem.visit_id)).where(in_period)).one()
    return VisitFigures(row[0], row[1], problems, solved, int(row[2]), int(row[3]), int(row[4]))
