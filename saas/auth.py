"""Who is asking: staff passwords (argon2), citizens' phone codes, personal API tokens, and the gates on views."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
import sqlalchemy.orm as so
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import abort, current_app, g, redirect, request, session, url_for

from saas import db
from saas.db import utcnow
from tenants.models import ApiToken, PhoneCode, PlatformOperator, User

# OWASP's minimum for argon2id: about 30 ms a check here, where the library default costs 150 ms and
# turns a login flood into a denial of service
hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_DUMMY_HASH = hasher.hash("timing-equaliser")

TOKEN_PREFIX = "wgt_"  # noqa: S105 - a visible prefix, not a secret
PHONE_CODE_TTL = dt.timedelta(minutes=10)
PHONE_CODE_ATTEMPTS = 5

F = TypeVar("F", bound=Callable[..., Any])


def hash_password(password: str) -> str:
    return hasher.hash(password)


def check_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the account exists."""
    try:
        return hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def find_staff(login: str) -> User | None:
    """A staff member of the current tenant by username or phone number."""
    from saas.schemas import normalize_phone

    login = login.strip()
    phone = normalize_phone(login)
    cond = User.username == login if phone is None else sa.or_(User.phone == phone, User.username == login)
    return db.session.scalars(sa.select(User).where(cond, User.kind == "staff")).first()


def authenticate_staff(login: str, password: str) -> User | None:
    user = find_staff(login)
    ok = check_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        return None
    if hasher.check_needs_rehash(user.password_hash or ""):
        user.password_hash = hash_password(password)
    return user


def sign_in(user: User) -> None:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    session["uid"] = user.id
    session["tid"] = user.tenant_id
    session.permanent = True


def sign_out() -> None:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


# --- API tokens -----------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for `user`; the plain token is returned once and only its hash is kept."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, prefix=plain[:10], token_hash=_token_hash(plain))
    db.session.add(row)
    return row, plain


def user_for_token(plain: str) -> User | None:
    if not plain.startswith(TOKEN_PREFIX) or len(plain) > 200:
        return None
    row = db.session.scalars(
        sa.select(ApiToken).where(ApiToken.token_hash == _token_hash(plain), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    user = db.session.scalars(sa.select(User).where(User.id == row.user_id, User.active.is_(True))).first()
    if user is not None:
        now = utcnow()
        if row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=5):
            row.last_used_at = now
            db.session.commit()
    return user


# --- phone codes ----------------------------------------------------------------------------------


def _code_hash(phone: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def issue_phone_code(phone: str) -> tuple[PhoneCode, str]:
    """A six-digit code for `phone` in the current tenant, and its row; the caller sends it and commits."""
    code = f"{secrets.randbelow(1_000_000):06d}"
    row = PhoneCode(phone=phone, code_hash=_code_hash(phone, code), expires_at=utcnow() + PHONE_CODE_TTL)
    db.session.add(row)
    db.session.flush()
    return row, code


def send_phone_code(phone: str) -> User:
    """Issue a code for a resident's phone and send it through the notification layer; the caller commits.

    The notice is keyed by the code's row, never by the code itself: two codes for one phone may be the
    same six digits, and each must still go out.
    """
    from saas.notify import notify

    row, code = issue_phone_code(phone)
    person = citizen_for_phone(phone)
    notify(db.session(), person.id, "auth.phone_code", {"code": code}, event_key=f"phone-code:{row.id}",
           tenant=g.tenant)
    return person


def check_phone_code(phone: str, code: str) -> bool:
    """True once for the newest unexpired code of `phone`; wrong tries are counted and limited."""
    row = db.session.scalars(
        sa.select(PhoneCode)
        .where(PhoneCode.phone == phone, PhoneCode.used_at.is_(None), PhoneCode.expires_at > utcnow())
        .order_by(PhoneCode.created_at.desc())
    ).first()
    if row is None or row.attempts >= PHONE_CODE_ATTEMPTS:
        return False
    if hmac.compare_digest(row.code_hash, _code_hash(phone, code.strip())):
        row.used_at = utcnow()
        return True
    row.attempts += 1
    return False


class StaffPhone(Exception):
    """The number belongs to a staff account, which signs in with its password, never with a phone code."""


def citizen_for_phone(phone: str, session: so.Session | None = None) -> User:
    """The resident with this phone number in the session's tenant, made on first use."""
    s = session if session is not None else db.session()
    user = s.scalars(sa.select(User).where(User.phone == phone)).first()
    if user is not None and user.kind != "citizen":
        raise StaffPhone(phone)
    if user is None:
        user = User(name=phone[:3] + "****" + phone[-4:], phone=phone, kind="citizen")
        s.add(user)
        s.flush()
    return user


# --- who is asking --------------------------------------------------------------------------------


def load_identity() -> None:
    g.user = None
    g.operator = None
    tenant = g.get("tenant")
    header = request.headers.get("Authorization", "")
    if tenant is not None and request.path.startswith("/api/"):
        # the API answers to bearer tokens only, so a browser's cookie can never be replayed against it
        if header:
            scheme, _, value = header.partition(" ")
            user = user_for_token(value.strip()) if scheme.lower() == "bearer" else None
            if user is None:
                abort(401)
            g.user = user
        return
    if tenant is not None and session.get("tid") == tenant.id and isinstance(session.get("uid"), int):
        g.user = db.session.scalars(sa.select(User).where(User.id == session["uid"], User.active.is_(True))).first()
    elif tenant is None and isinstance(session.get("operator"), int):
        g.operator = db.session.get(PlatformOperator, session["operator"])


def api_login_required() -> None:
    """Every API route of a district needs a token: 401 before any argument is even read."""
    if g.get("user") is None:
        abort(401)


def login_required(view: F) -> F:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None:
            if request.path.startswith("/api/"):
                abort(401)
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def require(permission: str) -> Callable[[F], F]:
    """Gate a view on a permission anywhere in the tenant (views narrow by org unit themselves)."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from saas.context import can

            if g.get("user") is None:
                return login_required(view)(*args, **kwargs)
            if not can(permission):
                abort(403)
            return view(*args, **kwargs)

        wrapper.required_permission = permission  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def operator_required(view: F) -> F:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("operator") is None:
            return redirect(url_for("platform.login", next=request.path))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
