"""Rules for the district's notification settings: channels, quiet hours, preferences, dead letters."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _

from saas import audit, secrets, wording
from saas.channels import SETTINGS_SCHEMAS
from saas.db import utcnow
from saas.i18n import localize_errors
from saas.notify import (
    CHANNELS,
    PERSONAL_CHANNELS,
    ChannelConfig,
    Delivery,
    NoticePreference,
    NoticeTemplate,
    NoticeTemplateOverride,
)


class SettingsRefused(ValueError):
    def __init__(self, errors: dict[str, Any]):
        super().__init__(errors)
        self.errors = errors


def channel_rows(session: so.Session) -> dict[str, ChannelConfig]:
    return {c.channel: c for c in session.scalars(sa.select(ChannelConfig))}


def channel_view(config: ChannelConfig | None) -> dict[str, Any]:
    """What a page or the API may show: the settings, and of the secret only a mask."""
    if config is None:
        return {"enabled": False, "settings": {}, "secret": ""}
    return {"enabled": config.enabled, "settings": dict(config.settings or {}),
            "secret": secrets.masked(secrets.decrypt(config.secret_enc))}


def save_channel(session: so.Session, actor: Any, channel: str, raw: dict[str, Any], enabled: bool,
                 *, ip: str | None = None) -> ChannelConfig:
    """Validate and store a channel's settings; an empty secret keeps the one stored before."""
    schema_cls = SETTINGS_SCHEMAS.get(channel)
    if schema_cls is None:
        raise SettingsRefused({"channel": _("No such channel.")})
    try:
        data = schema_cls().load(raw)
    except ma.ValidationError as err:
        raise SettingsRefused(localize_errors(err.messages)) from None
    secret = data.pop("secret", "")
    config = session.scalars(sa.select(ChannelConfig).where(ChannelConfig.channel == channel)).first()
    before = channel_view(config)
    if config is None:
        config = ChannelConfig(channel=channel, settings={})
        session.add(config)
    config.settings = data
    config.enabled = enabled
    if secret:
        config.secret_enc = secrets.encrypt(secret)
    session.flush()
    audit.record(session, actor, "notices.channel", "channel", channel, before=before, after=channel_view(config),
                 ip=ip)
    return config


_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def save_quiet_hours(session: so.Session, tenant: Any, actor: Any, start: str, end: str) -> None:
    start, end = (start or "").strip(), (end or "").strip()
    errors = {}
    if bool(start) != bool(end):
        errors["quiet_end" if start else "quiet_start"] = _("Give both times, or neither to switch quiet hours off.")
    for name, value in (("quiet_start", start), ("quiet_end", end)):
        if value and not _HHMM.match(value):
            errors[name] = _("Use a time like 22:00.")
    if start and start == end:
        errors["quiet_end"] = _("The quiet hours must end at another time than they start.")
    if errors:
        raise SettingsRefused(errors)
    before = {"quiet_start": tenant.quiet_start, "quiet_end": tenant.quiet_end}
    tenant.quiet_start, tenant.quiet_end = start or None, end or None
    audit.record(session, actor, "notices.quiet_hours", "tenant", tenant.id, before=before,
                 after={"quiet_start": tenant.quiet_start, "quiet_end": tenant.quiet_end})
    session.flush()


def save_preferences(session: so.Session, user: Any, templates: dict[str, NoticeTemplate],
                     chosen: dict[str, list[str]]) -> None:
    for kind, channels in chosen.items():
        if kind not in templates:
            raise SettingsRefused({kind: _("Unknown kind of notice.")})
        bad = [c for c in channels if c not in PERSONAL_CHANNELS]
        if bad:
            raise SettingsRefused({kind: _("Unknown channel.")})
        pref = session.scalars(sa.select(NoticePreference).where(
            NoticePreference.user_id == user.id, NoticePreference.kind == kind)).first()
        if pref is None:
            pref = NoticePreference(user_id=user.id, kind=kind, channels=[])
            session.add(pref)
        pref.channels = sorted(set(channels))
    session.flush()


