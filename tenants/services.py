"""Tenant rules: provisioning, module switches and settings, the org tree, staff and their roles.

Services take the session, the tenant and the actor explicitly and never read request globals, so the
pages, the API and the CLI share them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _

from saas import audit, db
from saas.actors import ServiceError
from saas.auth import end_sessions, hash_password
from saas.ids import new_id
from saas.modules import ModuleRegistry, SettingsError, validate_settings
from saas.permissions import RoleBook
from saas.schemas import mask_phone
from tenants.models import ORG_KIND_LABELS, ORG_PARENTS, ModuleSwitch, OrgUnit, RoleGrant, Tenant, User

SLUG = re.compile(r"^[a-z][a-z0-9-]{1,39}$")
RESERVED_SLUGS = {"api", "static", "platform", "admin", "open311", "healthz", "readyz", "lang"}


def create_tenant(
    session: so.Session, actor: Any, slug: str, name_zh: str, name_en: str = "", timezone: str = "Asia/Shanghai",
    hostname: str | None = None,
) -> Tenant:
    errors: dict[str, str] = {}
    if not SLUG.match(slug or "") or slug in RESERVED_SLUGS:
        errors["slug"] = _("Use 2 to 40 lowercase letters, digits or hyphens, starting with a letter.")
    elif session.scalars(sa.select(Tenant).where(Tenant.slug == slug)).first():
        errors["slug"] = _("This slug is already taken.")
    if not (name_zh or "").strip():
        errors["name_zh"] = _("This field is required.")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = _("Unknown time zone.")
    if errors:
        raise ServiceError(errors)
    from tenants.resolution import normalize_host

    tenant = Tenant(slug=slug, name_zh=name_zh.strip(), name_en=(name_en or "").strip(), timezone=timezone,
                    hostname=normalize_host(hostname) or None)
    session.add(tenant)
    session.flush()
    with db.tenant_context(tenant.id):
        district = OrgUnit(kind="district", code=slug, name=tenant.name_zh)
        district.tenant_id = tenant.id
        session.add(district)
        session.flush()
        district.path = f"/{district.id}/"
        audit.record(session, actor, "tenant.create", "tenant", tenant.id,
                     after={"slug": slug, "name_zh": tenant.name_zh})
        session.flush()
    return tenant


def provision_district(
    session: so.Session, book: RoleBook, actor: Any, *, slug: str, name_zh: str, name_en: str = "",
    timezone: str = "Asia/Shanghai", admin_name: str, admin_phone: str | None, ip: str | None = None,
) -> tuple[Tenant, User, str]:
    """A new district with its first admin, who gets a one-time link to set a password (shown and sent by SMS).

    Returns the tenant, the admin and the link; the caller commits (and shows the link once).
    """
    from saas import passwords

    admin_errors: dict[str, str] = {}
    if not (admin_name or "").strip():
        admin_errors["admin_name"] = _("This field is required.")
    if not admin_phone:
        admin_errors["admin_phone"] = _("This field is required.")
    try:
        tenant = create_tenant(session, actor, slug, name_zh, name_en, timezone)
    except ServiceError as err:
        raise ServiceError({**err.errors, **admin_errors}) from None
    if admin_errors:
        raise ServiceError(admin_errors)
    with db.tenant_context(tenant.id):
        admin = add_staff(session, actor, name=admin_name.strip(), phone=admin_phone, username=None, password=None)
        grant_role(session, book, actor, admin, "district_admin", district_root(session))
        link = passwords.issue_link(session, actor, tenant, admin, ip=ip)
        session.flush()
    return tenant, admin, link


def set_tenant_active(session: so.Session, actor: Any, tenant: Tenant, active: bool, *,
                      ip: str | None = None) -> bool:
    """Suspend or reactivate a district; its data stays. True when it changed (and was audited)."""
    if tenant.active == active:
        return False
    tenant.active = active
    with db.tenant_context(tenant.id):
        audit.record(session, actor, "tenant.reactivate" if active else "tenant.suspend", "tenant", tenant.id,
                     before={"active": not active}, after={"active": active}, ip=ip)
        session.flush()
    return True


def switch_row(session: so.Session, key: str) -> ModuleSwitch | None:
    return session.scalars(sa.select(ModuleSwitch).where(ModuleSwitch.module_key == key)).first()


def set_module(
    session: so.Session, registry: ModuleRegistry, actor: Any, key: str, enabled: bool, *, ip: str | None = None
) -> ModuleSwitch:
    """Switch a module on or off for the session's tenant; its data is never touched."""
    if key not in registry:
        raise ServiceError({"module": _("No such module.")})
    row = switch_row(session, key)
    before = row.enabled if row else False
    if row is None:
        row = ModuleSwitch(module_key=key, enabled=enabled, settings={})
        session.add(row)
        session.flush()
    row.enabled = enabled
    if before != enabled:
        audit.record(session, actor, "module.enable" if enabled else "module.disable", "module", key,
                     before={"enabled": before}, after={"enabled": enabled}, module=key, ip=ip)
    if enabled and row.provisioned_at is None:
        spec = registry.get(key)
        if spec is not None and spec.provision is not None:
            spec.provision(session, session.scalars(sa.select(Tenant).where(Tenant.id == row.tenant_id)).one())
        row.provisioned_at = db.utcnow()
    session.flush()
    return row


