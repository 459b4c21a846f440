"""What every business-feedback service shares: who acts (`Actor`), the refusals, the district's settings and
calendar, the number series and the people who hold a permission on a unit.

Services take the session (bound to the tenant), the tenant and the actor explicitly and never read request
globals, so the pages, the JSON API, the periodic jobs and the demo share them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite

from blueprints.business_feedback.models import Counter
from saas import workdays
from saas.actors import Actor as KernelActor
from saas.actors import Refused, ServiceError
from saas.db import utcnow
from saas.ids import new_id
from saas.modules import module_settings
from saas.permissions import RoleBook
from tenants.models import OrgUnit, RoleGrant, Tenant, User

MODULE = "business_feedback"

__all__ = ["MODULE", "Actor", "Refused", "ServiceError", "calendar", "next_in_series", "settings", "today"]


def not_found(what: str = "item") -> Refused:
    # one answer for "no such row" and "another district's or not yours to see"
    messages = {"item": _l("No such feedback, or it is not yours to see."),
                "supervisor": _l("No such supervisor."), "enterprise": _l("No such enterprise.")}
    return Refused(str(messages[what]), 404)


@dataclasses.dataclass
class Actor(KernelActor):
    """The kernel's actor, with this module's own questions: in which role, and for which departments."""

    @classmethod
    def system(cls, book: RoleBook, enabled: Iterable[str] = (MODULE,)) -> Actor:
        return cls(None, book, frozenset(enabled))

    def role(self, permission: str) -> str:
        grants = self.grants(permission)
        return grants[0].role if grants else ""

    def department_ids(self) -> list[int]:
        """The departments the person answers for: a grant on a department or on one of its sections."""
        out: list[int] = []
        for g in self.grants("business_feedback.answer"):
            unit = g.org_unit
            if unit.kind == "department":
                out.append(unit.id)
            elif unit.kind == "section" and unit.parent_id is not None:
                out.append(unit.parent_id)
        return sorted(set(out))


def settings(session: so.Session) -> dict[str, Any]:
    """The district's settings of the module (the kernel's `module_settings`)."""
    from blueprints.business_feedback import module

    return module_settings(session, module)


def calendar(session: so.Session, tenant: Tenant) -> workdays.WorkCalendar:
    return workdays.calendar_for(session, tenant)


def today(session: so.Session, tenant: Tenant, now: dt.datetime | None = None) -> dt.date:
    """The district's local day."""
    return calendar(session, tenant).local_date(now or utcnow())


def next_in_series(session: so.Session, tenant: Tenant, series: str, year: int) -> int:
    """The next number of one of the district's series in a year (one UPSERT, no race between requests)."""
    table = Counter.__table__
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table).values(tenant_id=tenant.id, id=new_id(), series=series, year=year, last=1)
    stmt = stmt.on_conflict_do_update(index_elements=["tenant_id", "series", "year"], set_={"last": table.c.last + 1})
    return int(session.execute(stmt.returning(table.c.last)).scalar_one())


def people_with(session: so.Session, book: RoleBook, enabled: Iterable[str], permission: str,
                unit_ids: Iterable[int] | None = None) -> list[int]:
    """Ids of the active people holding `permission` through a grant on one of the units (anywhere when None)."""
    on = set(enabled)
    roles = [role for role in book.roles if permission in book.permissions(role, on)]
    if not roles:
        return []
    q = (sa.select(RoleGrant.user_id).join(User, sa.and_(User.tenant_id == RoleGrant.tenant_id,
                                                         User.id == RoleGrant.user_id))
         .where(RoleGrant.role.in_(roles), User.active.is_(True)).order_by(RoleGrant.user_id))
    if unit_ids is not None:
        ids = [u for u in unit_ids if u is not None]
        if not ids:
            return []
        q = q.where(RoleGrant.org_unit_id.in_(ids))
    return list(dict.fromkeys(session.scalars(q)))


def department_units(session: so.Session, department_ids: Iterable[int]) -> list[int]:
    """Departments and their sections: where their handlers' grants sit."""
    ids = list(department_ids)
    if not ids:
        return []
    return [*ids, *session.scalars(sa.select(OrgUnit.id).where(OrgUnit.parent_id.in_(ids),
                                                                OrgUnit.kind == "section"))]


def unit_names(session: so.Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(session.execute(sa.select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(wanted))).all())


def field_errors(errors: dict[str, Any]) -> ServiceError:
    return ServiceError({k: " ".join(map(str, v)) if isinstance(v, list) else str(v) for k, v in errors.items()})
