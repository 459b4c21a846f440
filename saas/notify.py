"""Notices: one call for modules (`notify`), an in-app inbox, and an outbox that loses nothing.

`notify` writes, in the caller's transaction, the inbox row and one outbox `Delivery` per outside
channel (SMS, DingTalk and WeCom robots, email). Nothing is sent if that transaction rolls back. The
relay (`workers.relay`) moves committed deliveries onto RQ queues, workers deliver them with an
idempotency key and record the outcome; failures are retried with backoff and, after the last try,
land in the dead-letter list the district admin sees.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from saas import secrets as secrets_at_rest
from saas import wording
from saas.db import Base, TenantScoped, utcnow

log = logging.getLogger("saas.notify")

CHANNELS = ("inbox", "sms", "dingtalk", "wecom", "email")
PERSONAL_CHANNELS = ("sms", "email")  # sent to one person's address
ROBOT_CHANNELS = ("dingtalk", "wecom")  # posted to the district's group robots
CHANNEL_LABELS = {
    "inbox": _l("In-app inbox"), "sms": _l("SMS"), "dingtalk": _l("DingTalk robot"), "wecom": _l("WeCom robot"),
    "email": _l("Email"),
}

# delivery states: pending -> queued -> sent | (pending again, with backoff) | dead; dead -> pending (retry) or
# discarded; dropped when the module was switched off; merged into a digest for throttled robots
FINAL = ("sent", "dead", "discarded", "dropped", "merged")
MAX_ATTEMPTS = 5
BACKOFF = (dt.timedelta(seconds=30), dt.timedelta(minutes=2), dt.timedelta(minutes=10), dt.timedelta(minutes=30))


@dataclasses.dataclass(frozen=True)
class NoticeTemplate:
    """A kind of notice: Jinja text (rendered in a sandbox) with the channels people get by default."""

    kind: str
    label: Any
    title: Any
    body: Any = ""
    channels: tuple[str, ...] = ()
    urgent: bool = False
    robot: bool = False  # also posted to the district's group robots
    # context keys whose values are secrets (a phone code): they reach the gateway and nothing else
    secrets: tuple[str, ...] = ()
    inbox_title: Any = None  # what the inbox says instead, for a notice with secrets


KERNEL_NOTICES = (
    NoticeTemplate("auth.phone_code", _l("Verification code"),
                   _l("Your verification code is {{ code }}, valid for 10 minutes."), channels=("sms",), urgent=True,
                   secrets=("code",), inbox_title=_l("A verification code was sent to your phone.")),
    NoticeTemplate("auth.password_link", _l("Set-password link"),
                   _l("{{ district }}: set your password"),
                   _l("Open {{ link }} within {{ hours }} hours to set your password for Wanggetong. "
                      "The link works once."), channels=("sms",), urgent=True,
                   secrets=("link",), inbox_title=_l("A link to set your password was sent to your phone.")),
)

SECRET_MASK = "******"  # noqa: S105 - what stored and logged text shows in place of a secret


class Notification(TenantScoped, Base):
    """A notice in a person's in-app inbox."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
        sa.Index("ix_notifications_inbox", "tenant_id", "user_id", "read_at"),
    )

    user_id: so.Mapped[int]
    kind: so.Mapped[str] = so.mapped_column(sa.String(64))
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    body: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    url: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    urgent: so.Mapped[bool] = so.mapped_column(default=False)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    read_at: so.Mapped[dt.datetime | None]