def update_module_settings(
    session: so.Session, registry: ModuleRegistry, actor: Any, key: str, raw: dict[str, Any], *,
    ip: str | None = None,
) -> dict[str, Any]:
    spec = registry.get(key)
    if spec is None:
        raise ServiceError({"module": _("No such module.")})
    try:
        values = validate_settings(spec, raw, gettext=_)
    except SettingsError as err:
        raise ServiceError(err.errors) from None
    row = switch_row(session, key)
    if row is None:
        row = ModuleSwitch(module_key=key, enabled=False, settings={})
        session.add(row)
    before = {**spec.defaults(), **(row.settings or {})}
    after = {**before, **values}
    if after != before:
        row.settings = {k: after[k] for k in spec.defaults()}
        changed = [k for k in after if after[k] != before.get(k)]
        audit.record(session, actor, "module.settings", "module", key,
                     before={k: before.get(k) for k in changed}, after={k: after[k] for k in changed},
                     module=key, ip=ip)
    session.flush()
    return after


# --- org tree -------------------------------------------------------------------------------------


def org_unit_by_code(session: so.Session, code: str) -> OrgUnit | None:
    return session.scalars(sa.select(OrgUnit).where(OrgUnit.code == code)).first()


def org_unit_errors(*, kind: str, code: str, name: str, parent_kind: str | None, code_taken: bool) -> dict[str, str]:
    """The rules for a new unit, given what the database knows; the import checks whole files with them."""
    errors: dict[str, str] = {}
    if kind not in ORG_PARENTS:
        errors["kind"] = _("Unknown kind of unit.")
    elif kind == "district":
        errors["kind"] = _("A district has exactly one root unit, made with the tenant.")
    elif parent_kind is None or parent_kind not in ORG_PARENTS[kind]:
        errors["parent"] = _("This kind of unit cannot be placed there.")
    if not code:
        errors["code"] = _("This field is required.")
    elif code_taken:
        errors["code"] = _("Code %(code)s is already used.", code=code)
    if not name:
        errors["name"] = _("This field is required.")
    return errors


def new_org_unit(*, kind: str, code: str, name: str, parent_id: int, parent_path: str,
                 attrs: dict[str, Any] | None = None) -> OrgUnit:
    """A checked unit, not yet added: its id is made here so its path needs no flush (bulk imports)."""
    unit = OrgUnit(id=new_id(), kind=kind, code=code, name=name, parent_id=parent_id, attrs=attrs or {})
    unit.path = f"{parent_path}{unit.id}/"
    return unit


def add_org_unit(
    session: so.Session, actor: Any, *, kind: str, code: str, name: str, parent: OrgUnit | None,
    attrs: dict[str, Any] | None = None, audit_it: bool = True,
) -> OrgUnit:
    errors = org_unit_errors(kind=kind, code=code, name=name, parent_kind=parent.kind if parent else None,
                             code_taken=bool(code) and org_unit_by_code(session, code) is not None)
    if errors:
        raise ServiceError(errors)
    assert parent is not None
    unit = new_org_unit(kind=kind, code=code, name=name, parent_id=parent.id, parent_path=parent.path, attrs=attrs)
    session.add(unit)
    session.flush()
    if audit_it:
        audit.record(session, actor, "org.create", "org_unit", unit.id,
                     after={"kind": kind, "code": code, "name": name})
    return unit


def district_root(session: so.Session) -> OrgUnit:
    root = session.scalars(sa.select(OrgUnit).where(OrgUnit.kind == "district")).first()
    if root is None:
        raise ServiceError(_("This district has no root unit."))
    return root


# --- people ---------------------------------------------------------------------------------------


def staff_errors(
    *, phone: str | None, username: str | None, password: str | None, phone_taken: bool, username_taken: bool,
) -> dict[str, str]:
    """The rules for a new staff member, given what the database knows; the import checks whole files with them."""
    errors: dict[str, str] = {}
    if phone and phone_taken:
        errors["phone"] = _("This phone number is already registered in this district.")
    if username and username_taken:
        errors["username"] = _("This username is already taken in this district.")
    if not phone and not username:
        errors["username"] = _("Give a username or a phone number to sign in with.")
    if password:
        from saas.passwords import password_errors

        errors.update(password_errors(password))
    return errors


