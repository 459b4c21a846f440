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
from flask import abort, current_app, g, has_request_context, make_response, redirect, request, session, url_for

from saas import db
from saas.db import utcnow
from tenants.models import ApiToken, OperatorSession, PhoneCode, PlatformOperator, User, UserSession

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


# --- sessions -------------------------------------------------------------------------------------
# The cookie is signed, not secret-free: it names the person and carries a random secret whose hash is a
# row of `user_sessions`. The row is what makes a session end on the server: logout, a password change, a
# deactivated account, a removed role or an idle or absolute lifetime ends it, and the cookie, however
# copied, no longer signs anyone in.

SESSION_TOUCH = dt.timedelta(minutes=1)  # last_seen_at is written at most this often: no UPDATE per request
SESSION_RECORD_KEPT = dt.timedelta(days=30)


def _session_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def session_lifetimes(user: User) -> tuple[dt.timedelta, dt.timedelta]:
    """(idle, absolute) lifetime of `user`'s sessions, from the deployment's settings."""
    who = "CITIZEN" if user.kind == "citizen" else "STAFF"
    cfg = current_app.config
    return (dt.timedelta(minutes=cfg[f"SESSION_{who}_IDLE_MINUTES"]),
            dt.timedelta(minutes=cfg[f"SESSION_{who}_ABSOLUTE_MINUTES"]))


def start_session(user: User, s: so.Session | None = None) -> str:
    """A new server-side session for `user`; returns the secret the cookie carries. The caller commits."""
    s = s if s is not None else db.session()
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    # the person's sessions that are past any lifetime by a month go: ended ones stay that long as a record
    s.execute(sa.delete(UserSession)
              .where(UserSession.user_id == user.id,
                     UserSession.created_at < now - session_lifetimes(user)[1] - SESSION_RECORD_KEPT)
              .execution_options(synchronize_session=False))
    s.add(UserSession(tenant_id=user.tenant_id, user_id=user.id, token_hash=_session_hash(secret),
                      created_at=now, last_seen_at=now))
    s.flush()
    return secret


def end_sessions(user_id: int, except_current: bool = False, *, reason: str = "revoked",
                 s: so.Session | None = None) -> int:
    """End every open session of a person of the current tenant (all their browsers); the caller commits.

    Call it when a password changes, an account is deactivated or a role is removed. `except_current`
    keeps the browser making this request signed in (a person changing their own password). Returns
    how many sessions ended.
    """
    s = s if s is not None else db.session()
    stmt = (sa.update(UserSession)
            .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
            .values(ended_at=utcnow(), end_reason=reason)
            .execution_options(synchronize_session=False))
    current = session.get("sid") if except_current and has_request_context() else None
    if isinstance(current, str):
        stmt = stmt.where(UserSession.token_hash != _session_hash(current))
    return s.execute(stmt).rowcount or 0


def password_changed(user: User) -> None:
    """`user`'s password was just set, changed or reset (by them, an admin or a phone code).

    Every session of the person ends, in every browser: whoever knew the old password is signed out. A person
    changing their own password is signed in again by the page with a fresh session. The caller commits.
    """
    end_sessions(user.id, reason="password")


# pages a person with a temporary password may still open: the change page itself, signing out, the language
# (and the inbox badge every page polls, which must not swap the change page into itself)
PASSWORD_CHANGE_OPEN = frozenset({"passwords.change", "passwords.open_link", "passwords.set_password",
                                   "auth.logout", "shell.set_language", "shell.set_elder_mode", "shell.inbox_count",
                                   "static"})


def require_password_change() -> Any:
    """Every page sends a person whose admin set a temporary password to change it first."""
    user = g.get("user")
    if user is None or not user.must_change_password or not request.path.startswith("/t/"):
        return None
    if request.endpoint in PASSWORD_CHANGE_OPEN:
        return None
    target = url_for("passwords.change")
    if request.headers.get("HX-Request") == "true":
        # an htmx fragment request would swap the whole change page into its target: the browser goes there
        response = make_response("", 200)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def sign_in(user: User) -> None:
    """Start a session for `user` in this browser (a fresh one: the old cookie's session ends); caller commits."""
    _end_current("replaced")
    _forget()
    session["uid"] = user.id
    session["tid"] = user.tenant_id
    session["sid"] = start_session(user)
    session.permanent = True


def sign_out() -> None:
    """End this browser's session on the server and forget it here; the caller commits."""
    _end_current("logout")
    _forget()


def _forget() -> None:
    """Clear this browser's cookie of who it was, keeping its language."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def _end_current(reason: str) -> None:
    secret = session.get("sid")
    if isinstance(secret, str) and g.get("tenant") is not None and session.get("tid") == g.tenant.id:
        db.session.execute(
            sa.update(UserSession)
            .where(UserSession.token_hash == _session_hash(secret), UserSession.ended_at.is_(None))
            .values(ended_at=utcnow(), end_reason=reason)
            .execution_options(synchronize_session=False)
        )


def _session_user(tenant_id: int) -> User | None:
    """The person of this browser's open session, loaded with the session row in one statement."""
    uid, secret = session.get("uid"), session.get("sid")
    if session.get("tid") != tenant_id or not isinstance(uid, int) or not isinstance(secret, str):
        return None
    found = db.session.execute(
        sa.select(User, UserSession)
        .join(UserSession, sa.and_(UserSession.tenant_id == User.tenant_id, UserSession.user_id == User.id))
        .where(User.id == uid, User.active.is_(True), UserSession.token_hash == _session_hash(secret),
               UserSession.ended_at.is_(None))
    ).first()
    if found is None:
        _forget()
        return None
    user, row = found
    return user if _still_open(row, *session_lifetimes(user)) else None