class Delivery(TenantScoped, Base):
    """One notice to one outside channel: the outbox row, written with the change that caused it."""

    __tablename__ = "outbox_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "idempotency_key"),
        sa.Index("ix_outbox_deliveries_due", "tenant_id", "status", "next_attempt_at"),
    )

    channel: so.Mapped[str] = so.mapped_column(sa.String(16))
    kind: so.Mapped[str] = so.mapped_column(sa.String(64))
    module: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    user_id: so.Mapped[int | None]
    address: so.Mapped[str] = so.mapped_column(sa.String(255), default="")
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    body: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    urgent: so.Mapped[bool] = so.mapped_column(default=False)
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default="pending")
    attempts: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    idempotency_key: so.Mapped[str] = so.mapped_column(sa.String(64))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    next_attempt_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    queued_at: so.Mapped[dt.datetime | None]
    sent_at: so.Mapped[dt.datetime | None]
    last_error: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    digest_of: so.Mapped[list[Any] | None] = so.mapped_column(sa.JSON)
    # a notice with a secret (a phone code): `title` and `body` show it masked, the message as sent is kept
    # Fernet-encrypted in `sealed_enc` until the delivery ends (sent, dead, discarded, dropped), then wiped
    sealed: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    sealed_enc: so.Mapped[str | None] = so.mapped_column(sa.Text)

    def outgoing(self) -> Outgoing:
        """The message as the channel sends it: with its secret, decrypted here and nowhere else."""
        title, body, hidden = self.title, self.body, ()
        if self.sealed:
            plain = secrets_at_rest.decrypt(self.sealed_enc)
            if plain is None:
                raise SecretGone(self.id)
            message = json.loads(plain)
            title, body, hidden = message["title"], message["body"], tuple(message["secrets"])
        return Outgoing(channel=self.channel, address=self.address, title=title, body=body,
                        idempotency_key=self.idempotency_key, secrets=hidden)


@dataclasses.dataclass(frozen=True)
class Outgoing:
    """One message handed to a channel; it lives in memory only."""

    channel: str
    address: str
    title: str
    body: str
    idempotency_key: str
    secrets: tuple[str, ...] = ()

    def scrub(self, text: str) -> str:
        """`text` (a gateway's error, say) with this message's secrets masked, fit for a log or a table."""
        for value in self.secrets:
            if value:
                text = text.replace(value, SECRET_MASK)
        return text


class SecretGone(Exception):
    """A sealed delivery whose secret was wiped (it ended once already) or cannot be read with today's key."""


@sa.event.listens_for(Delivery.status, "set")
def _wipe_when_final(target: Delivery, value: str, _old: Any, _initiator: Any) -> None:
    """A delivery that ends keeps no secret: whoever ends it, the worker or the district admin."""
    if value in FINAL:
        target.sealed_enc = None


class NoticePreference(TenantScoped, Base):
    """The channels a person chose for one kind of notice (the inbox is always on)."""

    __tablename__ = "notice_preferences"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "user_id", "kind"),
        sa.ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
    )

    user_id: so.Mapped[int]
    kind: so.Mapped[str] = so.mapped_column(sa.String(64))
    channels: so.Mapped[list[Any]] = so.mapped_column(default=list)


class NoticeTemplateOverride(TenantScoped, Base):
    """A district's own wording of a notice, per language."""

    __tablename__ = "notice_templates"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "kind", "locale"),)

    kind: so.Mapped[str] = so.mapped_column(sa.String(64))
    locale: so.Mapped[str] = so.mapped_column(sa.String(10))
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    body: so.Mapped[str] = so.mapped_column(sa.Text, default="")


class ChannelConfig(TenantScoped, Base):
    """A district's settings for one outside channel; the secret part is stored encrypted."""

    __tablename__ = "channel_configs"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "channel"),)

    channel: so.Mapped[str] = so.mapped_column(sa.String(16))
    enabled: so.Mapped[bool] = so.mapped_column(default=True)
    settings: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)
    secret_enc: so.Mapped[str | None] = so.mapped_column(sa.Text)
    updated_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow, onupdate=utcnow)


# --- templates ------------------------------------------------------------------------------------


def templates(registry: Iterable[Any]) -> dict[str, NoticeTemplate]:
    """Every notice kind: the kernel's and those the switched-on or -off modules declare."""
    out = {t.kind: t for t in KERNEL_NOTICES}
    for spec in registry:
        out.update({t.kind: t for t in getattr(spec, "notices", ())})
    return out


@functools.lru_cache(maxsize=512)
def _compiled(text: str) -> Any:
    """A notice's text checked and compiled once per process (compiling cost ~50 times rendering it); a text that
    breaks the wording's rules (`saas.wording`) raises WordingRefused and never runs."""
    return wording.sandbox.from_string(wording.parse(text))


