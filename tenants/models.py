"""Tenants (districts), the org tree, people, role grants, module switches, API tokens, calendars."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from saas.db import Base, TenantScoped, utcnow
from saas.ids import new_id

ORG_KINDS = ("district", "street", "community", "grid", "compound", "building", "unit", "department", "section")
# each kind's label, marked for extraction: templates translate a unit's kind with `_(u.kind)`
ORG_KIND_LABELS = {
    "district": _l("district"),
    "street": _l("street"),
    "community": _l("community"),
    "grid": _l("grid"),
    "compound": _l("compound"),
    "building": _l("building"),
    "unit": _l("unit"),
    "department": _l("department"),
    "section": _l("section"),
}
# which kind may hang under which: the tree's shape is a rule, not a convention
ORG_PARENTS: dict[str, tuple[str, ...]] = {
    "district": (),
    "street": ("district",),
    "community": ("street",),
    "grid": ("community",),
    "compound": ("grid", "community"),
    "building": ("compound",),
    "unit": ("building",),
    "department": ("district",),
    "section": ("department",),
}


class Tenant(Base):
    __tablename__ = "tenants"

    id: so.Mapped[int] = so.mapped_column(primary_key=True, default=new_id)
    slug: so.Mapped[str] = so.mapped_column(sa.String(40), unique=True)
    name_zh: so.Mapped[str] = so.mapped_column(sa.String(80))
    name_en: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64), default="Asia/Shanghai")
    hostname: so.Mapped[str | None] = so.mapped_column(sa.String(255), unique=True)
    # notices that are not urgent wait out the quiet hours ("22:00" to "07:00", local time)
    quiet_start: so.Mapped[str | None] = so.mapped_column(sa.String(5))
    quiet_end: so.Mapped[str | None] = so.mapped_column(sa.String(5))
    # False while the platform has the district suspended: it answers a notice page, its jobs and notices wait
    active: so.Mapped[bool] = so.mapped_column(default=True)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    def display_name(self, locale: str) -> str:
        return self.name_en if locale.startswith("en") and self.name_en else self.name_zh


class PlatformOperator(Base):
    """People who run the SaaS itself; they belong to no district."""

    __tablename__ = "platform_operators"

    id: so.Mapped[int] = so.mapped_column(primary_key=True, default=new_id)
    username: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(80))
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(255))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)


class OperatorSession(Base):
    """A platform operator's signed-in browser, ended on the server like a district's `UserSession`.

    No district owns it: only the platform's pages (no tenant) read it.
    """

    __tablename__ = "operator_sessions"

    id: so.Mapped[int] = so.mapped_column(sa.BigInteger, primary_key=True, default=new_id)
    operator_id: so.Mapped[int] = so.mapped_column(sa.BigInteger, sa.ForeignKey("platform_operators.id"), index=True)
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    last_seen_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    ended_at: so.Mapped[dt.datetime | None]
    end_reason: so.Mapped[str | None] = so.mapped_column(sa.String(16))


class OrgUnit(TenantScoped, Base):
    __tablename__ = "org_units"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "code"),
        sa.ForeignKeyConstraint(["tenant_id", "parent_id"], ["org_units.tenant_id", "org_units.id"]),
        sa.Index("ix_org_units_tenant_path", "tenant_id", "path"),
        sa.CheckConstraint("kind IN ('" + "','".join(ORG_KINDS) + "')", name="kind"),
    )

    parent_id: so.Mapped[int | None]
    kind: so.Mapped[str] = so.mapped_column(sa.String(16))
    code: so.Mapped[str] = so.mapped_column(sa.String(64))
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    # "/<root id>/.../<own id>/": a unit's subtree is every path that starts with its own
    path: so.Mapped[str] = so.mapped_column(sa.String(1024), default="")
    attrs: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)

    parent: so.Mapped[OrgUnit | None] = so.relationship(
        primaryjoin=lambda: sa.and_(
            OrgUnit.tenant_id == so.remote(OrgUnit.tenant_id), so.foreign(OrgUnit.parent_id) == so.remote(OrgUnit.id)
        ),
        viewonly=True,
    )

    @property
    def depth(self) -> int:
        return max(self.path.count("/") - 2, 0)


class User(TenantScoped, Base):
    """A person of one district: staff who sign in with a password, or a citizen verified by phone."""

    __tablename__ = "users"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "phone"), sa.UniqueConstraint("tenant_id", "username"))

    name: so.Mapped[str] = so.mapped_column(sa.String(80))
    phone: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    username: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    email: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    password_hash: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    kind: so.Mapped[str] = so.mapped_column(sa.String(16), default="staff")
    active: so.Mapped[bool] = so.mapped_column(default=True)
    # a temporary password an admin set: every page sends the person to change it until they have
    must_change_password: so.Mapped[bool] = so.mapped_column(default=False)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    grants: so.Mapped[list[RoleGrant]] = so.relationship(
        primaryjoin=lambda: sa.and_(User.tenant_id == RoleGrant.tenant_id, User.id == so.foreign(RoleGrant.user_id)),
        viewonly=True,
        lazy="selectin",
    )


class RoleGrant(TenantScoped, Base):
    """A role held by a person on one org unit (and so on its whole subtree)."""

    __tablename__ = "role_grants"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "user_id", "role", "org_unit_id"),
        sa.ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "org_unit_id"], ["org_units.tenant_id", "org_units.id"]),
    )

    user_id: so.Mapped[int]
    role: so.Mapped[str] = so.mapped_column(sa.String(40))
    org_unit_id: so.Mapped[int]

    org_unit: so.Mapped[OrgUnit] = so.relationship(
        primaryjoin=lambda: sa.and_(
            RoleGrant.tenant_id == OrgUnit.tenant_id, so.foreign(RoleGrant.org_unit_id) == OrgUnit.id
        ),
        viewonly=True,
        lazy="selectin",
    )


class ModuleSwitch(TenantScoped, Base):
    __tablename__ = "module_switches"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "module_key"),)

    module_key: so.Mapped[str] = so.mapped_column(sa.String(40))
    enabled: so.Mapped[bool] = so.mapped_column(default=False)
    settings: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)
    updated_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow, onupdate=utcnow)
    # when the module's provisioning hook ran for this district (once, at the first switch on)
    provisioned_at: so.Mapped[dt.datetime | None] = so.mapped_column(default=None)


class UserSession(TenantScoped, Base):
    """A signed-in browser, held on the server so it can be ended: the cookie carries a secret, the row its hash.

    The identity is loaded with the row in one statement (saas.auth.load_identity); the idle and absolute
    lifetimes are the deployment's settings, shorter for staff than for residents.
    """

    __tablename__ = "user_sessions"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "token_hash"),
        sa.ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
        sa.Index("ix_user_sessions_user", "tenant_id", "user_id"),
    )

    user_id: so.Mapped[int]
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    last_seen_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    ended_at: so.Mapped[dt.datetime | None]
    # why it ended: logout, expired, password, deactivated, role (kept for the person's own session list)
    end_reason: so.Mapped[str | None] = so.mapped_column(sa.String(16))


class ApiToken(TenantScoped, Base):
    """A personal API token; only its hash is kept, bound to the tenant by the row's key."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "token_hash"),
        sa.ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
    )

    user_id: so.Mapped[int]
    name: so.Mapped[str] = so.mapped_column(sa.String(80))
    prefix: so.Mapped[str] = so.mapped_column(sa.String(16))
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    last_used_at: so.Mapped[dt.datetime | None]
    revoked_at: so.Mapped[dt.datetime | None]


class CalendarDay(TenantScoped, Base):
    """A tenant's override of the national calendar: a holiday or a make-up working day (调休)."""

    __tablename__ = "calendar_days"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "day"),)

    day: so.Mapped[dt.date]
    is_workday: so.Mapped[bool]
    note: so.Mapped[str] = so.mapped_column(sa.String(120), default="")


class PhoneCode(TenantScoped, Base):
    """A one-time code sent to a phone; only its hash is kept."""

    __tablename__ = "phone_codes"
    __table_args__ = (sa.Index("ix_phone_codes_phone", "tenant_id", "phone", "created_at"),)

    phone: so.Mapped[str] = so.mapped_column(sa.String(20))
    code_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    expires_at: so.Mapped[dt.datetime]
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    used_at: so.Mapped[dt.datetime | None]


class PasswordToken(TenantScoped, Base):
    """A one-time link to set a password (a new admin's first, or one an admin sends); only its hash is kept."""

    __tablename__ = "password_tokens"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "token_hash"),
        sa.ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
        sa.Index("ix_password_tokens_user", "tenant_id", "user_id"),
    )

    user_id: so.Mapped[int]
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    expires_at: so.Mapped[dt.datetime]
    used_at: so.Mapped[dt.datetime | None]
