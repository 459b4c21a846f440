"""Who acts in a module's services, and how a rule refuses: shared by every module, so none writes its own.

Services take the session (bound to the tenant), the tenant and an `Actor` explicitly and never read request
globals, so pages, the JSON API, protocols, imports and periodic jobs share them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l

from saas.permissions import RoleBook
from tenants.models import OrgUnit, RoleGrant, User


class ServiceError(ValueError):
    """A rule refused the change; `errors` maps fields to messages in the user's language."""

    def __init__(self, errors: dict[str, str] | str):
        self.errors = errors if isinstance(errors, dict) else {"_form": errors}
        super().__init__(self.errors)


class Refused(Exception):
    """The rules refuse the request; nothing was changed. `status` is the HTTP answer (403, 404 or 409)."""

    def __init__(self, message: str, status: int = 403):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclasses.dataclass
class Actor:
    """A staff member or resident with their grants, or the system (a periodic job, `user` None).

    `enabled` are the district's switched-on modules: a module's permissions count only while it is on.
    """

    user: User | None
    book: RoleBook
    enabled: frozenset[str]
    _cache: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)

    @classmethod
    def system(cls, book: RoleBook, enabled: Iterable[str]) -> Actor:
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
        """The role in which the person holds `permission` exactly on the unit, or None."""
        if unit_id is None:
            return None
        return next((g.role for g in self.grants(permission) if g.org_unit_id == unit_id), None)