def _still_open(row: UserSession | OperatorSession, idle: dt.timedelta, absolute: dt.timedelta) -> bool:
    """End a session past its idle or absolute lifetime; note that it was seen (at most once a minute)."""
    now = utcnow()
    if now - row.last_seen_at > idle or now - row.created_at > absolute:
        row.ended_at, row.end_reason = now, "expired"
        db.session.commit()
        _forget()
        return False
    if now - row.last_seen_at > SESSION_TOUCH:
        row.last_seen_at = now
        db.session.commit()
    return True


# platform operators: the same, in their own table (no district owns it), with the staff's lifetimes


def sign_in_operator(operator: PlatformOperator) -> None:
    """Start an operator's session in this browser; the caller commits."""
    sign_out_operator("replaced")
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(OperatorSession(operator_id=operator.id, token_hash=_session_hash(secret), created_at=now,
                                   last_seen_at=now))
    db.session.flush()
    session["operator"] = operator.id
    session["osid"] = secret
    session.permanent = True


def sign_out_operator(reason: str = "logout") -> None:
    """End this browser's operator session on the server and forget it here; the caller commits."""
    secret = session.pop("osid", None)
    session.pop("operator", None)
    if isinstance(secret, str):
        db.session.execute(
            sa.update(OperatorSession)
            .where(OperatorSession.token_hash == _session_hash(secret), OperatorSession.ended_at.is_(None))
            .values(ended_at=utcnow(), end_reason=reason)
        )


def _session_operator() -> PlatformOperator | None:
    op_id, secret = session.get("operator"), session.get("osid")
    if not isinstance(op_id, int) or not isinstance(secret, str):
        return None
    found = db.session.execute(
        sa.select(PlatformOperator, OperatorSession)
        .join(OperatorSession, OperatorSession.operator_id == PlatformOperator.id)
        .where(PlatformOperator.id == op_id, OperatorSession.token_hash == _session_hash(secret),
               OperatorSession.ended_at.is_(None))
    ).first()
    if found is None:
        _forget()
        return None
    operator, row = found
    cfg = current_app.config
    idle = dt.timedelta(minutes=cfg["SESSION_STAFF_IDLE_MINUTES"])
    absolute = dt.timedelta(minutes=cfg["SESSION_STAFF_ABSOLUTE_MINUTES"])
    return operator if _still_open(row, idle, absolute) else None


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


def send_phone_code(phone: str, person: User | None = None) -> None:
    """Issue a code for a phone and send it through the notification layer; the caller commits.

    Without `person` the phone is a resident's (made on first use); a staff member resetting a forgotten
    password passes their own account. Every door that sends a code calls this, and answers the same whatever
    happened here: a staff number asked for through a resident's door (it signs in with its password) gets
    nothing, and the answer must not tell it apart, or the form would list who is staff. The notice is keyed
    by the code's row, never by the code itself: two codes for one phone may be the same six digits, and each
    must still go out. The code leaves in clear only in the message to the SMS gateway (saas.notify seals it);
    the embedded default also shows it on the page (`shows_codes_on_page`).
    """
    from saas.notify import notify

    if person is None:
        if find_staff(phone) is not None:
            return
        try:
            person = citizen_for_phone(phone)
        except StaffPhone:
            return
    row, code = issue_phone_code(phone)
    notify(db.session(), person.id, "auth.phone_code", {"code": code}, event_key=f"phone-code:{row.id}",
           tenant=g.tenant)
    if shows_codes_on_page():
        g.dev_phone_code = code


def shows_codes_on_page() -> bool:
    """True only on the embedded default, where no SMS gateway exists: the page then shows the code it sent.

    The embedded default is recognised by what production cannot be: its database is the SQLite file in the
    instance folder (no `DATABASE_URL`), and no Redis (no `REDIS_URL`). There is deliberately no setting to
    turn this on: a deployment with PostgreSQL or Redis, which production is (README, "Production"), never
    shows a code, whatever else it configures. The code is shown in the response only, never logged or stored.
    """
    from saas.config import INSTANCE

    config = current_app.config
    embedded_url = f"sqlite:///{INSTANCE / 'wanggetong.sqlite'}"
    return (config.get("DATABASE_URL") == embedded_url and not config.get("REDIS_URL")
            and db.session.get_bind().dialect.name == "sqlite")


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


def record_refused(action: str, account: User | None, *, phone: str | None = None) -> None:
    """A refused sign-in (`auth.login_failed`, `auth.code_failed`) in the district's audit log, with the address
    it came from; the caller commits. The account the name belongs to is named (an unknown name is not: people
    type passwords into the name field), a phone only masked, and never what was typed as password or code."""
    from saas import audit
    from saas.schemas import mask_phone

    after: dict[str, Any] = {}
    if account is not None:
        after["account"] = account.username or account.name
    if phone:
        after["phone"] = mask_phone(phone)
    audit.record(db.session(), None, action, "user", account.id if account is not None else "", after=after or None,
                 ip=request.remote_addr)


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
    if tenant is not None and "uid" in session:
        g.user = _session_user(tenant.id)
    elif tenant is None and "operator" in session and db.is_platform():
        # only the platform's pages act for the platform, and only they may read its operators
        g.operator = _session_operator()


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
