"""Modules as plugins: the manifest (`ModuleSpec`), discovery through entry points, and the switch.

A module is any distribution that declares an entry point in the group `saas.modules` pointing at a
`ModuleSpec`. The kernel never imports a module by name: it loads the entry points, registers each
module's page and API blueprints behind one check that the module is on for the request's tenant,
and asks the same switch for menus, widgets, jobs and notifications. A module may also declare `mounts`:
blueprints at URL prefixes of their own (outside `/t/<tenant>/`) that name the district themselves, such
as a standard protocol that passes the district as a parameter; the same switch check follows their own
tenant resolution.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    import flask
    import flask_smorest
    import sqlalchemy.orm as so

    from tenants.models import Tenant

ENTRY_POINT_GROUP = "saas.modules"
LabelT = Any  # a str or a lazy gettext string


@dataclasses.dataclass(frozen=True)
class Setting:
    """A module setting with its type, default and bounds; the only place the rule lives."""

    key: str
    label: LabelT
    type: type = int
    default: Any = None
    min: float | None = None
    max: float | None = None
    choices: tuple[tuple[str, LabelT], ...] = ()
    help: LabelT = ""
    max_length: int = 200


@dataclasses.dataclass(frozen=True)
class NavEntry:
    endpoint: str
    label: LabelT
    permission: str | None = None
    icon: str = ""


@dataclasses.dataclass(frozen=True)
class Widget:
    """A dashboard panel, loaded by htmx from `endpoint` (which receives `tenant`)."""

    endpoint: str
    title: LabelT
    permission: str | None = None


@dataclasses.dataclass(frozen=True)
class PeriodicJob:
    """A job run on a cron schedule once per tenant that has the module on."""

    name: str
    cron: str
    func: str  # "package.module:function", called with the tenant id
    description: LabelT = ""


@dataclasses.dataclass(frozen=True)
class RoleSpec:
    key: str
    name: LabelT
    permissions: tuple[str, ...] = ()
    # the kinds of org unit the role may be held on (a grid worker on a grid); empty: any unit
    unit_kinds: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Mount:
    """A blueprint served at its own URL prefix, outside `/t/<tenant>/`, that names the district itself.

    Its own `before_request` functions must resolve the tenant from the request (set `g.tenant` and
    `saas.db.set_tenant`), or refuse; the kernel runs the module's switch check right after them, so a
    district that switched the module off answers 404 as if it did not exist (in the blueprint's own
    error format when it registers error handlers, as a protocol must). The kernel exempts the blueprint
    from CSRF and signs nobody in from the session cookie: a mount authenticates its callers its own way
    (a token in the request), never by the browser.
    """

    url_prefix: str  # e.g. "/open311/v2"
    blueprint: Callable[[], flask.Blueprint]


@dataclasses.dataclass(frozen=True)
class ModuleSpec:
    key: str
    name_zh: str
    name_en: str
    version: str
    description: LabelT = ""
    permissions: Mapping[str, LabelT] = dataclasses.field(default_factory=dict)
    roles: tuple[RoleSpec, ...] = ()
    # kernel role key -> this module's permissions that the role gets while the module is on
    grants: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    settings: tuple[Setting, ...] = ()
    nav: tuple[NavEntry, ...] = ()
    # entries for anyone (no permission): the district's welcome page and the residents' menu link to them
    public_nav: tuple[NavEntry, ...] = ()
    widgets: tuple[Widget, ...] = ()
    jobs: tuple[PeriodicJob, ...] = ()
    notices: tuple[Any, ...] = ()  # saas.notify.NoticeTemplate: the kinds of notice the module sends
    links: tuple[str, ...] = ()
    views: Callable[[], flask.Blueprint] | None = None
    api: Callable[[], flask_smorest.Blueprint] | None = None
    mounts: tuple[Mount, ...] = ()  # blueprints at their own prefixes that resolve the tenant themselves
    models: str | None = None  # import path of the module's models, so its tables join the metadata
    demo: Callable[[so.Session, Tenant], None] | None = None  # fills the demo districts
    # what a district needs the first time it switches the module on (default lists, taxonomies): called once,
    # in the switch's transaction, whichever door switched it (page, API, CLI); it must be idempotent and must
    # never overwrite what the district has changed
    provision: Callable[[so.Session, Tenant], None] | None = None
    # kinds of file import (saas.imports.ImportKind), or zero-argument callables that return one (so that the
    # manifest need not import the module's services): the kernel reads, checks, stages and names bad rows
    imports: tuple[Any, ...] = ()
    # how the audit page words the module's actions, objects and fields: a saas.audit.AuditWords, or a
    # zero-argument callable that returns one (so that the manifest need not import the module's services)
    audit_words: Any = None

    def name(self, locale: str) -> str:
        return self.name_en if locale.startswith("en") else self.name_zh

    def defaults(self) -> dict[str, Any]:
        return {s.key: s.default for s in self.settings}


@dataclasses.dataclass(frozen=True)
class SwitchOffEffects:
    """What stops for a district when it switches a module off, in the reader's language; its data stays."""

    menus: tuple[str, ...]
    widgets: tuple[str, ...]
    jobs: tuple[str, ...]
    notices: tuple[str, ...]

    def as_dict(self) -> dict[str, list[str]]:
        return {"menus": list(self.menus), "widgets": list(self.widgets), "jobs": list(self.jobs),
                "notices": list(self.notices)}


