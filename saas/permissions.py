"""Permissions checked in one place: by role, by org unit (a grant covers its subtree) and by module.

The kernel defines the roles of DESIGN.md and its own permissions; each module's manifest adds its
permissions, grants some to kernel roles and may add roles of its own. A module's permissions count
only while the module is on for the tenant.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l

from saas.modules import ModuleRegistry, RoleSpec

if TYPE_CHECKING:
    from tenants.models import OrgUnit, User

KERNEL_PERMISSIONS = {
    "tenant.admin": _l("Administer the district"),
    "tenant.modules": _l("Switch modules and edit their settings"),
    "tenant.audit": _l("Read the audit log"),
    "tenant.calendar": _l("Edit the working-day calendar"),
    "org.manage": _l("Manage the organisation tree"),
    "people.manage": _l("Manage staff and their roles"),
    "org.view": _l("View the organisation tree"),
    "tenant.notices": _l("Configure notification channels and handle failed deliveries"),
}

# offices of the district: held on the district itself or on a department or its section
_OFFICE = ("district", "department", "section")

KERNEL_ROLES = (
    RoleSpec("district_admin", _l("District admin"), tuple(KERNEL_PERMISSIONS), ("district",)),
    RoleSpec("business_office", _l("Business-environment office"), ("org.view",), _OFFICE),
    RoleSpec("discipline_commission", _l("Discipline commission"), ("org.view",), _OFFICE),
    RoleSpec("dept_handler", _l("Department handler"), ("org.view",), ("department", "section")),
    RoleSpec("street_officer", _l("Street officer"), ("org.view",), ("street",)),
    RoleSpec("community_cadre", _l("Community cadre"), ("org.view",), ("community",)),
    RoleSpec("grid_leader", _l("Grid leader"), ("org.view",), ("grid",)),
    RoleSpec("grid_worker", _l("Grid worker"), ("org.view",), ("grid",)),
    RoleSpec("supervisor", _l("Supervisor"), ()),
    RoleSpec("rater", _l("Rater"), ()),
    RoleSpec("resident", _l("Resident"), ()),
)


@dataclasses.dataclass(frozen=True)
class RoleBook:
    """Every role the deployment knows and what each grants, given the modules that are on."""

    roles: dict[str, RoleSpec]
    module_of_role: dict[str, str | None]
    grants: dict[tuple[str, str], str | None]  # (role, permission) -> module key or None for the kernel

    @classmethod
    def build(cls, registry: ModuleRegistry) -> RoleBook:
        roles = {r.key: r for r in KERNEL_ROLES}
        module_of_role: dict[str, str | None] = dict.fromkeys(roles)
        grants: dict[tuple[str, str], str | None] = {(r.key, p): None for r in KERNEL_ROLES for p in r.permissions}
        for spec in registry:
            for role in spec.roles:
                if role.key in roles:
                    raise RuntimeError(f"module {spec.key} redefines role {role.key}")
                roles[role.key] = role
                module_of_role[role.key] = spec.key
                for perm in role.permissions:
                    grants[(role.key, perm)] = spec.key
            for role_key, perms in spec.grants.items():
                for perm in perms:
                    grants[(role_key, perm)] = spec.key
        return cls(roles, module_of_role, grants)

    def role_choices(self, enabled: Iterable[str]) -> list[RoleSpec]:
        on = set(enabled)
        return [r for k, r in self.roles.items() if self.module_of_role[k] is None or self.module_of_role[k] in on]

    def permissions(self, role: str, enabled: set[str]) -> set[str]:
        if role in self.module_of_role and self.module_of_role[role] not in (None, *enabled):
            return set()
        return {p for (r, p), module in self.grants.items() if r == role and (module is None or module in enabled)}


def can(
    book: RoleBook, user: User | None, permission: str, enabled: set[str], unit: OrgUnit | None = None
) -> bool:
    """May `user` use `permission` (on `unit` and its subtree when given)?"""
    if user is None or not user.active:
        return False
    for grant in user.grants:
        if permission not in book.permissions(grant.role, enabled):
            continue
        if unit is None or unit.path.startswith(grant.org_unit.path):
            return True
    return False


def units_with(book: RoleBook, user: User | None, permission: str, enabled: set[str]) -> list[OrgUnit]:
    """The org units on which `user` holds `permission`; the caller scopes lists by their subtrees."""
    if user is None or not user.active:
        return []
    return [g.org_unit for g in user.grants if permission in book.permissions(g.role, enabled)]
