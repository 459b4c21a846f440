"""What every grid-cases service shares: who acts (`Actor`), the refusals, the district's settings and calendar,
and whom a step's notices go to.

Services take the session (bound to the tenant), the tenant and the actor explicitly and never read request
globals, so the pages, the JSON API, Open311, the periodic jobs and other modules share them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _

from saas import workdays
from saas.actors import Actor as KernelActor
from saas.actors import Refused, ServiceError
from saas.modules import module_settings
from saas.permissions import RoleBook
from tenants.models import OrgUnit, RoleGrant, Tenant

MODULE = "grid_cases"

__all__ = ["MODULE", "Actor", "Refused", "ServiceError", "calendar", "settings"]


def not_found() -> Refused:
    # one answer for "no such case" and "someone else's case"
    return Refused(_("No such case, or it is not in your area."), 404)


@dataclasses.dataclass
class Actor(KernelActor):
    """The kernel's actor, with grid cases' own question: for which department does the person answer?"""

    @classmethod
    def system(cls, book: RoleBook, enabled: Iterable[str] = (MODULE,)) -> Actor:
        return cls(None, book, frozenset(enabled))

    def department_role(self, department_id: int | None) -> str | None:
        """The role in which the person answers for a department: granted on it or on one of its sections."""
        if department_id is None:
            return None
        return next((g.role for g in self.grants("grid_cases.department")
                     if g.org_unit_id == department_id or g.org_unit.parent_id == department_id), None)


def settings(session: so.Session) -> dict[str, Any]:
    """The district's settings of the module (the kernel's `module_settings`)."""
    from blueprints.grid_cases import module

    return module_settings(session, module)


def calendar(session: so.Session, tenant: Tenant) -> workdays.WorkCalendar:
    return workdays.calendar_for(session, tenant)


def roles_with(book: RoleBook, permission: str, enabled: Iterable[str]) -> list[str]:
    on = set(enabled)
    return [role for role in book.roles if permission in book.permissions(role, on)]


def people_with(session: so.Session, book: RoleBook, enabled: Iterable[str], permission: str,
                unit_ids: Iterable[int]) -> list[int]:
    """Ids of the people holding `permission` through a grant exactly on one of the units."""
    ids = [u for u in unit_ids if u is not None]
    roles = roles_with(book, permission, enabled)
    if not ids or not roles:
        return []
    return list(dict.fromkeys(session.scalars(
        sa.select(RoleGrant.user_id).where(RoleGrant.org_unit_id.in_(ids), RoleGrant.role.in_(roles))
        .order_by(RoleGrant.user_id))))


def department_units(session: so.Session, department_id: int) -> list[int]:
    """A department and its sections: where its handlers' grants sit."""
    return [department_id, *session.scalars(sa.select(OrgUnit.id).where(OrgUnit.parent_id == department_id,
                                                                        OrgUnit.kind == "section"))]


def unit_names(session: so.Session, ids: Iterable[int | None]) -> dict[int, OrgUnit]:
    """Units by id, in one query for a whole list."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u for u in session.scalars(sa.select(OrgUnit).where(OrgUnit.id.in_(wanted)))}


def field_errors(errors: dict[str, Any]) -> ServiceError:
    return ServiceError({k: " ".join(map(str, v)) if isinstance(v, list) else str(v) for k, v in errors.items()})
