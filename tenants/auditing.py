"""The audit log in words: what an entry did, to what, and what changed, in the reader's language.

An entry keeps codes (`module.enable`, `user`, `{"enabled": false}`) so that it can be filtered and never changes
meaning; the page words them with the kernel's and the modules' `AuditWords`, names the people, units and modules
it touched (one statement per kind of object on the page, whatever its length), and shows before and after as the
fields that changed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _

from saas.audit import KERNEL_WORDS, AuditEntry
from saas.modules import ModuleRegistry
from saas.permissions import RoleBook
from saas.schemas import MAX_ID, Schema, Text
from tenants.models import ORG_KIND_LABELS, OrgUnit, User

LONGEST = 200  # characters of one value shown; the rest is cut with an ellipsis


@dataclasses.dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


@dataclasses.dataclass(frozen=True)
class AuditLine:
    entry: AuditEntry
    action: str  # in words, or the code when nobody worded it
    module: str  # the module's name, or ""
    object_kind: str
    object_name: str
    changes: list[Change]


@dataclasses.dataclass(frozen=True)
class Vocabulary:
    actions: dict[str, str]
    objects: dict[str, str]
    fields: dict[str, str]
    values: dict[str, dict[str, str]]
    names: dict[str, Callable[[so.Session, list[int]], Mapping[int, str]]]


def vocabulary(registry: ModuleRegistry) -> Vocabulary:
    """The kernel's words and every module's, in the current language."""
    actions, objects, fields = dict(KERNEL_WORDS.actions), dict(KERNEL_WORDS.objects), dict(KERNEL_WORDS.fields)
    values: dict[str, dict[str, Any]] = {k: dict(v) for k, v in KERNEL_WORDS.values.items()}
    values.setdefault("kind", {}).update(ORG_KIND_LABELS)  # a unit's kind
    names: dict[str, Callable[[so.Session, list[int]], Mapping[int, str]]] = {
        "user": lambda session, ids: _names(session, User, set(ids)),
        "org_unit": lambda session, ids: _names(session, OrgUnit, set(ids)),
    }
    for spec in registry:
        words = spec.audit_words() if callable(spec.audit_words) else spec.audit_words
        if words is not None:
            actions.update(words.actions)
            objects.update(words.objects)
            fields.update(words.fields)
            for field, codes in words.values.items():
                values.setdefault(field, {}).update(codes)
            names.update(words.names)
    return Vocabulary({k: str(v) for k, v in actions.items()}, {k: str(v) for k, v in objects.items()},
                      {k: str(v) for k, v in fields.items()},
                      {f: {k: str(v) for k, v in codes.items()} for f, codes in values.items()}, names)


def object_kinds(registry: ModuleRegistry) -> list[tuple[str, str]]:
    """(code, words) of every kind of object the log may name, for the filter."""
    return sorted(vocabulary(registry).objects.items(), key=lambda kv: kv[1])


def _ids(values: Iterable[Any]) -> set[int]:
    out = set()
    for v in values:
        if isinstance(v, int) and not isinstance(v, bool):
            out.add(v)
        elif isinstance(v, str) and v.isdigit() and len(v) < 20:
            out.add(int(v))
    return out


def _is_unit(field: str) -> bool:
    """A field that holds an org unit's id (`org_unit_id`, `level_unit_id`)."""
    return field.endswith("unit_id")


