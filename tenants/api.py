"""The kernel's JSON API: who am I, module switches and settings, the audit log, the org tree."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask import g, request
from flask.views import MethodView
from flask_smorest import abort

from saas import db
from saas.api import Blueprint
from saas.auth import login_required, require
from saas.context import enabled_modules, module_settings, registry
from saas.i18n import locale_code
from saas.modules import switch_off_effects, switches
from saas.pagination import keyset_page
from saas.schemas import Id, Schema, mask_phone
from tenants import services
from tenants.auditing import AuditFilter, audit_query
from tenants.models import OrgUnit

me_api = Blueprint("me_api", __name__, url_prefix="/api/v1/t/<tenant>", description="The signed-in person")
admin_api = Blueprint("admin_api", __name__, url_prefix="/api/v1/t/<tenant>/admin",
                      description="District administration: modules, settings, audit log")
org_api = Blueprint("org_api", __name__, url_prefix="/api/v1/t/<tenant>/org", description="The organisation tree")


class GrantOut(Schema):
    role = ma.fields.String()
    org_unit_code = ma.fields.String()


class MeOut(Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    phone = ma.fields.String(metadata={"description": "Masked: 138****5678"})
    tenant = ma.fields.String()
    grants = ma.fields.List(ma.fields.Nested(GrantOut))
    modules = ma.fields.List(ma.fields.String(), metadata={"description": "Modules switched on for the district"})


@me_api.route("/me")
class Me(MethodView):
    @me_api.response(200, MeOut)
    @login_required
    def get(self) -> dict[str, Any]:
        """Who the token belongs to, the roles held and the modules switched on"""
        return {
            "id": str(g.user.id), "name": g.user.name, "phone": mask_phone(g.user.phone), "tenant": g.tenant.slug,
            "grants": [{"role": gr.role, "org_unit_code": gr.org_unit.code} for gr in g.user.grants],
            "modules": sorted(enabled_modules()),
        }


class ModuleOut(Schema):
    key = ma.fields.String()
    name = ma.fields.String()
    version = ma.fields.String()
    enabled = ma.fields.Boolean()
    settings = ma.fields.Dict()
    stops = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()), metadata={
        "description": "What switching the module off stops for the district (menus, widgets, jobs, notices); "
                       "its data stays"})


class ModulePatch(Schema):
    enabled = ma.fields.Boolean(metadata={"description": "Switch the module on or off"})
    settings = ma.fields.Dict(keys=ma.fields.String(), metadata={"description": "Settings to change, by key"})


def _module_out(key: str, rows: dict[str, Any] | None = None) -> dict[str, Any]:
    spec = registry().get(key)
    assert spec is not None
    return {"key": key, "name": spec.name(locale_code()), "version": spec.version,
            "enabled": key in enabled_modules(), "settings": module_settings(key, rows),
            "stops": switch_off_effects(spec).as_dict()}


@admin_api.route("/modules")
class Modules(MethodView):
    @admin_api.response(200, ModuleOut(many=True))
    @require("tenant.modules")
    def get(self) -> list[dict[str, Any]]:
        """Every module this deployment offers, whether it is on for the district, and its settings"""
        rows = switches(db.session())  # one query for the whole list, not one per module
        return [_module_out(spec.key, rows) for spec in registry()]


@admin_api.route("/modules/<key>")
class ModuleByKey(MethodView):
    @admin_api.response(200, ModuleOut)
    @require("tenant.modules")
    def get(self, key: str) -> dict[str, Any]:
        """One module's switch and settings"""
        if key not in registry():
            abort(404)
        return _module_out(key)

    @admin_api.arguments(ModulePatch)
    @admin_api.response(200, ModuleOut)
    @require("tenant.modules")
    def patch(self, body: dict[str, Any], key: str) -> dict[str, Any]:
        """Switch a module on or off and change its settings; every change is audited"""
        if key not in registry():
            abort(404)
        try:
            if "settings" in body:
                services.update_module_settings(db.session(), registry(), g.user, key, body["settings"],
                                                ip=request.remote_addr)
            if "enabled" in body:
                services.set_module(db.session(), registry(), g.user, key, body["enabled"], ip=request.remote_addr)
        except services.ServiceError as err:
            db.session.rollback()
            abort(422, errors={"settings": err.errors} if "settings" in body else err.errors)
        db.session.commit()
        g.pop("enabled_modules", None)
        return _module_out(key)


class AuditOut(Schema):
    id = ma.fields.String()
    at = ma.fields.DateTime()
    actor_name = ma.fields.String()
    action = ma.fields.String()
    module = ma.fields.String(allow_none=True)
    object_type = ma.fields.String()
    object_id = ma.fields.String()
    before = ma.fields.Dict(allow_none=True)
    after = ma.fields.Dict(allow_none=True)


class AuditPage(Schema):
    items = ma.fields.List(ma.fields.Nested(AuditOut))
    next_before = ma.fields.String(allow_none=True, metadata={"description": "Pass as `before` for the next page"})


class AuditArgs(AuditFilter):
    class Meta:
        unknown = ma.EXCLUDE

    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))


@admin_api.route("/audit")
class AuditLog(MethodView):
    @admin_api.arguments(AuditArgs, location="query")
    @admin_api.response(200, AuditPage)
    @require("tenant.audit")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The audit log, newest first, with a keyset cursor"""
        q, errors = audit_query(args, timezone=g.tenant.timezone, registry=registry())
        if errors:
            abort(422, errors=errors)
        rows, cursor = keyset_page(db.session(), q, args["limit"])
        return {"items": rows, "next_before": cursor}


class UnitOut(Schema):
    id = ma.fields.String()
    parent_id = ma.fields.String(allow_none=True)
    kind = ma.fields.String()
    code = ma.fields.String()
    name = ma.fields.String()


class UnitArgs(Schema):
    class Meta:
        unknown = ma.EXCLUDE

    kind = ma.fields.String(validate=ma.validate.OneOf(list(services.ORG_PARENTS)))
    after = Id(metadata={"description": "Keyset cursor: the last id of the previous page"})
    limit = ma.fields.Integer(load_default=200, validate=ma.validate.Range(min=1, max=1000))


class UnitPage(Schema):
    items = ma.fields.List(ma.fields.Nested(UnitOut))
    next_after = ma.fields.String(allow_none=True)


@org_api.route("/units")
class Units(MethodView):
    @org_api.arguments(UnitArgs, location="query")
    @org_api.response(200, UnitPage)
    @require("org.view")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The district's org units (streets, communities, grids, compounds, departments...)"""
        q = sa.select(OrgUnit).order_by(OrgUnit.id)
        if args.get("kind"):
            q = q.where(OrgUnit.kind == args["kind"])
        if args.get("after") is not None:
            q = q.where(OrgUnit.id > args["after"])
        rows, cursor = keyset_page(db.session(), q, args["limit"])
        return {"items": rows, "next_after": cursor}


def blueprints() -> list[Blueprint]:
    return [me_api, admin_api, org_api]
