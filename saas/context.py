"""The request's view of the kernel: registry, the tenant's switched-on modules, permissions, navigation."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, g

from saas import db
from saas.modules import ModuleRegistry, ModuleSpec, NavEntry, Widget, switches
from saas.permissions import RoleBook
from saas.permissions import can as _can
from saas.permissions import units_with as _units_with


def registry() -> ModuleRegistry:
    return current_app.extensions["saas.modules"]


def role_book() -> RoleBook:
    return current_app.extensions["saas.roles"]


def enabled_modules() -> set[str]:
    """Keys of the modules switched on for the request's tenant (asked once per request)."""
    if "enabled_modules" not in g:
        if g.get("tenant") is None:
            g.enabled_modules = set()
        else:
            on = {k for k, sw in switches(db.session()).items() if sw.enabled}
            g.enabled_modules = on & set(registry().keys())
    return g.enabled_modules


def module_settings(key: str, rows: dict[str, Any] | None = None) -> dict[str, Any]:
    """The tenant's settings for a module: its manifest's defaults overlaid with what the admin saved.

    A list of every module passes the switch `rows` it has read once, rather than one query per module.
    """
    spec = registry().get(key)
    if spec is None:
        raise KeyError(key)
    sw = (rows if rows is not None else switches(db.session())).get(key)
    values = spec.defaults()
    if sw is not None:
        values.update({k: v for k, v in (sw.settings or {}).items() if k in values})
    return values


def require_module(key: str) -> None:
    """The one gate for a module's routes: 404 when it is off for the tenant, as if it never existed."""
    if g.get("tenant") is None or key not in enabled_modules():
        abort(404)


def can(permission: str, unit: Any = None) -> bool:
    return _can(role_book(), g.get("user"), permission, enabled_modules(), unit)


def units_with(permission: str) -> list[Any]:
    return _units_with(role_book(), g.get("user"), permission, enabled_modules())


def nav_entries() -> list[tuple[ModuleSpec, list[NavEntry]]]:
    """Menu entries of the switched-on modules that the person's roles allow."""
    out = []
    for spec in registry():
        if spec.key not in enabled_modules():
            continue
        entries = [e for e in spec.nav if e.permission is None or can(e.permission)]
        if entries:
            out.append((spec, entries))
    return out


def public_entries() -> list[tuple[ModuleSpec, list[NavEntry]]]:
    """The switched-on modules' entries for residents and visitors (a report form, "my reports")."""
    return [(spec, list(spec.public_nav)) for spec in registry() if spec.key in enabled_modules() and spec.public_nav]


def dashboard_widgets() -> list[tuple[ModuleSpec, Widget]]:
    return [
        (spec, w)
        for spec in registry()
        if spec.key in enabled_modules()
        for w in spec.widgets
        if w.permission is None or can(w.permission)
    ]
