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
from flask_babel import lazy_gettext as _l

from saas import workdays
from saas.permissions import RoleBook
from tenants.models import ModuleSwitch, OrgUnit, RoleGrant, Tenant, User
from tenants.services import ServiceError

MODULE = "grid_cases"

__all__ = ["MODULE", "Actor", "Refused", "ServiceError", "calendar", "settings"]


class Refused(Exception):
    """The rules refuse the request; nothing was changed. `status` is the HTTP answer (403, 404 or 409)."""

    def __init__(self, message: str, status: int = 403):
        super().__init__(message)
        self.message = message
        self.status = status


def not_found() -> Refused:
    # one answer for "no such case" and "someone else's case"
    return Refused(_("No such case, or it is not in your area."), 404)


@dataclasses.dataclass
class Actor:
    """Who acts: a staff member or resident with their grants, or the system (a periodic job, `user` None).

    `enabled` are the district's switched-on modules: a module's permissions count only while it is on.
    """

    user: User | None
    book: RoleBook
    enabled: frozenset[str]
    _cache: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)

    @classmethod
    def system(cls, book: RoleBook, enabled: Iterable[str] = (MODULE,)) -> Actor:
        return cls(None, book, frozenset(enabled))

    @property
    def id(self) -> int | None:
        return self.user.id if self.user is not None else None

    @property
    def name(self) -> str:
        return self.user.name if self.user is not None else str(_l("System"))

    @property
    def is_citizen(self) -> bool:
        return self.user is not None and self.user.kind == "citizen"

    def grants(self, permission: str) -> list[RoleGrant]:
        """The person's grants that carry `permission` (each on one unit and its subtree)."""
        key = f"grants:{permission}"
        if key not in self._cache:
            if self.user is None or not self.user.active:
                self._cache[key] = []
            else:
                self._cache[key] = [g for g in self.user.grants
                                    if permission in self.book.permissions(g.role, set(self.enabled))]
        return self._cache[key]

    def units(self, permission: str) -> list[OrgUnit]:
        return [g.org_unit for g in self.grants(permission)]

    def may(self, permission: str, unit: OrgUnit | None = None) -> bool:
        """Anywhere (no unit), or on `unit`'s subtree."""
        return any(unit is None or unit.path.startswith(g.org_unit.path) for g in self.grants(permission))

    def role_on(self, permission: str, unit_id: int | None) -> str | None:
        """The role in which the person holds `permission` exactly on the unit (a case's level), or None."""
        if unit_id is None:
            return None
        return next((g.role for g in self.grants(permission) if g.org_unit_id == unit_id), None)

    def department_role(self, department_id: int | None) -> str | None:
        """The role in which the person answers for a department: granted on it or on one of its sections."""
        if department_id is None:
            return None
        return next((g.role for g in self.grants("grid_cases.department")
                     if g.org_unit_id == department_id or g.org_unit.parent_id == department_id), None)


def settings(session: so.Session) -> dict[str, Any]:
    """The district's grid-cases settings: the manifest's defaults overlaid with what the admin saved."""
    from blueprints.grid_cases import module

    row = session.scalars(sa.select(ModuleSwitch).where(ModuleSwitch.module_key == MODULE)).first()
    values = module.defaults()
    if row is not None:
        values.update({k: v for k, v in (row.settings or {}).items() if k in values})
    return values


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
