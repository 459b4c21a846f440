"""The roster of supervisors: appointment with a term and a certificate number, edits, dismissal, and the
status each term has on a given local day of the district.

A term's days are the district's local days, both ends inclusive: a supervisor whose term ends today may
still submit today; one dismissed today may not. Rights follow the term (`in_term`), read by the submission.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from blueprints.business_feedback.models import Supervisor, SupervisorKind
from blueprints.business_feedback.services.base import (
    MODULE,
    Actor,
    Refused,
    ServiceError,
    next_in_series,
    not_found,
    settings,
    today,
    unit_names,
)
from blueprints.business_feedback.services.lists import kind_by_code
from saas import audit
from saas.ids import new_id
from saas.schemas import mask_phone
from tenants import services as tenant_services
from tenants.models import OrgUnit, RoleGrant, Tenant, User

STATUSES = ("appointed", "in_term", "expiring", "expired", "dismissed")
STATUS_LABELS = {
    "appointed": _l("Appointed, term not started"), "in_term": _l("In term"),
    "expiring": _l("Term ends soon"), "expired": _l("Term ended"), "dismissed": _l("Dismissed"),
}
SOURCE_GROUP_LABELS = {
    "npc": _l("People's congress deputy"), "cppcc": _l("CPPCC member"), "party": _l("Party congress delegate"),
    "entrepreneur": _l("Entrepreneur"), "expert": _l("Expert or scholar"), "media": _l("Media"),
    "association": _l("Trade association or chamber"), "worker": _l("Worker"), "farmer": _l("Farmer"),
    "student": _l("Student"), "retired": _l("Retired cadre"), "technician": _l("Technician"),
}


def status_of(sup: Supervisor, day: dt.date, expiring_days: int = 30) -> str:
    """The status of a term on a local day: dismissal first, then the dates (both ends inclusive)."""
    if sup.dismissed_on is not None and sup.dismissed_on <= day:
        return "dismissed"
    if day < sup.term_start:
        return "appointed"
    if day > sup.term_end:
        return "expired"
    if (sup.term_end - day).days < expiring_days:
        return "expiring"
    return "in_term"


def in_term(status: str) -> bool:
    return status in ("in_term", "expiring")


def term_end_for(start: dt.date, years: int) -> dt.date:
    """The last day of a term of `years` years from `start` (2026-03-01 for 2 years: 2028-02-29)."""
    try:
        end = start.replace(year=start.year + years)
    except ValueError:  # 29 February into a common year
        end = start.replace(year=start.year + years, day=28) + dt.timedelta(days=1)
    return end - dt.timedelta(days=1)


def current_term(session: so.Session, tenant: Tenant, user_id: int, day: dt.date | None = None
                 ) -> tuple[Supervisor | None, str | None]:
    """The person's term that lets them submit today, or (their latest term, the reason they may not)."""
    day = day or today(session, tenant)
    rows = list(session.scalars(sa.select(Supervisor).where(Supervisor.user_id == user_id)
                                .order_by(Supervisor.term_start.desc(), Supervisor.id.desc())))
    for sup in rows:
        if in_term(status_of(sup, day)):
            return sup, None
    if not rows:
        return None, _("You are not on the roster of supervisors.")
    latest = rows[0]
    status = status_of(latest, day)
    if status == "appointed":
        return latest, _("Your term starts on %(day)s.", day=latest.term_start.isoformat())
    if status == "dismissed":
        return latest, _("You were dismissed on %(day)s: %(reason)s", day=latest.dismissed_on.isoformat()
                         if latest.dismissed_on else "", reason=latest.dismissal_reason or "")
    return latest, _("Your term ended on %(day)s.", day=latest.term_end.isoformat())


def get_supervisor(session: so.Session, supervisor_id: int) -> Supervisor:
    sup = session.scalars(sa.select(Supervisor).where(Supervisor.id == supervisor_id)).first()
    if sup is None:
        raise not_found("supervisor")
    return sup


def _kind(session: so.Session, code: str) -> SupervisorKind:
    kind = kind_by_code(session, code)
    if kind is None or not kind.active:
        raise ServiceError({"kind_code": _("Not one of the district's kinds of supervisor.")})
    return kind


