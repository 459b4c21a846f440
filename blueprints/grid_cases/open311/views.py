"""The GeoReport v2 methods: discovery, services, a service's definition, requests (GET and POST), one
request, and a token. Every URL ends in `.json` or `.xml`, which is also the format of its errors.

The district is `jurisdiction_id` (its slug), in the query or, for POST, in the form; on a host mapped to
one district it may be left out. Missing: 400; unknown, inactive, of another host, or with grid cases
switched off: 404, the same answer. GET needs no key. POST needs `api_key`, a personal API token of that
district (`/t/<slug>/me/tokens`) whose person may report cases: 403 otherwise. The key comes in the form body
(`api_key`, as the spec's example posts it) or as `Authorization: Bearer <token>`; a key in the URL's query
string is refused on every method (400), because URLs are written to access logs, and it is never logged
here. The session cookie is never read for identity (the kernel drops it for mounts) and CSRF does not apply.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask import g, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from blueprints.grid_cases.open311 import bp, formats
from blueprints.grid_cases.open311.formats import Many
from blueprints.grid_cases.open311.schemas import RequestIn, RequestsQuery
from blueprints.grid_cases.services import open311
from blueprints.grid_cases.services.base import Actor
from blueprints.grid_cases.services.open311 import Open311Error
from saas import db
from saas.auth import user_for_token
from saas.context import enabled_modules, role_book
from saas.i18n import local_dt, locale_code
from tenants.resolution import is_suspended, tenant_by_host, tenant_by_slug

log = logging.getLogger(__name__)
FORMAT = "<any(json, xml):format>"
LIST_PARAMS = ("service_request_id", "service_code", "status")


# --- the district, and errors in the spec's format ------------------------------------------------


def _unknown_jurisdiction(slug: str | None) -> str:
    if slug:
        return _("jurisdiction_id %(id)s was not found.", id=slug[:40])
    return _("jurisdiction_id was not found.")


@bp.before_request
def refuse_key_in_url() -> None:
    """A credential in a URL lands in access logs, proxies and browser histories: refuse it before anything."""
    if "api_key" in request.args:
        raise Open311Error(400, _("api_key must not be sent in the URL, where logs keep it: send it in the form "
                                  "body or as an \"Authorization: Bearer\" header, and revoke this token."))


@bp.before_request
def resolve_jurisdiction() -> None:
    slug = (request.values.get("jurisdiction_id") or "").strip()
    mapped = tenant_by_host(request.host)
    if not slug:
        if mapped is None:
            raise Open311Error(400, _("jurisdiction_id was not provided."))
        tenant = mapped
    else:
        tenant = tenant_by_slug(slug) if len(slug) <= 40 else None
        # a host mapped to a district serves that district only
        if tenant is None and len(slug) <= 40 and is_suspended(slug):
            raise Open311Error(503, _("jurisdiction_id %(id)s is suspended for now; try again later.", id=slug))
        if tenant is None or (mapped is not None and mapped.id != tenant.id):
            raise Open311Error(404, _unknown_jurisdiction(slug))
    g.tenant = tenant
    db.set_tenant(tenant.id)
    g.pop("enabled_modules", None)


def _format() -> str:
    fmt = (request.view_args or {}).get("format")
    return fmt if fmt in formats.CONTENT_TYPES else "xml"  # XML is the format the spec requires


def _refuse(status: int, descriptions: Iterable[str]) -> Any:
    db.session.rollback()
    return formats.errors(_format(), status, [(status, d) for d in descriptions])


DEFAULT_DESCRIPTIONS = {
    400: lambda: _("The request is not valid."),
    403: lambda: _("Missing or invalid api_key."),
    # the kernel's switch check: a district without grid cases answers as if it did not exist
    404: lambda: _unknown_jurisdiction(request.values.get("jurisdiction_id")),
    413: lambda: _("The request is too large."),
    429: lambda: _("Too many requests; please wait and try again."),
}


@bp.errorhandler(Open311Error)
def open311_error(error: Open311Error) -> Any:
    return _refuse(error.status, error.descriptions)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> Any:
    status = error.code or 500
    describe = DEFAULT_DESCRIPTIONS.get(status)
    response = _refuse(status, [describe() if describe else error.name])
    if status == 429:
        response.headers.update(getattr(error, "headers", None) or {})
    return response


@bp.errorhandler(sa.exc.DataError)
def bad_value(error: sa.exc.DataError) -> Any:
    log.warning("database refused a value on %s %s: %s", request.method, request.path, error.orig)
    return _refuse(400, [DEFAULT_DESCRIPTIONS[400]()])


def _params(values: MultiDict[str, str], lists: Iterable[str] = ()) -> dict[str, str]:
    """The parameters as the schemas read them: an empty one is not sent, a repeated one is a comma list."""
    out: dict[str, str] = {}
    for key in values:
        given = [v.strip() for v in values.getlist(key) if v.strip()]
        if given:
            out[key] = ",".join(given) if key in lists else given[0]
    return out


def _load(schema: ma.Schema, data: dict[str, str]) -> dict[str, Any]:
    try:
        return schema.load(data)
    except ma.ValidationError as err:
        messages = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
        raise Open311Error(400, *(msg if field == "_schema" else f"{field}: {msg}"
                                  for field, msgs in messages.items()
                                  for msg in (msgs if isinstance(msgs, list) else [msgs]))) from None


# --- the methods ----------------------------------------------------------------------------------


@bp.get(f"/discovery.{FORMAT}")
def discovery(format: str) -> Any:
    tenant = g.tenant
    stamp = open311.changeset(db.session(), tenant)
    name = tenant.display_name(locale_code())
    endpoint = url_for("open311.services", format="xml", _external=True).rsplit("/", 1)[0]
    return formats.render(format, "discovery", {
        "changeset": stamp,
        "contact": _("Ask the administrators of %(district)s for help with this API.", district=name),
        "key_service": _("Staff of %(district)s who may report cases create a personal API token at %(url)s "
                         "and send it as api_key in the form body of a POST (or as an \"Authorization: Bearer\" "
                         "header), never in the URL.", district=name,
                         url=url_for("auth.tokens", tenant=tenant.slug, _external=True)),
        "endpoints": Many("endpoint", [{
            "specification": open311.SPECIFICATION, "url": endpoint, "changeset": stamp, "type": "production",
            "formats": Many("format", list(open311.FORMATS)),
        }]),
    })


@bp.get(f"/services.{FORMAT}")
def services(format: str) -> Any:
    return formats.render(format, "services", Many("service", open311.service_rows(db.session())))


@bp.get(f"/services/<service_code>.{FORMAT}")
def service_definition(service_code: str, format: str) -> Any:
    definition = open311.service_definition(db.session(), service_code[:64])
    return formats.render(format, "service_definition",
                          {**definition, "attributes": Many("attribute", definition["attributes"])})


@bp.get(f"/requests.{FORMAT}")
def service_requests(format: str) -> Any:
    params = _params(request.args, LIST_PARAMS)
    if "service_request_id" in params:
        # it overrides every other argument (the spec), so they are not even read
        params = {"service_request_id": params["service_request_id"]}
    query = _load(RequestsQuery(), params)
    session = db.session()
    cases = open311.find_requests(session, g.tenant, query)
    return formats.render(format, "service_requests", Many("request", open311.request_rows(session, g.tenant, cases)))


@bp.post(f"/requests.{FORMAT}")
def create_request(format: str) -> Any:
    key = _credential()
    user = user_for_token(key) if key else None
    if user is None:
        raise Open311Error(403, _("Missing or invalid api_key: send a personal API token of this district."))
    data = _load(RequestIn(), _params(request.values))
    session = db.session()
    actor = Actor(user, role_book(), frozenset(enabled_modules()))
    case = open311.create_request(session, g.tenant, actor, data)
    session.commit()
    notice = open311.service_notice(session, g.tenant, case, local_dt(case.deadline_at) or None)
    return formats.render(format, "service_requests", Many("request", [
        {"service_request_id": case.number, "service_notice": notice, "account_id": None}]))


def _credential() -> str:
    """The caller's token, from an `Authorization: Bearer` header or the form body's `api_key`, never the URL."""
    scheme, _sep, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return (request.form.get("api_key") or "").strip()


@bp.get(f"/requests/<service_request_id>.{FORMAT}")
def service_request(service_request_id: str, format: str) -> Any:
    session = db.session()
    case = open311.find_request(session, service_request_id[:64])
    return formats.render(format, "service_requests", Many("request", open311.request_rows(session, g.tenant, [case])))


@bp.get(f"/tokens/<token>.{FORMAT}")
def token(token: str, format: str) -> Any:
    case = open311.find_token(db.session(), token[:64])
    return formats.render(format, "service_requests", Many("request", open311.token_rows(case)))