def _names(session: so.Session, model: Any, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {i: n for i, n in session.execute(sa.select(model.id, model.name).where(model.id.in_(sorted(ids))))}


def describe(session: so.Session, registry: ModuleRegistry, book: RoleBook, entries: Sequence[AuditEntry],
             locale: str) -> list[AuditLine]:
    words = vocabulary(registry)
    wanted: dict[str, set[int]] = {}
    for e in entries:
        if e.object_type in words.names:
            wanted.setdefault(e.object_type, set()).update(_ids([e.object_id]))
        for side in (e.before, e.after):
            if isinstance(side, dict):
                wanted.setdefault("org_unit", set()).update(_ids(v for k, v in side.items() if _is_unit(k)))
    known = {kind: words.names[kind](session, sorted(ids)) for kind, ids in wanted.items() if ids}
    units = known.get("org_unit", {})

    def value(field: str, v: Any) -> str:
        if v is None or v == "":
            return ""
        if isinstance(v, bool):
            return _("Yes") if v else _("No")
        if isinstance(v, str) and v in words.values.get(field, {}):
            return words.values[field][v]
        if field == "role" and isinstance(v, str) and v in book.roles:
            return str(book.roles[v].name)
        if _is_unit(field) and _ids([v]):
            return units.get(next(iter(_ids([v]))), str(v))
        if isinstance(v, list):
            text = "、".join(value(field, x) for x in v)
        elif isinstance(v, dict):
            text = json.dumps(v, ensure_ascii=False, sort_keys=True)
        else:
            text = str(v)
        return text if len(text) <= LONGEST else text[:LONGEST] + "…"

    def changes(before: Any, after: Any) -> list[Change]:
        before = before if isinstance(before, dict) else ({} if before is None else {"": before})
        after = after if isinstance(after, dict) else ({} if after is None else {"": after})
        out = []
        for key in [*before, *(k for k in after if k not in before)]:
            b, a = before.get(key), after.get(key)
            if key in before and key in after and b == a:
                continue
            out.append(Change(words.fields.get(key, key), value(key, b), value(key, a)))
        return out

    def object_name(e: AuditEntry) -> str:
        if e.object_type == "module":
            spec = registry.get(e.object_id)
            return spec.name(locale) if spec else e.object_id
        if e.object_type == "tenant":
            return ""  # the district the reader is in
        ids = _ids([e.object_id])
        return known.get(e.object_type, {}).get(next(iter(ids)), e.object_id) if ids else e.object_id

    lines = []
    for e in entries:
        spec = registry.get(e.module) if e.module else None
        lines.append(AuditLine(
            entry=e, action=words.actions.get(e.action, e.action), module=spec.name(locale) if spec else "",
            object_kind=words.objects.get(e.object_type, e.object_type), object_name=object_name(e),
            changes=changes(e.before, e.after)))
    return lines


class AuditFilter(Schema):
    action = Text(load_default="", max_length=64)
    module = Text(load_default="", max_length=40)
    actor = Text(load_default="", max_length=80)
    object = Text(load_default="", max_length=40)
    since = Text(load_default="", max_length=10)
    until = Text(load_default="", max_length=10)
    before = Text(load_default="", max_length=24)


def audit_query(filters: dict[str, Any], *, timezone: str, registry: ModuleRegistry
                ) -> tuple[sa.Select[Any], dict[str, str]]:
    """Audit entries newest first, filtered; keyset on (at, id) so deep pages cost the same as the first."""
    errors: dict[str, str] = {}
    q = sa.select(AuditEntry)
    if filters.get("action"):
        q = q.where(AuditEntry.action.startswith(filters["action"], autoescape=True))
    if filters.get("module"):
        q = q.where(AuditEntry.module == filters["module"])
    if filters.get("actor"):
        q = q.where(AuditEntry.actor_name.contains(filters["actor"], autoescape=True))
    if filters.get("object"):
        if filters["object"] not in dict(object_kinds(registry)):
            errors["object"] = _("Choose a kind of object from the list.")
        q = q.where(AuditEntry.object_type == filters["object"])
    days: dict[str, dt.date] = {}
    for name in ("since", "until"):
        if filters.get(name):
            try:
                days[name] = dt.date.fromisoformat(filters[name])
            except ValueError:
                errors[name] = _("Use a date like 2026-11-22.")
    if "since" in days and "until" in days and days["until"] < days["since"]:
        errors["until"] = _("The end date is before the start date.")
    tz = ZoneInfo(timezone)
    if "since" in days:
        q = q.where(AuditEntry.at >= dt.datetime.combine(days["since"], dt.time(), tz))
    if "until" in days:
        q = q.where(AuditEntry.at < dt.datetime.combine(days["until"] + dt.timedelta(days=1), dt.time(), tz))
    if filters.get("before"):
        try:
            cursor = int(filters["before"])
            if not 0 < cursor <= MAX_ID:
                raise ValueError(cursor)
        except ValueError:
            errors["before"] = _("Invalid value.")
        else:
            q = q.where(AuditEntry.id < cursor)
    return q.order_by(AuditEntry.id.desc()), errors