def _area(session: so.Session, code: str | None) -> int | None:
    if not code:
        return None
    unit = session.scalars(sa.select(OrgUnit).where(OrgUnit.code == code, OrgUnit.kind.in_(
        ("district", "street", "community")))).first()
    if unit is None:
        raise ServiceError({"area_code": _("No street or community of the district has this code.")})
    return unit.id


def _certificate_no(session: so.Session, tenant: Tenant, year: int) -> str:
    prefix = settings(session)["certificate_prefix"]
    return f"{prefix}〔{year}〕{next_in_series(session, tenant, 'certificate', year):03d}号"


def appoint_supervisor(session: so.Session, tenant: Tenant, actor: Actor, data: dict[str, Any]) -> Supervisor:
    """Appoint a supervisor: an existing person of the district (`user_id`) or a new account (`name`, `phone`,
    optional `username`), with kind, source group, sector, area, batch and term (default: from today for the
    district's term of years). Gives the person the supervisor role and the next certificate number."""
    if not actor.may("business_feedback.roster"):
        raise Refused(_("Only the business-environment office manages the roster."), 403)
    kind = _kind(session, data["kind_code"])
    area_id = _area(session, data.get("area_code"))
    start = data.get("term_start") or today(session, tenant)
    end = data.get("term_end") or term_end_for(start, settings(session)["term_years"])
    if end < start:
        raise ServiceError({"term_end": _("The term cannot end before it starts.")})
    if data.get("user_id"):
        user = session.scalars(sa.select(User).where(User.id == data["user_id"], User.kind == "staff")).first()
        if user is None:
            raise Refused(_("No such person in this district."), 404)
        overlapping = session.scalars(sa.select(Supervisor.id).where(
            Supervisor.user_id == user.id, Supervisor.term_start <= end, Supervisor.term_end >= start,
            Supervisor.dismissed_on.is_(None))).first()
        if overlapping is not None:
            raise ServiceError({"user_id": _("This person already has a term in these dates.")})
    else:
        if not data.get("name"):
            raise ServiceError({"name": _("This field is required.")})
        if not data.get("phone"):
            raise ServiceError({"phone": _("A new supervisor signs in with their mobile number.")})
        user = tenant_services.add_staff(session, actor.user, name=data["name"], phone=data["phone"],
                                         username=data.get("username") or None, password=None)
    root = tenant_services.district_root(session)
    has_role = session.scalars(sa.select(RoleGrant.id).where(RoleGrant.user_id == user.id,
                                                             RoleGrant.role == "supervisor")).first()
    if has_role is None:
        tenant_services.grant_role(session, actor.book, actor.user, user, "supervisor", root)
    sup = Supervisor(id=new_id(), user_id=user.id, kind_id=kind.id, source_group=data["source_group"],
                     sector=data.get("sector") or "", area_unit_id=area_id, batch=data.get("batch") or "",
                     term_start=start, term_end=end, certificate_no=_certificate_no(session, tenant, start.year))
    session.add(sup)
    session.flush()
    audit.record(session, actor.user, "business_feedback.supervisor.appoint", "business_feedback_supervisor",
                 sup.id, after={"user_id": user.id, "kind": kind.code, "term_start": start.isoformat(),
                                "term_end": end.isoformat(), "certificate_no": sup.certificate_no}, module=MODULE)
    return sup


def _check_version(sup: Supervisor, data: dict[str, Any]) -> None:
    if data.get("version") is not None and int(data["version"]) != sup.version:
        raise Refused(_("Someone else changed this supervisor first; reload and try again."), 409)