def switch_off_effects(spec: ModuleSpec) -> SwitchOffEffects:
    """Read from the manifest, so a new module's page, API answer and CLI output say it without writing it."""
    return SwitchOffEffects(
        menus=tuple(dict.fromkeys(str(n.label) for n in (*spec.nav, *spec.public_nav))),
        widgets=tuple(str(w.title) for w in spec.widgets),
        jobs=tuple(str(j.description or j.name) for j in spec.jobs),
        notices=tuple(str(n.label) for n in spec.notices),
    )


class SettingsError(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


class ModuleRegistry:
    def __init__(self, specs: list[ModuleSpec]):
        keys = [s.key for s in specs]
        dupes = {k for k in keys if keys.count(k) > 1}
        if dupes:
            raise RuntimeError(f"two modules claim the key(s) {sorted(dupes)}")
        self._specs = {s.key: s for s in sorted(specs, key=lambda s: s.key)}

    @classmethod
    def discover(cls, extra: list[ModuleSpec] | None = None) -> ModuleRegistry:
        specs = []
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            spec = ep.load()
            if not isinstance(spec, ModuleSpec) or spec.key != ep.name:
                raise RuntimeError(f"entry point {ep.name!r} does not name a ModuleSpec with that key")
            specs.append(spec)
        return cls(specs + list(extra or []))

    def __iter__(self) -> Iterator[ModuleSpec]:
        return iter(self._specs.values())

    def __contains__(self, key: object) -> bool:
        return key in self._specs

    def get(self, key: str) -> ModuleSpec | None:
        return self._specs.get(key)

    def keys(self) -> list[str]:
        return list(self._specs)

    def all_permissions(self) -> dict[str, str]:
        return {p: key for key, spec in self._specs.items() for p in spec.permissions}


def switches(session: so.Session) -> dict[str, Any]:
    """The current tenant's module switches by key (the session must be bound to a tenant)."""
    from tenants.models import ModuleSwitch

    return {sw.module_key: sw for sw in session.scalars(sa.select(ModuleSwitch))}


def enabled_keys(session: so.Session) -> set[str]:
    return {k for k, sw in switches(session).items() if sw.enabled}


def module_settings(session: so.Session, spec: ModuleSpec) -> dict[str, Any]:
    """The current tenant's settings of a module: the manifest's defaults overlaid with what the admin saved
    (a setting the manifest no longer declares is ignored)."""
    from tenants.models import ModuleSwitch

    row = session.scalars(sa.select(ModuleSwitch).where(ModuleSwitch.module_key == spec.key)).first()
    values = spec.defaults()
    if row is not None:
        values.update({k: v for k, v in (row.settings or {}).items() if k in values})
    return values


def validate_settings(spec: ModuleSpec, raw: Mapping[str, Any], *, gettext: Callable[..., str]) -> dict[str, Any]:
    """Turn submitted settings into typed values or raise `SettingsError` with a message per field."""
    known = {s.key: s for s in spec.settings}
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for key in raw:
        if key not in known:
            errors[key] = gettext("Unknown setting.")
    for key, setting in known.items():
        if key not in raw:
            continue
        value = raw[key]
        try:
            value = _coerce(setting, value)
        except (TypeError, ValueError):
            errors[key] = {
                int: gettext("Enter a whole number."),
                float: gettext("Enter a number."),
                bool: gettext("Choose yes or no."),
            }.get(setting.type, gettext("Invalid value."))
            continue
        if setting.type in (int, float):
            if setting.min is not None and value < setting.min:
                errors[key] = gettext("Must be at least %(min)s.", min=_num(setting.min))
                continue
            if setting.max is not None and value > setting.max:
                errors[key] = gettext("Must be at most %(max)s.", max=_num(setting.max))
                continue
        if setting.type is str:
            if len(value) > setting.max_length:
                errors[key] = gettext("At most %(n)s characters.", n=setting.max_length)
                continue
            if setting.choices and value not in {c for c, _ in setting.choices}:
                errors[key] = gettext("Not one of the choices.")
                continue
        values[key] = value
    if errors:
        raise SettingsError(errors)
    return values


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _coerce(setting: Setting, value: Any) -> Any:
    if setting.type is bool:
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("1", "true", "on", "yes"):
            return True
        if str(value).lower() in ("0", "false", "off", "no", ""):
            return False
        raise ValueError(value)
    if setting.type is int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(value)
        if isinstance(value, str):
            value = value.strip()
        return int(value)
    if setting.type is float:
        if isinstance(value, bool):
            raise ValueError(value)
        f = float(value)
        if f != f or f in (float("inf"), float("-inf")):
            raise ValueError(value)
        return f
    if setting.type is dt.time:
        return dt.time.fromisoformat(str(value)).isoformat(timespec="minutes")
    if not isinstance(value, str):
        raise TypeError(value)
    return value.strip()