def add_staff(
    session: so.Session, actor: Any, *, name: str, phone: str | None, username: str | None, password: str | None,
    audit_it: bool = True, password_hash: str | None = None,
) -> User:
    errors = staff_errors(
        phone=phone, username=username, password=password,
        phone_taken=bool(phone) and session.scalars(sa.select(User.id).where(User.phone == phone)).first() is not None,
        username_taken=bool(username)
        and session.scalars(sa.select(User.id).where(User.username == username)).first() is not None,
    )
    if errors:
        raise ServiceError(errors)
    user = User(name=name, phone=phone or None, username=username or None, kind="staff",
                password_hash=password_hash or (hash_password(password) if password else None))
    session.add(user)
    session.flush()
    if audit_it:
        audit.record(session, actor, "user.create", "user", user.id, after={"name": name, "username": username})
    return user


def staff_member(session: so.Session, user_id: int) -> User | None:
    """A staff member of the district; anyone else's id (a resident, another district's person) is None."""
    return session.scalars(sa.select(User).where(User.id == user_id, User.kind == "staff")).first()


def update_staff(session: so.Session, actor: Any, user: User, *, name: str, phone: str | None) -> User:
    """Correct a person's name and mobile number; a number held by someone else of the district is refused."""
    phone = phone or None
    if phone and phone != user.phone and session.scalars(
            sa.select(User.id).where(User.phone == phone, User.id != user.id)).first() is not None:
        raise ServiceError({"phone": _("This phone number is already registered in this district.")})
    if not phone and not user.username:
        raise ServiceError({"phone": _("Give a username or a phone number to sign in with.")})
    # the audit keeps a number masked, as every page shows it
    changed = (user.name, user.phone) != (name, phone)
    before = {"name": user.name, "phone": mask_phone(user.phone) if user.phone else None}
    after = {"name": name, "phone": mask_phone(phone) if phone else None}
    user.name, user.phone = name, phone
    session.flush()
    if changed:
        audit.record(session, actor, "user.update", "user", user.id, before=before, after=after)
    return user


def set_staff_active(session: so.Session, actor: Any, user: User, active: bool) -> None:
    """Deactivate (they cannot sign in, every browser they are signed in on is signed out) or reactivate."""
    if actor is not None and getattr(actor, "id", None) == user.id and not active:
        raise ServiceError({"user": _("You cannot deactivate your own account.")})
    if user.active == active:
        return
    user.active = active
    session.flush()
    audit.record(session, actor, "user.activate" if active else "user.deactivate", "user", user.id)
    if not active:
        end_sessions(user.id, reason="deactivated", s=session)


def role_errors(book: RoleBook, role: str, unit_kind: str | None = None) -> dict[str, str]:
    """Whether `role` exists and, given the kind of unit it would be held on, fits that kind of unit."""
    spec = book.roles.get(role)
    if spec is None:
        return {"role": _("Unknown role.")}
    if unit_kind is not None and spec.unit_kinds and unit_kind not in spec.unit_kinds:
        return {"unit": _("A %(role)s is appointed on a %(kinds)s, not on a %(kind)s.", role=spec.name,
                          kinds=_(" or ").join(str(ORG_KIND_LABELS[k]) for k in spec.unit_kinds),
                          kind=ORG_KIND_LABELS.get(unit_kind, unit_kind))}
    return {}


def grant_role(
    session: so.Session, book: RoleBook, actor: Any, user: User, role: str, unit: OrgUnit, *, audit_it: bool = True,
) -> RoleGrant:
    errors = role_errors(book, role, unit.kind)
    if errors:
        raise ServiceError(errors)
    existing = session.scalars(
        sa.select(RoleGrant).where(
            RoleGrant.user_id == user.id, RoleGrant.role == role, RoleGrant.org_unit_id == unit.id
        )
    ).first()
    if existing is not None:
        return existing
    grant = RoleGrant(user_id=user.id, role=role, org_unit_id=unit.id)
    session.add(grant)
    session.flush()
    session.expire(user, ["grants"])
    if audit_it:
        audit.record(session, actor, "role.grant", "user", user.id, after={"role": role, "org_unit_id": unit.id})
    return grant


def revoke_role(session: so.Session, actor: Any, grant: RoleGrant) -> None:
    audit.record(session, actor, "role.revoke", "user", grant.user_id,
                 before={"role": grant.role, "org_unit_id": grant.org_unit_id})
    session.delete(grant)
    session.flush()
    # what the person may do has changed under them: every browser they are signed in on signs in again
    end_sessions(grant.user_id, reason="role", s=session)


def apply_to_each_tenant(session: so.Session, fn: Callable[[Tenant], None]) -> None:
    """Run `fn` once per active tenant, each in its own transaction bound to that tenant."""
    ids = session.scalars(sa.select(Tenant.id).where(Tenant.active.is_(True))).all()
    for tenant_id in ids:
        with db.tenant_context(tenant_id):
            tenant = session.get(Tenant, tenant_id)
            assert tenant is not None
            fn(tenant)
            session.commit()