def update_supervisor(session: so.Session, tenant: Tenant, actor: Actor, supervisor_id: int,
                      data: dict[str, Any]) -> Supervisor:
    """Change a term's kind, source group, sector, area, batch or dates (a stale version: 409)."""
    if not actor.may("business_feedback.roster"):
        raise Refused(_("Only the business-environment office manages the roster."), 403)
    sup = get_supervisor(session, supervisor_id)
    _check_version(sup, data)
    before = {"term_start": sup.term_start.isoformat(), "term_end": sup.term_end.isoformat()}
    # every check before the first change: a refused edit leaves nothing for an autoflush to write
    kind_id = _kind(session, data["kind_code"]).id if "kind_code" in data else sup.kind_id
    area_id = _area(session, data["area_code"]) if "area_code" in data else sup.area_unit_id
    if data.get("term_end", sup.term_end) < data.get("term_start", sup.term_start):
        raise ServiceError({"term_end": _("The term cannot end before it starts.")})
    sup.kind_id, sup.area_unit_id = kind_id, area_id
    for field in ("source_group", "sector", "batch", "term_start", "term_end"):
        if field in data:
            setattr(sup, field, data[field])
    try:
        session.flush()
    except so.exc.StaleDataError:
        session.rollback()
        raise Refused(_("Someone else changed this supervisor first; reload and try again."), 409) from None
    audit.record(session, actor.user, "business_feedback.supervisor.update", "business_feedback_supervisor", sup.id,
                 before=before, after={k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in data.items()
                                       if k != "version"}, module=MODULE)
    return sup


def dismiss_supervisor(session: so.Session, tenant: Tenant, actor: Actor, supervisor_id: int,
                       data: dict[str, Any]) -> Supervisor:
    """Dismiss a supervisor from a day (default today) with a reason; from that day they may not submit."""
    if not actor.may("business_feedback.roster"):
        raise Refused(_("Only the business-environment office manages the roster."), 403)
    sup = get_supervisor(session, supervisor_id)
    _check_version(sup, data)
    if sup.dismissed_on is not None:
        raise Refused(_("This supervisor was already dismissed."), 409)
    reason = (data.get("reason") or "").strip()
    if not reason:
        raise ServiceError({"reason": _("Please say why.")})
    sup.dismissed_on = data.get("on") or today(session, tenant)
    sup.dismissal_reason = reason
    session.flush()
    audit.record(session, actor.user, "business_feedback.supervisor.dismiss", "business_feedback_supervisor",
                 sup.id, after={"on": sup.dismissed_on.isoformat(), "reason": reason}, module=MODULE)
    return sup


def list_supervisors(session: so.Session, tenant: Tenant, status: str | None = None, limit: int = 500
                     ) -> list[dict[str, Any]]:
    """The roster, newest terms first, as rows (phones masked)."""
    day = today(session, tenant)
    days = settings(session)["expiry_reminder_days"]
    sups = list(session.scalars(sa.select(Supervisor).order_by(Supervisor.term_start.desc(), Supervisor.id.desc())
                                .limit(limit)))
    rows = supervisor_rows(session, sups, day, days)
    return [r for r in rows if status is None or r["status"] == status]


def supervisor_rows(session: so.Session, sups: list[Supervisor], day: dt.date, expiring_days: int = 30
                    ) -> list[dict[str, Any]]:
    users = {u.id: u for u in session.scalars(sa.select(User).where(User.id.in_({s.user_id for s in sups})))} \
        if sups else {}
    kinds = {k.id: k for k in session.scalars(sa.select(SupervisorKind))} if sups else {}
    areas = unit_names(session, [s.area_unit_id for s in sups])
    out = []
    for s in sups:
        user = users.get(s.user_id)
        status = status_of(s, day, expiring_days)
        out.append({
            "id": s.id, "user_id": s.user_id, "name": user.name if user else "",
            "phone": mask_phone(user.phone if user else None), "kind_code": kinds[s.kind_id].code,
            "kind": kinds[s.kind_id].name, "source_group": s.source_group,
            "source_group_label": str(SOURCE_GROUP_LABELS[s.source_group]), "sector": s.sector,
            "area": areas.get(s.area_unit_id, "") if s.area_unit_id else "", "batch": s.batch,
            "term_start": s.term_start, "term_end": s.term_end, "dismissed_on": s.dismissed_on,
            "dismissal_reason": s.dismissal_reason, "certificate_no": s.certificate_no, "status": status,
            "status_label": str(STATUS_LABELS[status]), "version": s.version,
        })
    return out
