"""Open311 GeoReport v2 at /open311/v2/: every method in JSON and XML, every error, privacy, isolation.

The answers are checked against the spec's letter: element names and their order, the error array, the
status codes, the content types with their charset, the XML declaration, W3C date-times with offsets.
The last test points a standard client (the `georeport` package) at a live server.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from blueprints.grid_cases import services
from blueprints.grid_cases.models import CaseCategory, GridCase
from blueprints.grid_cases.services import open311 as open311_services
from blueprints.grid_cases.services.base import Actor
from tenants import services as tenant_services
from tenants.models import Tenant
from tests.plugin import bearer

BASE = "/open311/v2"
FORMATS = ("json", "xml")
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
W3C = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|[+-]\d\d:\d\d)$")
SERVICE_FIELDS = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
REQUEST_FIELDS = ["service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"]
# the residents' contact details the districts' cases carry: none may appear in any answer
REPORTER = {"name": "王小明", "phone": "13912345678"}
OPEN311_REPORTER = {"first_name": "三", "last_name": "张", "phone": "13787654321", "email": "zhang3@example.cn"}


# --- the districts ----------------------------------------------------------------------------------


class District:
    def __init__(self, factory: Any, tenant: Any, mark: str, prefix: str):
        self.factory, self.tenant, self.slug, self.mark = factory, tenant, tenant.slug, mark
        app = factory.app
        with factory.as_tenant(tenant) as s:
            services.ensure_default_categories(s, tenant)
            tenant_services.update_module_settings(s, app.extensions["saas.modules"], None, "grid_cases",
                                                   {"case_prefix": prefix})
            s.commit()
        for kind, code, parent in (("street", "s1", None), ("community", "c1", "s1"), ("grid", "g1", "c1"),
                                   ("compound", "p1", "g1"), ("building", "b1", "p1"), ("unit", "u1", "b1"),
                                   ("department", "d1", None)):
            factory.unit(tenant, kind, f"{self.slug}-{code}", f"{self.slug}-{parent}" if parent else None,
                         name=f"{mark}{code}名")
        self.admin = factory.user(tenant, "district_admin", name=f"{mark}管理员")
        self.worker = factory.user(tenant, "grid_worker", f"{self.slug}-g1", name=f"{mark}网格员")
        self.admin_token = factory.token(self.admin)
        self.worker_token = factory.token(self.worker)
        # a department handler may not report cases: its token may read the staff API but not post here
        self.handler = factory.user(tenant, "dept_handler", f"{self.slug}-d1", name=f"{mark}处理人")
        self.handler_token = factory.token(self.handler)
        # a public case reported by phone for a resident, who wrote their number into the description too
        self.public = self.report(self.admin, category_code="streetlight", location_code=f"{self.slug}-b1",
                                  address="3号楼门口", description=f"{mark}路灯不亮，请回电 {REPORTER['phone']}",
                                  source="phone", reporter_name=REPORTER["name"], reporter_phone=REPORTER["phone"],
                                  lat=37.86, lng=112.55)
        # a neighbours' dispute: its category is not public, so Open311 never shows it
        self.private = self.report(self.admin, category_code="dispute", location_code=f"{self.slug}-g1",
                                   description=f"{mark}邻居噪音纠纷", source="phone", reporter_name="李四",
                                   reporter_phone="13611112222")

    def report(self, user: Any, *, source: str = "patrol", **data: Any) -> str:
        app = self.factory.app
        with self.factory.as_tenant(self.tenant) as s:
            from tenants.models import User

            person = s.scalars(sa.select(User).where(User.id == user.id)).one()
            actor = Actor(person, app.extensions["saas.roles"], frozenset({"grid_cases"}))
            case = services.report_case(s, self.tenant, actor, {"urgency": "normal", "address": "", **data},
                                        source=source)
            s.commit()
            return case.number

    def case(self, number: str) -> GridCase:
        with self.factory.as_tenant(self.tenant) as s:
            return s.scalars(sa.select(GridCase).where(GridCase.number == number)).one()

    def count(self) -> int:
        with self.factory.as_tenant(self.tenant) as s:
            return s.scalar(sa.select(sa.func.count()).select_from(GridCase)) or 0

    def update(self, number: str, **values: Any) -> None:
        with self.factory.as_tenant(self.tenant) as s:
            case = s.scalars(sa.select(GridCase).where(GridCase.number == number)).one()
            for key, value in values.items():
                setattr(case, key, value)
            s.commit()


@pytest.fixture
def a(factory, tenant_a) -> District:
    return District(factory, tenant_a, "甲", "AA")


@pytest.fixture
def b(factory, tenant_b) -> District:
    return District(factory, tenant_b, "乙", "BB")


# --- asking ------------------------------------------------------------------------------------------


def get(client: Any, path: str, fmt: str = "json", jurisdiction: str | None = "alpha", **params: Any) -> Any:
    if jurisdiction is not None:
        params["jurisdiction_id"] = jurisdiction
    headers = params.pop("headers", {})
    return client.get(f"{BASE}/{path}.{fmt}", query_string=params, headers=headers)


def post(client: Any, fmt: str = "json", jurisdiction: str | None = "alpha", **form: Any) -> Any:
    if jurisdiction is not None:
        form["jurisdiction_id"] = jurisdiction
    headers = form.pop("headers", {})
    return client.post(f"{BASE}/requests.{fmt}", data=form, headers=headers)


def body(response: Any, fmt: str) -> Any:
    """The answer parsed: JSON as it is, XML as its root element; both checked for the spec's encoding."""
    assert response.headers["Content-Type"] == CONTENT_TYPES[fmt]
    raw = response.get_data()
    raw.decode("utf-8")
    if fmt == "json":
        return json.loads(raw)
    text = raw.decode("utf-8")
    assert text.startswith(DECLARATION + "\n"), text[:80]
    return ET.fromstring(raw)  # noqa: S314 - our own server's answer, not untrusted input