def render(text: str, context: Mapping[str, Any], tz: str) -> str:
    from zoneinfo import ZoneInfo

    def localtime(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
        if isinstance(value, dt.datetime):
            return value.astimezone(ZoneInfo(tz)).strftime(fmt)
        return str(value)

    try:
        return wording.render(_compiled(str(text)), {"localtime": localtime, **context})
    except wording.WordingRefused as err:  # stored before the rules, or a bound reached: fails at once, not a hang
        log.warning("notice wording refused, the raw text is sent: %s", err.message)
        return str(text)
    except Exception:  # a district's broken override must not lose the notice: send the raw text
        log.exception("notice template failed to render")
        return str(text)


def _wording(session: so.Session, template: NoticeTemplate, locale: str) -> tuple[str, str]:
    override = session.scalars(
        sa.select(NoticeTemplateOverride).where(
            NoticeTemplateOverride.kind == template.kind, NoticeTemplateOverride.locale == locale
        )
    ).first()
    if override is not None:
        return override.title, override.body
    with force_locale(locale):
        return str(template.title), str(template.body)


# --- the one call for modules ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Recipients:
    """Whom a notice is for: people by id, and/or everyone holding a role on an org unit."""

    user_ids: tuple[int, ...] = ()
    role: str | None = None
    org_unit_id: int | None = None


def to_user(user_id: int) -> Recipients:
    return Recipients(user_ids=(user_id,))


def to_role(role: str, org_unit_id: int) -> Recipients:
    return Recipients(role=role, org_unit_id=org_unit_id)


def _resolve(session: so.Session, to: Recipients) -> list[Any]:
    from tenants.models import RoleGrant, User

    ids = set(to.user_ids)
    if to.role is not None and to.org_unit_id is not None:
        ids |= set(session.scalars(
            sa.select(RoleGrant.user_id).where(RoleGrant.role == to.role, RoleGrant.org_unit_id == to.org_unit_id)
        ))
    if not ids:
        return []
    # a notice needs the people's phones and addresses, never their role grants (which a user loads by default,
    # with a composite-key IN that PostgreSQL plans slowly for hundreds of people)
    return list(session.scalars(sa.select(User).options(so.lazyload(User.grants))
                                .where(User.id.in_(ids), User.active.is_(True)).order_by(User.id)))


def notify(
    session: so.Session, to: Recipients | int, kind: str, context: Mapping[str, Any] | None = None, *,
    url: str | None = None, module: str | None = None, urgent: bool | None = None, registry: Iterable[Any] = (),
    tenant: Any = None, event_key: str | None = None,
) -> list[Notification]:
    """Notify people in the caller's transaction: the inbox row now, outside channels through the outbox.

    `event_key` names the event (e.g. "case:123:dispatched"): the same event notified twice produces the
    same idempotency keys, so a retried request does not send twice. A notice on behalf of a module that
    is switched off for the tenant is not written at all. The context keys a template names in `secrets` (a
    phone code, a set-password link) are masked in the inbox, the outbox's text and the log; the outbox keeps
    the message sealed for the worker that sends it.
    """
    from flask import current_app, has_app_context

    from saas.modules import enabled_keys
    from tenants.models import Tenant

    if module is not None and module not in enabled_keys(session):
        log.info("notice %s dropped: module %s is off", kind, module)
        return []
    if not registry and has_app_context():
        registry = current_app.extensions["saas.modules"]
    template = templates(registry).get(kind)
    if template is None:
        raise LookupError(f"no notice template {kind!r}")
    if tenant is None:
        from saas.db import current_tenant_id

        tenant = session.get(Tenant, current_tenant_id(session))
    is_urgent = template.urgent if urgent is None else urgent
    recipients = _resolve(session, to if isinstance(to, Recipients) else to_user(to))
    context = dict(context or {})
    title_t, body_t = _wording(session, template, "zh_CN")
    # what is stored and logged is rendered with every secret masked; the message itself, with the secret,
    # is only ever stored encrypted in the outbox (`sealed`)
    shown = {**context, **dict.fromkeys(template.secrets, SECRET_MASK)}
    title = render(title_t, shown, tenant.timezone)[:200]
    body = render(body_t, shown, tenant.timezone)
    sealed = _seal(render(title_t, context, tenant.timezone)[:200], render(body_t, context, tenant.timezone),
                   [str(context.get(k, "")) for k in template.secrets]) if template.secrets else None
    inbox_title = title
    if template.secrets and template.inbox_title is not None:
        with force_locale("zh_CN"):
            inbox_title = str(template.inbox_title)
    event = event_key or f"{kind}:{utcnow().isoformat()}:{id(context)}"
    configured = _configured_channels(session)
    chosen = _preferences(session, [user.id for user in recipients], template.kind)
    items = []
    for user in recipients:
        item = Notification(user_id=user.id, kind=kind, title=inbox_title, body="" if template.secrets else body,
                            url=url, urgent=is_urgent)
        session.add(item)
        items.append(item)
        for channel in _channels_for(chosen.get(user.id), template):
            address = user.phone if channel == "sms" else getattr(user, "email", None)
            if channel in configured and address:
                session.add(Delivery(channel=channel, kind=kind, module=module, user_id=user.id, address=address,
                                     title=title, body=body, urgent=is_urgent, sealed=sealed is not None,
                                     sealed_enc=sealed, idempotency_key=_key(event, channel, str(user.id))))
    if template.robot:  # a group robot is never told a secret: it gets the masked wording
        for channel in ROBOT_CHANNELS:
            if channel in configured:
                session.add(Delivery(channel=channel, kind=kind, module=module, title=title, body=body,
                                     urgent=is_urgent, idempotency_key=_key(event, channel, "robot")))
    log.info("notice %s for %d people: %s", kind, len(items), title)
    session.info["outbox_dirty"] = True
    session.info.setdefault("outbox_tenants", set()).add(tenant.id)
    return items


def _seal(title: str, body: str, hidden: list[str]) -> str:
    """The message as sent, with its secrets, encrypted with the kernel's Fernet key (saas.secrets)."""
    return secrets_at_rest.encrypt(json.dumps({"title": title, "body": body, "secrets": hidden}, ensure_ascii=False))


def _key(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:40]


def _configured_channels(session: so.Session) -> set[str]:
    configured = set(session.scalars(sa.select(ChannelConfig.channel).where(ChannelConfig.enabled.is_(True))))
    if platform_sms() is not None:
        configured.add("sms")
    return configured


def platform_sms() -> dict[str, Any] | None:
    """The platform's own SMS gateway (PLATFORM_SMS_URL): a district without a gateway of its own, a new one
    above all, still gets its phone codes and set-password links."""
    from flask import current_app, has_app_context

    if not has_app_context() or not current_app.config.get("PLATFORM_SMS_URL"):
        return None
    return {"settings": {"url": current_app.config["PLATFORM_SMS_URL"],
                         "sign_name": current_app.config.get("PLATFORM_SMS_SIGN") or ""},
            "secret": current_app.config.get("PLATFORM_SMS_TOKEN") or None}


def _preferences(session: so.Session, user_ids: list[int], kind: str) -> dict[int, tuple[str, ...]]:
    """The channels each recipient chose for this kind, in one query (not one per person)."""
    if not user_ids:
        return {}
    rows = session.execute(sa.select(NoticePreference.user_id, NoticePreference.channels).where(
        NoticePreference.user_id.in_(user_ids), NoticePreference.kind == kind))
    return {user_id: tuple(channels) for user_id, channels in rows}


def _channels_for(pref: tuple[str, ...] | None, template: NoticeTemplate) -> list[str]:
    chosen = template.channels if pref is None else pref
    if template.urgent:
        # urgent notices (a fall, a phone code) go out on their default channels whatever was chosen
        chosen = tuple(dict.fromkeys((*template.channels, *chosen)))
    return [c for c in chosen if c in PERSONAL_CHANNELS]


def outbox_counts(session: so.Session) -> dict[str, dict[str, int]]:
    """Deliveries by status for every district, by slug: the platform's view (the CLI's `outbox status`, the
    metrics). Each district is read under its own tenant, as row-level security wants: one statement each."""
    from saas import db
    from tenants.models import Tenant

    out: dict[str, dict[str, int]] = {}
    for tenant_id, slug in session.execute(sa.select(Tenant.id, Tenant.slug).order_by(Tenant.slug)).all():
        with db.tenant_context(tenant_id):
            rows = session.execute(sa.select(Delivery.status, sa.func.count()).group_by(Delivery.status)).all()
        out[slug] = {status: count for status, count in rows}
    return out


def unread_count(session: so.Session, user_id: int) -> int:
    return session.scalar(
        sa.select(sa.func.count()).select_from(Notification).where(
            Notification.user_id == user_id, Notification.read_at.is_(None)
        )
    ) or 0
