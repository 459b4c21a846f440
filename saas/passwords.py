"""Staff passwords: the rules, one-time set-password links, temporary passwords, changes and resets by phone code.

Services take the session and the actor explicitly and never read request globals (but for the address a link
points to), so the platform pages, the district's pages and the CLI share them. Every change calls
`saas.auth.password_changed`, where the person's other sessions end, and is written to the audit log without
the password. A link's token is shown once (to the operator or admin) and sent by SMS; only its hash is kept,
and the SMS's stored text has it blotted out (the notice template declares the link a secret: `saas.notify` seals it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app, has_request_context, request
from flask_babel import gettext as _

from saas import audit
from saas.auth import check_password, hash_password, password_changed
from saas.db import utcnow
from tenants.models import PasswordToken, Tenant, User

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
LINK_NOTICE = "auth.password_link"
TOKEN_BYTES = 32


class PasswordRefused(ValueError):
    """A rule refused the change; `errors` maps fields to messages in the person's language. Nothing changed."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__(errors)


def password_errors(password: str | None, repeat: str | None = None, field: str = "password") -> dict[str, str]:
    """The password rules, for every door: at least 8 characters (at most 128), typed the same twice."""
    errors: dict[str, str] = {}
    password = password or ""
    if len(password) < PASSWORD_MIN_LENGTH:
        errors[field] = _("At least 8 characters.")
    elif len(password) > PASSWORD_MAX_LENGTH:
        errors[field] = _("At most 128 characters.")
    elif repeat is not None and repeat != password:
        errors[f"{field}2"] = _("The two passwords differ.")
    return errors


def _set(user: User, password: str, *, temporary: bool) -> None:
    user.password_hash = hash_password(password)
    user.must_change_password = temporary
    password_changed(user)


# --- one-time links -------------------------------------------------------------------------------