def preferences(session: so.Session, user: Any, templates: dict[str, NoticeTemplate]) -> dict[str, list[str]]:
    stored = {p.kind: list(p.channels) for p in session.scalars(
        sa.select(NoticePreference).where(NoticePreference.user_id == user.id))}
    return {kind: stored.get(kind, [c for c in t.channels if c in PERSONAL_CHANNELS]) for kind, t in templates.items()}


def template_overrides(session: so.Session) -> dict[tuple[str, str], NoticeTemplateOverride]:
    return {(o.kind, o.locale): o for o in session.scalars(sa.select(NoticeTemplateOverride))}


def save_template(session: so.Session, actor: Any, templates: dict[str, NoticeTemplate], kind: str, locale: str,
                  title: str, body: str) -> None:
    """A district's own wording; an empty title goes back to the default. The text must keep the wording's rules
    (`saas.wording`: placeholders, conditions and simple filters, bounded work)."""
    if kind not in templates:
        raise SettingsRefused({"kind": _("Unknown kind of notice.")})
    if locale not in ("zh_CN", "en"):
        raise SettingsRefused({"locale": _("Unknown language.")})
    title, body = (title or "").strip(), (body or "").strip()
    errors = {}
    if len(title) > 200:
        errors["title"] = _("At most %(n)s characters.", n=200)
    if len(body) > 2000:
        errors["body"] = _("At most %(n)s characters.", n=2000)
    for name, text in (("title", title), ("body", body)):
        try:
            wording.check(text)
        except wording.WordingRefused as err:
            errors[name] = err.message
    if errors:
        raise SettingsRefused(errors)
    row = template_overrides(session).get((kind, locale))
    before = {"title": row.title, "body": row.body} if row else None
    if not title:
        if row is not None:
            session.delete(row)
    else:
        if row is None:
            row = NoticeTemplateOverride(kind=kind, locale=locale, title=title, body=body)
            session.add(row)
        row.title, row.body = title, body
    audit.record(session, actor, "notices.template", "notice_template", f"{kind}:{locale}", before=before,
                 after={"title": title, "body": body} if title else None)
    session.flush()


def delivery_by_id(session: so.Session, delivery_id: int) -> Delivery | None:
    return session.scalars(sa.select(Delivery).where(Delivery.id == delivery_id)).first()


def retry_delivery(session: so.Session, actor: Any, delivery: Delivery) -> None:
    if delivery.status != "dead":
        raise SettingsRefused({"_form": _("Only failed deliveries can be retried.")})
    audit.record(session, actor, "notices.retry", "delivery", delivery.id,
                 before={"status": delivery.status, "attempts": delivery.attempts, "error": delivery.last_error})
    delivery.status, delivery.attempts, delivery.last_error = "pending", 0, None
    delivery.next_attempt_at = utcnow()
    session.info["outbox_dirty"] = True
    session.flush()


def discard_delivery(session: so.Session, actor: Any, delivery: Delivery) -> None:
    if delivery.status != "dead":
        raise SettingsRefused({"_form": _("Only failed deliveries can be discarded.")})
    audit.record(session, actor, "notices.discard", "delivery", delivery.id,
                 before={"status": delivery.status, "error": delivery.last_error})
    delivery.status = "discarded"
    session.flush()


def outbox_counts(session: so.Session) -> dict[str, int]:
    return dict(session.execute(sa.select(Delivery.status, sa.func.count()).group_by(Delivery.status)).all())


def dead_letters_query(before: int | None = None) -> sa.Select[Any]:
    """Deliveries that failed after every retry, newest first, from a keyset cursor."""
    query = sa.select(Delivery).where(Delivery.status == "dead").order_by(Delivery.id.desc())
    return query.where(Delivery.id < before) if before else query


def channel_choices() -> tuple[str, ...]:
    return tuple(c for c in CHANNELS if c != "inbox")


def parse_time_or_none(value: str) -> dt.time | None:
    return dt.time.fromisoformat(value) if value and _HHMM.match(value) else None