def children(element: ET.Element) -> list[str]:
    return [child.tag for child in element]


def xml_dict(element: ET.Element) -> dict[str, str | None]:
    return {child.tag: child.text for child in element}


def error_list(response: Any, fmt: str) -> list[tuple[int, str]]:
    """The spec's error array, in either format; each error has a code and a description, nothing else."""
    data = body(response, fmt)
    if fmt == "json":
        assert isinstance(data, list)
        assert data
        assert all(set(e) == {"code", "description"} for e in data), data
        return [(e["code"], e["description"]) for e in data]
    assert data.tag == "errors"
    assert children(data)
    assert set(children(data)) == {"error"}
    assert all(children(e) == ["code", "description"] for e in data)
    return [(int(e.findtext("code") or 0), e.findtext("description") or "") for e in data]


def assert_error(response: Any, fmt: str, status: int, *words: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    errors = error_list(response, fmt)
    assert all(code == status and text for code, text in errors), errors
    text = " ".join(t for _c, t in errors)
    for word in words:
        assert word in text, (word, text)


def requests_of(response: Any, fmt: str) -> list[dict[str, Any]]:
    """The service requests of an answer as dicts, the fields checked in the spec's order."""
    data = body(response, fmt)
    if fmt == "json":
        assert isinstance(data, list)
        return data
    assert data.tag == "service_requests"
    assert set(children(data)) <= {"request"}
    return [xml_dict(r) for r in data]


# --- discovery and services -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_discovery_names_the_endpoint_its_formats_and_how_to_get_a_key(client, a, fmt):
    response = get(client, "discovery", fmt)
    assert response.status_code == 200
    data = body(response, fmt)
    if fmt == "xml":
        assert data.tag == "discovery"
        assert children(data) == ["changeset", "contact", "key_service", "endpoints"]
        endpoints = data.find("endpoints")
        assert children(endpoints) == ["endpoint"]
        endpoint = endpoints.find("endpoint")
        assert children(endpoint) == ["specification", "url", "changeset", "type", "formats"]
        assert [f.text for f in endpoint.find("formats")] == ["text/xml", "application/json"]
        assert children(endpoint.find("formats")) == ["format", "format"]
        data = {**xml_dict(data), "endpoints": [xml_dict(endpoint)]}
    else:
        assert list(data) == ["changeset", "contact", "key_service", "endpoints"]
        assert list(data["endpoints"][0]) == ["specification", "url", "changeset", "type", "formats"]
        assert data["endpoints"][0]["formats"] == ["text/xml", "application/json"]
    endpoint = data["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://localhost/open311/v2"
    assert endpoint["type"] == "production"
    assert W3C.match(data["changeset"])
    assert data["changeset"].endswith("+08:00")
    assert "/t/alpha/me/tokens" in data["key_service"]
    assert "api_key" in data["key_service"]
    assert "Authorization: Bearer" in data["key_service"]  # and where it goes: not the URL
    assert "甲区" in data["contact"]


def test_the_changeset_moves_when_a_category_changes(app, client, a):
    before = body(get(client, "discovery"), "json")["changeset"]
    with a.factory.as_tenant(a.tenant) as s:
        from saas import audit

        entry = audit.record(s, None, "grid_cases.category.update", "grid_cases_category", "1", module="grid_cases")
        entry.at = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
        s.commit()
    after = body(get(client, "discovery"), "json")["changeset"]
    assert after > before


@pytest.mark.parametrize("fmt", FORMATS)
def test_services_are_the_active_categories_in_the_specs_fields(client, a, fmt):
    with a.factory.as_tenant(a.tenant) as s:
        s.scalars(sa.select(CaseCategory).where(CaseCategory.code == "other")).one().active = False
        s.commit()
    response = get(client, "services", fmt)
    assert response.status_code == 200
    data = body(response, fmt)
    if fmt == "xml":
        assert data.tag == "services"
        assert set(children(data)) == {"service"}
        assert all(children(service) == SERVICE_FIELDS for service in data)
        rows = [xml_dict(service) for service in data]
        assert {r["metadata"] for r in rows} == {"false"}
    else:
        assert all(list(row) == SERVICE_FIELDS for row in data)
        rows = data
        assert {r["metadata"] for r in rows} == {False}
    by_code = {r["service_code"]: r for r in rows}
    assert "other" not in by_code  # inactive
    assert "dispute" in by_code  # reportable, though its cases are never listed
    assert {r["type"] for r in rows} == {"realtime"}
    assert by_code["drainage"]["service_name"] == "排水/下水道"
    assert by_code["drainage"]["keywords"] == "排水, 下水道, drainage"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_service_definition_has_no_attributes_and_unknown_codes_are_404(client, a, fmt):
    response = get(client, "services/water", fmt)
    assert response.status_code == 200
    data = body(response, fmt)
    if fmt == "xml":
        assert data.tag == "service_definition"
        assert children(data) == ["service_code", "attributes"]
        assert data.findtext("service_code") == "water"
        assert children(data.find("attributes")) == []
    else:
        assert data == {"service_code": "water", "attributes": []}
    assert_error(get(client, "services/no-such-code", fmt), fmt, 404, "no-such-code")


def test_a_service_of_another_district_is_not_found_here(client, a, b):
    with b.factory.as_tenant(b.tenant) as s:
        services.add_category(s, None, {"code": "beta-only", "name": "乙专用"})
        s.commit()
    assert get(client, "services/beta-only", jurisdiction="beta").status_code == 200
    assert_error(get(client, "services/beta-only"), "json", 404)
    assert "beta-only" not in get(client, "services").get_data(as_text=True)


# --- errors common to every method ------------------------------------------------------------------

METHODS = ("discovery", "services", "services/water", "requests", "requests/AA-20260101-0001", "tokens/abc")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("path", METHODS)
def test_missing_jurisdiction_is_400_and_unknown_is_404(client, a, path, fmt):
    assert_error(get(client, path, fmt, jurisdiction=None), fmt, 400, "jurisdiction_id")
    assert_error(get(client, path, fmt, jurisdiction=""), fmt, 400, "jurisdiction_id")
    assert_error(get(client, path, fmt, jurisdiction="nowhere"), fmt, 404, "nowhere")


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_without_or_with_unknown_jurisdiction(client, a, fmt):
    form = {"api_key": a.admin_token, "service_code": "water", "address_string": "x"}
    assert_error(post(client, fmt, jurisdiction=None, **form), fmt, 400, "jurisdiction_id")
    assert_error(post(client, fmt, jurisdiction="nowhere", **form), fmt, 404, "nowhere")
    assert a.count() == 2


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_district_that_switched_grid_cases_off_answers_as_if_it_did_not_exist(client, factory, a, fmt):
    factory.enable_module(a.tenant, "grid_cases", on=False)
    for path in METHODS:
        assert_error(get(client, path, fmt), fmt, 404, "alpha")
    assert_error(post(client, fmt, api_key=a.admin_token, service_code="water", address_string="x"), fmt, 404)
    unknown = get(client, "services", fmt, jurisdiction="nowhere")
    assert unknown.status_code == 404
    assert error_list(get(client, "services", fmt), fmt)[0][1].replace("alpha", "nowhere") == \
        error_list(unknown, fmt)[0][1]
    factory.enable_module(a.tenant, "grid_cases")
    assert get(client, "services", fmt).status_code == 200
    assert a.count() == 2


def test_a_suspended_district_answers_that_it_is_suspended(app, client, a):
    with app.app_context():
        from saas import db

        db.set_platform(True)
        db.session.get(Tenant, a.tenant.id).active = False
        db.session.commit()
    # 503, the spec's error array: a client comes back later rather than dropping the jurisdiction
    assert_error(get(client, "services"), "json", 503, "暂停服务")


def test_an_unknown_format_is_not_found(client, a):
    assert client.get(f"{BASE}/services.html?jurisdiction_id=alpha").status_code == 404


def test_errors_are_chinese_by_default_and_english_on_request(client, a):
    zh = error_list(post(client, api_key=a.admin_token, address_string="x", phone="1"), "json")
    en = error_list(post(client, api_key=a.admin_token, address_string="x", phone="1",
                         headers={"Accept-Language": "en"}), "json")
    assert sorted(t for _c, t in zh) == ["phone: 请输入有效的中国大陆手机号码，例如 13812345678。",
                                         "service_code: 此项为必填项。"]
    assert sorted(t for _c, t in en) == ["phone: Enter a valid mainland mobile number, for example 13812345678.",
                                         "service_code: Missing data for required field."]
    assert error_list(get(client, "services/nope", headers={"Accept-Language": "en"}), "json") == [
        (404, "service_code nope was not found.")]


# --- creating a request -----------------------------------------------------------------------------


def _created(response: Any, fmt: str) -> dict[str, Any]:
    assert response.status_code == 200, response.get_data(as_text=True)
    data = body(response, fmt)
    if fmt == "xml":
        assert data.tag == "service_requests"
        assert children(data) == ["request"]
        request = data.find("request")
        assert children(request) == ["service_request_id", "service_notice", "account_id"]
        return xml_dict(request)
    assert len(data) == 1
    assert list(data[0]) == ["service_request_id", "service_notice", "account_id"]
    return data[0]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_post_opens_a_case_that_staff_see_with_source_open311(client, a, fmt):
    response = post(client, fmt, api_key=a.worker_token, service_code="drainage", address_id="alpha-p1",
                    address_string="2号楼北侧", lat="37.8601", long="112.5502",
                    description="下水道堵了\r\n污水漫到路面", media_url="https://img.example.cn/x.jpg",
                    device_id="dev-1", account_id="acct-9", **{"attribute[WHISPAWN]": "123"}, **OPEN311_REPORTER)
    created = _created(response, fmt)
    number = created["service_request_id"]
    assert re.fullmatch(r"AA-\d{8}-\d{4}", number)
    assert number in created["service_notice"]
    assert not created["account_id"]
    case = a.case(number)
    assert (case.source, case.address, case.lat, case.lng) == ("open311", "2号楼北侧", 37.8601, 112.5502)
    assert case.description == "下水道堵了\n污水漫到路面"
    assert (case.reporter_name, case.reporter_phone) == ("张三", OPEN311_REPORTER["phone"])
    assert case.media_url == "https://img.example.cn/x.jpg"
    assert case.token
    assert case.compound_id is not None
    assert case.grid_id is not None
    # the district's staff find it in their work list, marked as coming from an Open311 client
    listed = client.get("/api/v1/t/alpha/grid_cases/cases", headers=bearer(a.admin_token)).get_json()["items"]
    row = next(r for r in listed if r["number"] == number)
    assert row["source"] == "open311"
    assert row["category_code"] == "drainage"
    # and Open311 reports it
    [request] = requests_of(get(client, f"requests/{number}", fmt), fmt)
    assert request["service_request_id"] == number
    assert request["status"] == "open"
    assert request["address_id"] == "alpha-p1"
    assert request["address"] == "2号楼北侧, 甲p1名, 甲c1名, 甲s1名"
    assert request["media_url"] == "https://img.example.cn/x.jpg"
    text = get(client, f"requests/{number}", fmt).get_data(as_text=True)
    for value in (*OPEN311_REPORTER.values(), "张三", "dev-1", "acct-9", case.token):
        assert value not in text


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_key_in_the_url_is_refused_and_never_logged(client, a, fmt, caplog):
    """A URL is written to access logs: a key there is refused on every method, in the spec's error format, and
    nothing is created; the district may still come in the query string."""
    caplog.set_level(logging.DEBUG)
    posted = client.post(f"{BASE}/requests.{fmt}?jurisdiction_id=alpha&api_key={a.admin_token}",
                         data={"service_code": "water", "address_string": "南门", "description": "水管漏水"})
    assert_error(posted, fmt, 400, "api_key")
    assert "Authorization" in error_list(posted, fmt)[0][1]
    read = client.get(f"{BASE}/services.{fmt}?jurisdiction_id=alpha&api_key={a.admin_token}")
    assert_error(read, fmt, 400, "api_key")
    # even a key also given in the body does not make the URL's acceptable
    both = client.post(f"{BASE}/requests.{fmt}?api_key={a.admin_token}", data={
        "jurisdiction_id": "alpha", "api_key": a.admin_token, "service_code": "water", "address_string": "南门"})
    assert_error(both, fmt, 400, "api_key")
    assert a.count() == 2
    assert not [r for r in caplog.records if a.admin_token in r.getMessage()]


def test_the_key_may_come_in_the_body_or_an_authorization_header(client, a):
    """As the spec's example posts it (form body), or as the JSON API takes it (a bearer header)."""
    response = client.post(f"{BASE}/requests.xml?jurisdiction_id=alpha", data={
        "api_key": a.admin_token, "service_code": "water", "address_string": "南门", "description": "水管漏水"})
    assert a.case(_created(response, "xml")["service_request_id"]).source == "open311"
    response = client.post(f"{BASE}/requests.json", headers={"Authorization": f"Bearer {a.admin_token}"}, data={
        "jurisdiction_id": "alpha", "service_code": "water", "address_string": "北门"})
    assert a.case(_created(response, "json")["service_request_id"]).source == "open311"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_grid_worker_refused_by_the_api_for_another_grid_is_refused_by_open311_too(client, a, fmt):
    """One rule, every door: the same person with the same token and place is refused with the same reason."""
    a.factory.unit(a.tenant, "grid", "alpha-g2", "alpha-c1", name="甲g2名")
    api = client.post("/api/v1/t/alpha/grid_cases/cases", headers=bearer(a.worker_token), json={
        "category_code": "water", "location_code": "alpha-g2", "description": "水管漏水"})
    assert api.status_code == 422, api.get_json()
    reason = api.get_json()["errors"]["location_code"]
    reason = reason[0] if isinstance(reason, list) else reason
    open311 = post(client, fmt, api_key=a.worker_token, service_code="water", address_id="alpha-g2",
                   description="水管漏水")
    assert_error(open311, fmt, 400, reason)
    assert a.count() == 2
    # and both doors take the worker's own grid
    assert _created(post(client, fmt, api_key=a.worker_token, service_code="water", address_id="alpha-g1",
                         description="水管漏水"), fmt)["service_request_id"]
    assert client.post("/api/v1/t/alpha/grid_cases/cases", headers=bearer(a.worker_token), json={
        "category_code": "water", "location_code": "alpha-g1", "description": "水管漏水"}).status_code == 201


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_post_needs_a_valid_key_of_this_district_that_may_report(client, a, b, fmt):
    form = {"service_code": "water", "address_string": "南门", "description": "水管漏水"}
    assert_error(post(client, fmt, **form), fmt, 403, "api_key")
    assert_error(post(client, fmt, api_key="wgt_not-a-token", **form), fmt, 403, "api_key")
    assert_error(post(client, fmt, api_key="", **form), fmt, 403, "api_key")
    # a key of district B is no key at all in district A, and A's key none in B
    assert_error(post(client, fmt, api_key=b.admin_token, **form), fmt, 403, "api_key")
    assert_error(post(client, fmt, jurisdiction="beta", api_key=a.admin_token, **form), fmt, 403, "api_key")
    # a department handler's key is valid but may not report cases
    assert_error(post(client, fmt, api_key=a.handler_token, **form), fmt, 403)
    assert (a.count(), b.count()) == (2, 2)


def test_a_revoked_key_is_refused(app, client, a):
    from tenants.models import ApiToken

    with a.factory.as_tenant(a.tenant) as s:
        for row in s.scalars(sa.select(ApiToken).where(ApiToken.user_id == a.admin.id)):
            row.revoked_at = dt.datetime.now(dt.UTC)
        s.commit()
    assert_error(post(client, api_key=a.admin_token, service_code="water", address_string="x"), "json", 403)
    assert a.count() == 2  # nothing was created


def test_a_signed_in_browser_is_not_an_api_key(client, login_as, a):
    login_as(a.admin)
    response = client.post(f"{BASE}/requests.json", data={"jurisdiction_id": "alpha", "service_code": "water",
                                                          "address_string": "南门"})
    assert_error(response, "json", 403, "api_key")
    assert a.count() == 2


@pytest.mark.config(WTF_CSRF_ENABLED=True)
def test_posting_needs_no_csrf_token(client, a):
    response = post(client, api_key=a.admin_token, service_code="water", address_string="南门")
    assert _created(response, "json")["service_request_id"]


BAD_POSTS = [
    ({}, 400, "service_code"),
    ({"service_code": "nope", "address_string": "x"}, 404, "nope"),
    ({"service_code": "water", "address_string": ""}, 400, "address_string"),
    ({"service_code": "water", "lat": "37.8"}, 400, "long"),
    ({"service_code": "water", "lat": "91", "long": "112"}, 400, "lat"),
    ({"service_code": "water", "lat": "nan", "long": "112"}, 400, "lat"),
    ({"service_code": "water", "address_id": "alpha-c1"}, 400, "alpha-c1"),  # a community is no address
    ({"service_code": "water", "address_id": "beta-b1"}, 400, "beta-b1"),  # a building of district B
    ({"service_code": "water", "address_string": "x", "phone": "12345"}, 400, "phone"),
    ({"service_code": "water", "address_string": "x", "email": "not-an-email"}, 400, "email"),
    ({"service_code": "water", "address_string": "x", "media_url": "javascript:alert(1)"}, 400, "media_url"),
    ({"service_code": "water", "address_string": "x", "description": "a" * 4001}, 400, "description"),
    ({"service_code": "water", "address_string": "x", "description": "bad\x01"}, 400, "description"),
    ({"service_code": "water", "address_string": "a" * 201}, 400, "address_string"),
    ({"service_code": "water", "address_string": "x", "first_name": "a" * 41}, 400, "first_name"),
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("form", "status", "word"), BAD_POSTS)
def test_bad_input_is_refused_with_the_specs_codes_and_changes_nothing(client, a, b, form, status, word, fmt):
    response = post(client, fmt, api_key=a.admin_token, **form)
    assert_error(response, fmt, status, word)
    assert (a.count(), b.count()) == (2, 2)


def test_several_problems_are_several_errors(client, a):
    response = post(client, api_key=a.admin_token, service_code="water", address_string="x", phone="1",
                     email="@", media_url="ftp://x")
    errors = error_list(response, "json")
    assert response.status_code == 400
    assert len(errors) == 3


def test_a_description_may_be_left_out_and_names_follow_their_language(client, a):
    number = _created(post(client, api_key=a.admin_token, service_code="water", lat="37.8", long="112.5",
                           first_name="john", last_name="smith"), "json")["service_request_id"]
    case = a.case(number)
    assert (case.description, case.reporter_name, case.grid_id) == ("", "john smith", None)


# --- reading requests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_request_in_the_specs_fields_with_w3c_times(app, client, a, fmt):
    rows = requests_of(get(client, f"requests/{a.public}", fmt), fmt)
    assert len(rows) == 1
    row = rows[0]
    if fmt == "xml":
        root = body(get(client, f"requests/{a.public}", fmt), fmt)
        assert children(root.find("request")) == REQUEST_FIELDS
    else:
        assert list(row) == REQUEST_FIELDS
    case = a.case(a.public)
    assert row["service_request_id"] == a.public
    assert row["status"] == "open"
    assert row["service_code"] == "streetlight"
    assert row["service_name"] == "路灯"
    assert row["status_notes"] == label(app, "reported")  # the resident's wording of the step, Chinese by default
    assert row["agency_responsible"] == "甲g1名"  # waiting at the grid it was reported in
    assert row["address"] == "3号楼门口, 甲b1名, 甲p1名, 甲c1名, 甲s1名"
    assert row["address_id"] == "alpha-b1"
    for field in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert W3C.match(row[field]), row[field]
        assert row[field].endswith("+08:00"), row[field]
    local = case.created_at.astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert row["requested_datetime"] == local.isoformat(timespec="seconds")
    assert row["expected_datetime"] == case.deadline_at.astimezone(local.tzinfo).isoformat(timespec="seconds")
    if fmt == "json":
        assert (row["lat"], row["long"], row["zipcode"], row["media_url"]) == (37.86, 112.55, None, None)
    else:
        assert (row["lat"], row["long"], row["zipcode"], row["media_url"]) == ("37.86", "112.55", None, None)


def label(app: Any, state: str, locale: str = "zh_CN") -> str:
    """A step's public wording as the catalogue has it (the msgid until the lead merges a translation)."""
    from flask_babel import force_locale

    from blueprints.grid_cases.services.cases import PUBLIC_STATE_LABELS

    with app.test_request_context(), force_locale(locale):
        return str(PUBLIC_STATE_LABELS[state])


def test_a_request_in_english_when_asked(client, a):
    [row] = requests_of(get(client, f"requests/{a.public}", headers={"Accept-Language": "en"}), "json")
    assert row["status_notes"] == "Received"


def test_a_closed_request_is_closed_at_its_closing_time(app, client, a):
    closed_at = dt.datetime(2026, 11, 20, 2, 30, tzinfo=dt.UTC)
    a.update(a.public, state="rated", closed_at=closed_at, deadline_at=None, created_at=dt.datetime.now(dt.UTC))
    [row] = requests_of(get(client, f"requests/{a.public}"), "json")
    assert row["status"] == "closed"
    assert row["updated_datetime"] == "2026-11-20T10:30:00+08:00"
    assert row["expected_datetime"] is None
    assert row["status_notes"] == label(app, "rated")


@pytest.mark.parametrize("fmt", FORMATS)
def test_reporter_contact_and_private_text_never_appear(client, a, fmt):
    number = _created(post(client, fmt, api_key=a.admin_token, service_code="sanitation", address_string="东门",
                           description="垃圾堆积。我是张三，电话 137-8765-4321，邮箱 zhang3@example.cn，"
                                       "身份证 110101199003072316", **OPEN311_REPORTER), fmt)["service_request_id"]
    answers = [get(client, f"requests/{n}", fmt) for n in (a.public, number)]
    answers.append(get(client, "requests", fmt))
    answers.append(get(client, "requests", fmt, service_request_id=f"{a.public},{number},{a.private}"))
    token = a.case(number).token
    answers.append(get(client, f"tokens/{token}", fmt))
    text = "\n".join(r.get_data(as_text=True) for r in answers)
    assert all(r.status_code == 200 for r in answers)
    for secret in (REPORTER["name"], REPORTER["phone"], "137-8765-4321", "110101199003072316", "张三", "王小明",
                   *OPEN311_REPORTER.values(), "邻居噪音纠纷", a.private, "甲管理员", "甲网格员"):
        assert secret not in text, secret
    [row] = requests_of(answers[1], fmt)
    assert row["description"].startswith("垃圾堆积。我是**，电话 *************，邮箱 *****************，身份证 ")
    assert "请回电 ***********" in requests_of(answers[0], fmt)[0]["description"]


DISGUISES = ("1380 013 8000", "138.0013.8000", "１３８００１３８０００", "110101 19900307 2316", "zhang(at)example.com",
             "zhang at example dot com", "0351-7654321")


@pytest.mark.parametrize("fmt", FORMATS)
def test_disguised_personal_data_is_blotted_and_coordinates_coarsened(client, a, fmt):
    number = _created(post(client, fmt, api_key=a.admin_token, service_code="sanitation",
                           address_string=f"东门 {DISGUISES[0]} 门卫", lat="37.860149", long="112.550591",
                           description="垃圾堆积 XD-20261201-0007 旁，" + "；".join(DISGUISES) + "。"),
                      fmt)["service_request_id"]
    answer = get(client, f"requests/{number}", fmt)
    text = answer.get_data(as_text=True)
    for secret in DISGUISES:
        assert secret not in text, secret
    [row] = requests_of(answer, fmt)
    assert row["description"] == "垃圾堆积 XD-20261201-0007 旁，" + "；".join("*" * len(d) for d in DISGUISES) + "。"
    assert row["address"].startswith(f"东门 {'*' * len(DISGUISES[0])} 门卫")
    assert str(row["lat"]) == "37.86"
    assert str(row["long"]) == "112.551"
    assert a.case(number).lat == 37.860149  # the case itself keeps the exact place for the staff


def test_a_case_of_a_category_that_is_not_public_is_never_listed(client, a):
    a.update(a.private, token="private-token")
    with a.factory.as_tenant(a.tenant) as s:
        assert not s.scalars(sa.select(CaseCategory).where(CaseCategory.code == "dispute")).one().public
    assert_error(get(client, f"requests/{a.private}"), "json", 404, a.private)
    assert_error(get(client, "tokens/private-token"), "json", 404)
    for params in ({}, {"service_code": "dispute"}, {"service_request_id": a.private}, {"status": "open"}):
        numbers = [r["service_request_id"] for r in requests_of(get(client, "requests", **params), "json")]
        assert a.private not in numbers
    # a category made private later hides its cases at once
    with a.factory.as_tenant(a.tenant) as s:
        s.scalars(sa.select(CaseCategory).where(CaseCategory.code == "streetlight")).one().public = False
        s.commit()
    assert requests_of(get(client, "requests"), "json") == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_token_gives_its_request_id(client, a, fmt):
    number = _created(post(client, fmt, api_key=a.admin_token, service_code="water", address_string="x"),
                      fmt)["service_request_id"]
    token = a.case(number).token
    response = get(client, f"tokens/{token}", fmt)
    assert response.status_code == 200
    if fmt == "xml":
        root = body(response, fmt)
        assert root.tag == "service_requests"
        assert children(root.find("request")) == ["service_request_id", "token"]
    assert requests_of(get(client, f"tokens/{token}", fmt), fmt) == [{"service_request_id": number, "token": token}]
    assert_error(get(client, "tokens/not-a-token", fmt), fmt, 404, "not-a-token")


def _numbers(client: Any, **params: Any) -> list[str]:
    response = get(client, "requests", **params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [r["service_request_id"] for r in requests_of(response, "json")]


def test_requests_filter_by_id_list_code_and_status(client, a):
    water = a.report(a.admin, category_code="water", location_code="alpha-g1", description="水管爆裂")
    power = a.report(a.admin, category_code="power", location_code="alpha-g1", description="停电")
    a.update(power, state="closed", closed_at=dt.datetime.now(dt.UTC), deadline_at=None)
    assert _numbers(client) == [power, water, a.public]  # newest first; the dispute is not public
    assert _numbers(client, service_code="water,power") == [power, water]
    response = client.get(f"{BASE}/requests.json?jurisdiction_id=alpha&service_code=water&service_code=streetlight")
    assert [r["service_request_id"] for r in requests_of(response, "json")] == [water, a.public]
    assert _numbers(client, status="open") == [water, a.public]
    assert _numbers(client, status="closed") == [power]
    assert _numbers(client, status="open,closed") == [power, water, a.public]
    assert _numbers(client, service_code="no-such-code") == []
    # service_request_id overrides every other argument, even a window that would exclude them
    assert _numbers(client, service_request_id=f"{water}, {power.lower()}", status="open",
                    start_date="2001-01-01") == [power, water]
    assert _numbers(client, service_request_id=water, status="pending", end_date="soon") == [water]
    # empty parameters count as not sent
    assert _numbers(client, service_request_id="", service_code="", status="") == [power, water, a.public]
    assert_error(get(client, "requests", status="pending"), "json", 400, "status")


def test_requests_default_to_the_last_90_days_and_a_window_spans_90_days_at_most(client, a):
    now = dt.datetime.now(dt.UTC)
    old = a.report(a.admin, category_code="water", location_code="alpha-g1", description="旧案")
    a.update(old, created_at=now - dt.timedelta(days=100))
    assert _numbers(client) == [a.public]
    start = (now - dt.timedelta(days=110)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (now - dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _numbers(client, start_date=start, end_date=end) == [old]
    assert _numbers(client, start_date=start) == [old]  # 90 days from the start
    assert _numbers(client, end_date=end) == [old]  # the 90 days before the end
    local = (now - dt.timedelta(days=100)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    # a date alone is the whole day in the district's time zone
    assert _numbers(client, start_date=local.date().isoformat(), end_date=local.date().isoformat()) == [old]
    # a fraction of a second and an offset are understood
    after, before = local + dt.timedelta(seconds=1), local - dt.timedelta(seconds=1)
    end_soon = (now - dt.timedelta(days=99)).isoformat()
    assert _numbers(client, start_date=after.strftime("%Y-%m-%dT%H:%M:%S.5+08:00"), end_date=end_soon) == []
    assert _numbers(client, start_date=before.strftime("%Y-%m-%dT%H:%M:%S.5+08:00"), end_date=end_soon) == [old]
    too_long = (now - dt.timedelta(days=121)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert_error(get(client, "requests", start_date=too_long, end_date=end), "json", 400, "90")
    assert_error(get(client, "requests", start_date=end, end_date=start), "json", 400, "end_date")
    for bad in ("yesterday", "2026-02-30", "2026-01-01T10:00:00", "2026-01-01T25:00:00Z", "2026-01-01T10:00+25:00"):
        assert_error(get(client, "requests", start_date=bad), "json", 400, "start_date")


def test_requests_are_capped_at_the_specs_default(client, a, monkeypatch):
    for i in range(3):
        a.report(a.admin, category_code="water", location_code="alpha-g1", description=f"第{i}起")
    monkeypatch.setattr(open311_services, "MAX_REQUESTS", 2)
    assert len(_numbers(client)) == 2
    assert open311_services.MAX_REQUESTS == 2
    monkeypatch.undo()
    assert open311_services.MAX_REQUESTS == 1000
    assert len(_numbers(client)) == 4
    assert_error(get(client, "requests", service_request_id=",".join(f"X-{i}" for i in range(1001))), "json",
                 400, "service_request_id")


@pytest.mark.parametrize("fmt", FORMATS)
def test_xml_escapes_what_people_typed(client, a, fmt):
    number = a.report(a.admin, category_code="water", location_code="alpha-g1",
                      description='<b>"漏水"</b> & </description><x>', address="A&B <楼>")
    [row] = requests_of(get(client, f"requests/{number}", fmt), fmt)
    assert row["description"] == '<b>"漏水"</b> & </description><x>'
    assert row["address"].startswith("A&B <楼>, ")


# --- districts apart --------------------------------------------------------------------------------


def test_district_b_never_appears_under_jurisdiction_a(client, a, b):
    b_token = b.case(b.public).token or "none"
    b.update(b.public, token="beta-case-token")
    for fmt in FORMATS:
        answers = [get(client, p, fmt) for p in ("discovery", "services", "services/water", "requests")]
        answers += [get(client, "requests", fmt, service_request_id=b.public),
                    get(client, "requests", fmt, service_code="streetlight", status="open")]
        for answer in answers:
            text = answer.get_data(as_text=True)
            assert answer.status_code == 200
            for value in ("乙", "BB-", "beta"):
                assert value not in text.lower(), text
        assert requests_of(answers[4], fmt) == []
        assert_error(get(client, f"requests/{b.public}", fmt), fmt, 404, b.public)
        assert_error(get(client, "tokens/beta-case-token", fmt), fmt, 404)
    # and B answers for itself
    assert _numbers(client, jurisdiction="beta") == [b.public]
    assert requests_of(get(client, "tokens/beta-case-token", jurisdiction="beta"), "json")[0]["token"] != b_token


def test_a_key_of_district_a_cannot_post_into_district_b(client, a, b):
    response = post(client, jurisdiction="beta", api_key=a.admin_token, service_code="water", address_id="beta-b1")
    assert_error(response, "json", 403)
    assert b.count() == 2
    ok = post(client, jurisdiction="beta", api_key=b.worker_token, service_code="water", address_id="beta-b1")
    assert _created(ok, "json")["service_request_id"].startswith("BB-")
    assert (a.count(), b.count()) == (2, 3)


def test_a_host_mapped_to_a_district_serves_it_without_jurisdiction_id_and_no_other(app, client, a, b):
    with app.app_context():
        from saas import db

        db.set_platform(True)
        db.session.get(Tenant, a.tenant.id).hostname = "wg.alpha.example"
        db.session.commit()
    host = {"Host": "wg.alpha.example"}
    assert _numbers(client, jurisdiction=None, headers=host) == [a.public]
    assert get(client, "services", jurisdiction="alpha", headers=host).status_code == 200
    assert_error(get(client, "services", jurisdiction="beta", headers=host), "json", 404, "beta")


# --- an outside client ------------------------------------------------------------------------------


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


@pytest.mark.config(SERVER_NAME=None)
@pytest.mark.parametrize("fmt", FORMATS)
def test_the_georeport_client_reads_and_a_form_post_writes(live_server, a, fmt):
    """`georeport` 0.3.1 (a standard GeoReport v2 client) against a live server; it has no POST, so the
    report is posted form-encoded as the spec's example (and the `open311` package) do it."""
    import requests
    from georeport import GeoReport

    root = f"{live_server}/open311/v2"
    client = GeoReport(root, jurisdiction="alpha", output_format=fmt)
    service_list = client.get_service_list()
    assert {s["service_code"] for s in service_list} >= {"water", "streetlight", "dispute"}
    water = next(s for s in service_list if s["service_code"] == "water")
    assert water["type"] == "realtime"
    assert water["metadata"] in (False, "false")
    definition = client.get_service_definition("water")
    assert definition["service_code"] == "water"
    with requests.Session() as http:
        posted = http.post(f"{root}/requests.{fmt}", data={
            "api_key": a.worker_token, "jurisdiction_id": "alpha", "service_code": "water", "address_id": "alpha-g1",
            "lat": "37.86",
            "long": "112.55", "address_string": "晋祠路1号", "description": "自来水管漏水", **OPEN311_REPORTER})
        assert posted.status_code == 200, posted.text
        assert posted.headers["Content-Type"] == CONTENT_TYPES[fmt]
    number = requests_of_text(posted.content, fmt)[0]["service_request_id"]
    one = client.get_service_request(number)
    assert one["service_request_id"] == number
    assert one["status"] == "open"
    listed = client.get_service_requests(status="open")
    listed = listed if isinstance(listed, list) else [listed]
    assert number in {r["service_request_id"] for r in listed}
    assert client.get_service_requests(service_request_id=number)
    with pytest.raises(requests.HTTPError) as err:
        GeoReport(root, jurisdiction="nowhere", output_format=fmt).get_service_list()
    assert err.value.response.status_code == 404


def requests_of_text(raw: bytes, fmt: str) -> list[dict[str, Any]]:
    if fmt == "json":
        return json.loads(raw)
    return [xml_dict(r) for r in ET.fromstring(raw)]  # noqa: S314 - our own server's answer