def _token_hash(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


def link_hours() -> int:
    return int(current_app.config.get("PASSWORD_LINK_HOURS", 72))


def link_url(tenant: Tenant, plain: str) -> str:
    """The absolute address of a link: PUBLIC_BASE_URL, else the address this request came to."""
    base = current_app.config.get("PUBLIC_BASE_URL") or ""
    if not base:
        base = request.host_url if has_request_context() else "http://127.0.0.1:5000"
    return f"{base.rstrip('/')}/t/{tenant.slug}/password/{plain}"


def issue_link(session: so.Session, actor: Any, tenant: Tenant, user: User, *, ip: str | None = None) -> str:
    """A new one-time link for `user` (any earlier unused one stops working); sent by SMS when they have a phone.

    Returns the link, to be shown once to whoever asked for it; the caller commits.
    """
    if user.kind != "staff":
        raise PasswordRefused({"_form": _("Only staff sign in with a password.")})
    now = utcnow()
    session.execute(sa.update(PasswordToken).where(PasswordToken.user_id == user.id, PasswordToken.used_at.is_(None))
                    .values(used_at=now).execution_options(synchronize_session=False))
    plain = secrets.token_urlsafe(TOKEN_BYTES)
    hours = link_hours()
    row = PasswordToken(user_id=user.id, token_hash=_token_hash(plain), created_at=now,
                        expires_at=now + dt.timedelta(hours=hours))
    session.add(row)
    session.flush()
    link = link_url(tenant, plain)
    audit.record(session, actor, "user.password_link", "user", user.id,
                 after={"name": user.name, "expires_at": row.expires_at.isoformat(timespec="minutes"),
                        "sms": bool(user.phone)}, ip=ip)
    if user.phone:
        from saas.notify import notify

        notify(session, user.id, LINK_NOTICE, {"district": tenant.name_zh, "link": link, "hours": hours},
               event_key=f"password-link:{row.id}", tenant=tenant)
    return link


def open_link(session: so.Session, plain: str) -> PasswordToken | None:
    """The unused, unexpired link of the session's district with this token, or None (whatever the reason)."""
    if not plain or len(plain) > 100:
        return None
    return session.scalars(sa.select(PasswordToken).where(
        PasswordToken.token_hash == _token_hash(plain), PasswordToken.used_at.is_(None),
        PasswordToken.expires_at > utcnow())).first()


def live_link(session: so.Session, link_id: Any) -> PasswordToken | None:
    """A link opened earlier in this browser (its id kept in the signed session), if still usable."""
    if not isinstance(link_id, int):
        return None
    return session.scalars(sa.select(PasswordToken).where(
        PasswordToken.id == link_id, PasswordToken.used_at.is_(None), PasswordToken.expires_at > utcnow())).first()


def use_link(session: so.Session, link: PasswordToken, password: str, repeat: str, *, ip: str | None = None) -> User:
    """Set the password of the link's person and spend the link; the caller commits."""
    errors = password_errors(password, repeat)
    user = session.scalars(sa.select(User).where(User.id == link.user_id, User.kind == "staff",
                                                 User.active.is_(True))).first()
    if user is None:
        errors["_form"] = _("This account is no longer active. Ask your administrator.")
    if errors:
        raise PasswordRefused(errors)
    assert user is not None
    # spent in one conditional statement: of two requests racing with the same link, one sets the password
    spent = session.execute(sa.update(PasswordToken).where(PasswordToken.id == link.id, PasswordToken.used_at.is_(None))
                            .values(used_at=utcnow()).execution_options(synchronize_session=False))
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        raise PasswordRefused({"_form": _("This link no longer works")})
    _set(user, password, temporary=False)
    audit.record(session, user, "user.password_set", "user", user.id, ip=ip)
    session.flush()
    return user


# --- what an admin does, what a person does -------------------------------------------------------


def set_temporary_password(session: so.Session, actor: Any, user: User, password: str, repeat: str, *,
                           ip: str | None = None) -> None:
    """An admin sets a password the person must change at their next sign-in."""
    if user.kind != "staff":
        raise PasswordRefused({"_form": _("Only staff sign in with a password.")})
    errors = password_errors(password, repeat)
    if errors:
        raise PasswordRefused(errors)
    _set(user, password, temporary=True)
    audit.record(session, actor, "user.password_temporary", "user", user.id, after={"name": user.name}, ip=ip)
    session.flush()


def change_password(session: so.Session, user: User, current: str, password: str, repeat: str, *,
                    ip: str | None = None) -> None:
    """A person changes their own password: the current one, then the new one twice."""
    errors = password_errors(password, repeat)
    if not check_password(user.password_hash, current or ""):
        errors = {"current": _("The current password is wrong."), **errors}
    elif not errors and password == current:
        errors["password"] = _("Choose a password different from the current one.")
    if errors:
        raise PasswordRefused(errors)
    _set(user, password, temporary=False)
    audit.record(session, user, "user.password_change", "user", user.id, ip=ip)
    session.flush()


def staff_by_phone(session: so.Session, phone: str) -> User | None:
    return session.scalars(sa.select(User).where(User.phone == phone, User.kind == "staff",
                                                 User.active.is_(True))).first()


def reset_with_code(session: so.Session, phone: str, code: str, password: str, repeat: str, *,
                    ip: str | None = None) -> User:
    """A staff member who forgot their password proves their phone with a code and sets a new one.

    The password rules are checked before the code, so a mistyped password does not spend the code; a wrong
    code counts against the code's tries (`saas.auth.check_phone_code`) and the caller commits that too.
    """
    from saas.auth import check_phone_code

    errors = password_errors(password, repeat)
    if errors:
        raise PasswordRefused(errors)
    user = staff_by_phone(session, phone)
    if user is None or not check_phone_code(phone, code):
        raise PasswordRefused({"code": _("The code is wrong or has expired.")})
    _set(user, password, temporary=False)
    audit.record(session, user, "user.password_reset", "user", user.id, ip=ip)
    session.flush()
    return user
