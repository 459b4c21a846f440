"""Enterprises: one record per unified social credit code (统一社会信用代码) in a district, with its sector, area
and contact; every item about an enterprise is on its page."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _
from stdnum import exceptions as stdnum_errors
from stdnum.cn import uscc

from blueprints.business_feedback.models import Enterprise
from blueprints.business_feedback.services.base import (
    MODULE,
    Actor,
    Refused,
    ServiceError,
    not_found,
    unit_names,
)
from saas import audit
from saas.ids import new_id
from saas.schemas import mask_phone
from tenants.models import OrgUnit, Tenant


def credit_code_error(value: str) -> str | None:
    """Why a credit code is not valid, in the user's language (naming the check digit), or None."""
    code = uscc.compact(value or "")
    try:
        uscc.validate(code)
    except stdnum_errors.InvalidChecksum:
        return _("The check digit (the 18th character) should be %(expected)s, not %(given)s.",
                 expected=uscc.calc_check_digit(code[:-1]), given=code[-1])
    except stdnum_errors.InvalidLength:
        return _("A unified social credit code has 18 characters.")
    except stdnum_errors.ValidationError:
        return _("Not a valid unified social credit code (digits and capital letters, without I, O, S, V, Z).")
    return None


def normal_credit_code(value: str) -> str:
    error = credit_code_error(value)
    if error is not None:
        raise ServiceError({"credit_code": error})
    return uscc.compact(value)


def get_enterprise(session: so.Session, enterprise_id: int) -> Enterprise:
    found = session.scalars(sa.select(Enterprise).where(Enterprise.id == enterprise_id)).first()
    if found is None:
        raise not_found("enterprise")
    return found


def by_credit_code(session: so.Session, code: str) -> Enterprise | None:
    return session.scalars(sa.select(Enterprise).where(Enterprise.credit_code == code)).first()


def _area(session: so.Session, code: str | None) -> int | None:
    if not code:
        return None
    unit = session.scalars(sa.select(OrgUnit.id).where(OrgUnit.code == code, OrgUnit.kind.in_(
        ("district", "street", "community")))).first()
    if unit is None:
        raise ServiceError({"area_code": _("No street or community of the district has this code.")})
    return unit


def add_enterprise(session: so.Session, tenant: Tenant, actor: Actor, data: dict[str, Any], *,
                   check_permission: bool = True) -> Enterprise:
    """Register an enterprise; a credit code the district has already is refused (422)."""
    if check_permission and not actor.may("business_feedback.enterprises"):
        raise Refused(_("Only the business-environment office manages enterprises."), 403)
    code = normal_credit_code(data["credit_code"])
    if by_credit_code(session, code) is not None:
        raise ServiceError({"credit_code": _("An enterprise with this credit code is already registered.")})
    enterprise = Enterprise(id=new_id(), name=data["name"], credit_code=code, sector=data.get("sector") or "",
                            area_unit_id=_area(session, data.get("area_code")),
                            contact_name=data.get("contact_name") or "", contact_phone=data.get("contact_phone"))
    session.add(enterprise)
    session.flush()
    audit.record(session, actor.user, "business_feedback.enterprise.add", "business_feedback_enterprise",
                 enterprise.id, after={"name": enterprise.name, "credit_code": code}, module=MODULE)
    return enterprise


def enterprise_for_item(session: so.Session, tenant: Tenant, actor: Actor, data: dict[str, Any]) -> Enterprise | None:
    """The enterprise an item is about: by id (this district's only), or by credit code and name (registered on
    first mention), or none."""
    if data.get("enterprise_id"):
        # another district's enterprise is not found, as a missing one
        return get_enterprise(session, data["enterprise_id"])
    if not data.get("credit_code"):
        if data.get("enterprise_name"):
            raise ServiceError({"credit_code": _("Give the enterprise's unified social credit code.")})
        return None
    code = normal_credit_code(data["credit_code"])
    found = by_credit_code(session, code)
    if found is not None:
        return found
    if not data.get("enterprise_name"):
        raise ServiceError({"enterprise_name": _("Give the enterprise's name.")})
    return add_enterprise(session, tenant, actor, {"name": data["enterprise_name"], "credit_code": code},
                          check_permission=False)


def list_enterprises(session: so.Session, q: str | None = None, limit: int = 200) -> list[Enterprise]:
    stmt = sa.select(Enterprise).order_by(Enterprise.name).limit(limit)
    if q:
        stmt = stmt.where(sa.or_(Enterprise.name.contains(q, autoescape=True),
                                 Enterprise.credit_code == q.strip().upper()))
    return list(session.scalars(stmt))


def enterprise_rows(session: so.Session, rows: list[Enterprise]) -> list[dict[str, Any]]:
    areas = unit_names(session, [e.area_unit_id for e in rows])
    return [{"id": e.id, "name": e.name, "credit_code": e.credit_code, "sector": e.sector,
             "area": areas.get(e.area_unit_id, "") if e.area_unit_id else "", "contact_name": e.contact_name,
             "contact_phone": mask_phone(e.contact_phone)} for e in rows]
