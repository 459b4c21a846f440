"""District settings and the working-day calendar: pages, htmx fragments, the API, bad input, audit, isolation."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import sqlalchemy as sa

from saas.audit import AuditEntry
from tenants.models import CalendarDay, OrgUnit, Tenant
from tests.plugin import bearer, text_of

HTMX = {"HX-Request": "true"}


def overrides(factory, tenant) -> dict[str, tuple[bool, str]]:
    with factory.as_tenant(tenant) as s:
        return {r.day.isoformat(): (r.is_workday, r.note) for r in s.scalars(sa.select(CalendarDay))}


def audit_entries(factory, tenant, prefix: str) -> list[AuditEntry]:
    with factory.as_tenant(tenant) as s:
        return list(s.scalars(sa.select(AuditEntry).where(AuditEntry.action.startswith(prefix))
                              .order_by(AuditEntry.at)))


def fresh_tenant(factory, tenant) -> Tenant:
    with factory.app.app_context():
        from saas import db

        return db.session.scalars(sa.select(Tenant).where(Tenant.id == tenant.id)).one()


@pytest.fixture
def admin(factory, tenant_a):
    return factory.user(tenant_a, name="区管理员")


@pytest.fixture
def worker(factory, tenant_a):
    return factory.user(tenant_a, role="grid_worker", name="网格员")


# --- settings page --------------------------------------------------------------------------------


@pytest.mark.one_backend
def test_menu_links_to_district_settings_for_admins_only(client, login_as, admin, worker):
    login_as(admin)
    assert "/t/alpha/admin/district/home" in client.get("/t/alpha/").get_data(as_text=True)
    assert client.get("/t/alpha/admin/district/home").headers["Location"].endswith("/t/alpha/admin/district/")
    login_as(worker)
    assert "/admin/district" not in client.get("/t/alpha/").get_data(as_text=True)
    assert client.get("/t/alpha/admin/district/home").status_code == 403


def test_admin_renames_the_district_and_changes_its_time_zone(client, login_as, factory, tenant_a, admin):
    login_as(admin)
    page = client.get("/t/alpha/admin/district/")
    assert page.status_code == 200
    assert 'value="甲区"' in page.get_data(as_text=True)
    response = client.post("/t/alpha/admin/district/", data={"name_zh": "  新甲区 ", "name_en": "New Alpha",
                                                              "timezone": "Asia/Urumqi"})
    assert response.status_code == 302
    tenant = fresh_tenant(factory, tenant_a)
    assert (tenant.name_zh, tenant.name_en, tenant.timezone) == ("新甲区", "New Alpha", "Asia/Urumqi")
    with factory.as_tenant(tenant_a) as s:
        assert s.scalars(sa.select(OrgUnit.name).where(OrgUnit.kind == "district")).one() == "新甲区"
    [entry] = audit_entries(factory, tenant_a, "district.")
    assert entry.action == "district.update"
    assert entry.actor_name == "区管理员"
    assert entry.before == {"name_zh": "甲区", "name_en": "Alpha", "timezone": "Asia/Shanghai"}
    assert entry.after == {"name_zh": "新甲区", "name_en": "New Alpha", "timezone": "Asia/Urumqi"}


def test_saving_unchanged_settings_writes_no_audit_entry(client, login_as, factory, tenant_a, admin):
    login_as(admin)
    response = client.post("/t/alpha/admin/district/", data={"name_zh": "甲区", "name_en": "Alpha",
                                                              "timezone": "Asia/Shanghai"})
    assert response.status_code == 302
    assert audit_entries(factory, tenant_a, "district.") == []


BAD_SETTINGS = [
    ({"name_zh": "", "name_en": "A", "timezone": "Asia/Shanghai"}, "name_zh", "This field is required."),
    ({"name_zh": "   ", "name_en": "A", "timezone": "Asia/Shanghai"}, "name_zh", "This field is required."),
    ({"name_zh": "区" * 81, "name_en": "A", "timezone": "Asia/Shanghai"}, "name_zh", "between 0 and 80."),
    ({"name_zh": "甲区", "name_en": "A" * 121, "timezone": "Asia/Shanghai"}, "name_en", "between 0 and 120."),
    ({"name_zh": "甲区", "name_en": "A", "timezone": "Mars/Olympus"}, "timezone", "Unknown time zone"),
    ({"name_zh": "甲区", "name_en": "A", "timezone": "../../etc/passwd"}, "timezone", "Unknown time zone"),
    ({"name_zh": "甲\x07区", "name_en": "A", "timezone": "Asia/Shanghai"}, "name_zh", "not allowed"),
]


def test_bad_settings_are_refused_with_a_message_and_change_nothing(client, login_as, factory, tenant_a, admin):
    login_as(admin)
    with client.session_transaction() as sess:
        sess["lang"] = "en"
    for form, field, message in BAD_SETTINGS:
        response = client.post("/t/alpha/admin/district/", data=form)
        assert response.status_code == 422, form
        html = response.get_data(as_text=True)
        assert f'id="{field}-error"' in html, form
        assert message in text_of(html), form
    tenant = fresh_tenant(factory, tenant_a)
    assert (tenant.name_zh, tenant.timezone) == ("甲区", "Asia/Shanghai")
    assert audit_entries(factory, tenant_a, "district.") == []


def test_people_without_the_permission_get_403(client, login_as, worker):
    login_as(worker)
    assert client.get("/t/alpha/admin/district/").status_code == 403
    assert client.post("/t/alpha/admin/district/", data={"name_zh": "x", "timezone": "UTC"}).status_code == 403
    assert client.get("/t/alpha/admin/district/calendar").status_code == 403
    assert client.post("/t/alpha/admin/district/calendar", data={"date": "2026-10-08", "is_workday": "0"}
                       ).status_code == 403


@pytest.mark.one_backend
def test_signed_out_visitors_are_sent_to_sign_in(client, tenant_a):
    response = client.get("/t/alpha/admin/district/calendar")
    assert response.status_code == 302
    assert "/t/alpha/login" in response.headers["Location"]


# --- calendar page --------------------------------------------------------------------------------


def test_calendar_page_lists_2026_holidays_and_make_up_days(client, login_as, admin):
    login_as(admin)
    with client.session_transaction() as sess:
        sess["lang"] = "en"
    response = client.get("/t/alpha/admin/district/calendar?year=2026&month=10")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert 'data-date="2026-02-17" data-source="national" data-workday="no"' in html
    assert 'data-date="2026-10-01" data-source="national" data-workday="no"' in html
    assert 'data-date="2026-10-10" data-source="national" data-workday="yes"' in html
    assert 'data-date="2026-09-20" data-source="national" data-workday="yes"' in html
    text = text_of(html)
    assert "Spring Festival" in text
    assert "National Day" in text
    assert "Mid-autumn Festival" in text
    assert 'id="not-published"' not in html
    # the month grid shows October with the make-up Saturday marked
    assert 'class="kind-makeup" data-date="2026-10-10"' in html


@pytest.mark.one_backend
def test_calendar_page_of_an_unpublished_year_says_so(client, login_as, admin):
    login_as(admin)
    html = client.get("/t/alpha/admin/district/calendar?year=2027").get_data(as_text=True)
    assert 'id="not-published"' in html
    assert 'data-source="national"' not in html


@pytest.mark.one_backend
def test_calendar_page_refuses_a_year_out_of_range(client, login_as, admin):
    login_as(admin)
    assert client.get("/t/alpha/admin/district/calendar?year=1800").status_code == 422
    assert client.get("/t/alpha/admin/district/calendar?year=abc&month=13").status_code == 422


def test_calendar_keeper_without_admin_rights_sees_the_calendar_only(client, login_as, factory, tenant_a, app):
    from saas.modules import RoleSpec
    from saas.permissions import RoleBook

    book: RoleBook = app.extensions["saas.roles"]
    book.roles["calendar_keeper"] = RoleSpec("calendar_keeper", "Calendar keeper", ("tenant.calendar",))
    book.module_of_role["calendar_keeper"] = None
    book.grants[("calendar_keeper", "tenant.calendar")] = None
    login_as(factory.user(tenant_a, role="calendar_keeper"))
    assert client.get("/t/alpha/admin/district/home").headers["Location"].endswith("/admin/district/calendar")
    assert client.get("/t/alpha/admin/district/calendar").status_code == 200
    assert client.get("/t/alpha/admin/district/").status_code == 403


def test_htmx_add_override_returns_the_fragment_and_audits(client, login_as, factory, tenant_a, admin):
    login_as(admin)
    response = client.post("/t/alpha/admin/district/calendar", headers=HTMX,
                           data={"date": "2026-10-08", "is_workday": "0", "note": "区庆", "view_year": "2026",
                                 "view_month": "10"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html
    assert 'id="override-2026-10-08"' in html
    assert 'data-date="2026-10-08" data-source="override" data-workday="no"' in html
    assert "区庆" in html
    assert "HX-Request" in response.headers["Vary"]
    assert overrides(factory, tenant_a) == {"2026-10-08": (False, "区庆")}
    [entry] = audit_entries(factory, tenant_a, "calendar.")
    assert (entry.action, entry.object_type, entry.object_id) == ("calendar.add", "calendar_day", "2026-10-08")
    assert entry.before is None
    assert entry.after == {"date": "2026-10-08", "is_workday": False, "note": "区庆"}


def test_plain_form_add_redirects_to_the_month_of_the_override(client, login_as, factory, tenant_a, admin):
    login_as(admin)
    response = client.post("/t/alpha/admin/district/calendar", data={"date": "2026-10-17", "is_workday": "1"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/district/calendar?year=2026&month=10")
    assert overrides(factory, tenant_a) == {"2026-10-17": (True, "")}


BAD_OVERRIDE_FORMS = [
    ({"date": "2026-02-30", "is_workday": "0"}, "date"),
    ({"date": "30/09/2026", "is_workday": "0"}, "date"),
    ({"date": "", "is_workday": "0"}, "date"),
    ({"date": "1899-10-01", "is_workday": "0"}, "date"),
    ({"date": "2026-10-08", "is_workday": "maybe"}, "is_workday"),
    ({"date": "2026-10-08"}, "is_workday"),
    ({"date": "2026-10-08", "is_workday": "0", "note": "x" * 121}, "note"),
]


def test_bad_override_is_refused_with_a_message_and_adds_nothing(client, login_as, factory, tenant_a, admin):
    login_as(admin)
    for (form, field), headers in itertools.product(BAD_OVERRIDE_FORMS, ({}, HTMX)):
        response = client.post("/t/alpha/admin/district/calendar", data=form, headers=headers)
        assert response.status_code == 422, form
        html = response.get_data(as_text=True)
        assert f'id="{field}-error"' in html, form
        # a plain post gets the whole page back, htmx only the calendar's body
        assert ("<html" in html) is not bool(headers)
    assert overrides(factory, tenant_a) == {}
    assert audit_entries(factory, tenant_a, "calendar.") == []


def test_duplicate_override_is_refused(client, login_as, factory, tenant_a, admin):
    login_as(admin)
    with client.session_transaction() as sess:
        sess["lang"] = "en"
    client.post("/t/alpha/admin/district/calendar", data={"date": "2026-10-08", "is_workday": "0", "note": "一"})
    response = client.post("/t/alpha/admin/district/calendar", headers=HTMX,
                           data={"date": "2026-10-08", "is_workday": "1", "note": "二"})
    assert response.status_code == 422
    assert "already has an override" in text_of(response.get_data(as_text=True))
    assert overrides(factory, tenant_a) == {"2026-10-08": (False, "一")}
    assert len(audit_entries(factory, tenant_a, "calendar.")) == 1


def test_htmx_remove_override_returns_the_fragment_and_audits(client, login_as, factory, tenant_a, admin):
    login_as(admin)
    client.post("/t/alpha/admin/district/calendar", data={"date": "2026-10-08", "is_workday": "0", "note": "区庆"})
    response = client.post("/t/alpha/admin/district/calendar/2026-10-08/delete", headers=HTMX,
                           data={"view_year": "2026", "view_month": "10"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html
    assert 'id="override-2026-10-08"' not in html
    assert overrides(factory, tenant_a) == {}
    entries = audit_entries(factory, tenant_a, "calendar.")
    assert [e.action for e in entries] == ["calendar.add", "calendar.remove"]
    assert entries[1].before == {"date": "2026-10-08", "is_workday": False, "note": "区庆"}
    assert entries[1].after is None
    # removing it again, or a day that is not one, is a plain 404
    assert client.post("/t/alpha/admin/district/calendar/2026-10-08/delete").status_code == 404
    assert client.post("/t/alpha/admin/district/calendar/not-a-day/delete").status_code == 404


def test_page_of_tenant_a_does_not_show_or_remove_tenant_b_overrides(client, login_as, factory, tenant_a,
                                                                   tenant_b, admin):
    login_as(factory.user(tenant_b))
    client.post("/t/beta/admin/district/calendar", data={"date": "2026-10-08", "is_workday": "0", "note": "乙区"})
    assert overrides(factory, tenant_b) == {"2026-10-08": (False, "乙区")}
    login_as(admin)
    html = client.get("/t/alpha/admin/district/calendar?year=2026&month=10").get_data(as_text=True)
    assert "乙区" not in html
    assert 'data-source="override"' not in html
    assert client.post("/t/alpha/admin/district/calendar/2026-10-08/delete").status_code == 404
    assert overrides(factory, tenant_b) == {"2026-10-08": (False, "乙区")}


# --- API ------------------------------------------------------------------------------------------------


@pytest.fixture
def admin_token(factory, admin):
    return bearer(factory.token(admin))


def test_api_reads_and_patches_the_district(client, factory, tenant_a, admin_token):
    response = client.get("/api/v1/t/alpha/admin/district", headers=admin_token)
    assert response.status_code == 200
    assert response.json == {"slug": "alpha", "name_zh": "甲区", "name_en": "Alpha", "timezone": "Asia/Shanghai"}
    response = client.patch("/api/v1/t/alpha/admin/district", headers=admin_token, json={"name_en": "Alpha District"})
    assert response.status_code == 200
    assert response.json["name_en"] == "Alpha District"
    assert response.json["name_zh"] == "甲区"
    [entry] = audit_entries(factory, tenant_a, "district.")
    assert (entry.before, entry.after) == ({"name_en": "Alpha"}, {"name_en": "Alpha District"})


BAD_DISTRICT_BODIES = [
    ({"name_zh": ""}, "name_zh"),
    ({"name_zh": "区" * 81}, "name_zh"),
    ({"timezone": "Nowhere/Special"}, "timezone"),
    ({"timezone": 8}, "timezone"),
    ({"slug": "gamma"}, "slug"),
    ({"name_en": None}, "name_en"),
]


def test_api_refuses_bad_district_changes(client, factory, tenant_a, admin_token):
    for body, field in BAD_DISTRICT_BODIES:
        response = client.patch("/api/v1/t/alpha/admin/district", headers={**admin_token, "Accept-Language": "en"},
                                json=body)
        assert response.status_code == 422, body
        assert response.json["code"] == "validation_error"
        assert field in response.json["errors"], body
    tenant = fresh_tenant(factory, tenant_a)
    assert (tenant.slug, tenant.name_zh, tenant.timezone) == ("alpha", "甲区", "Asia/Shanghai")
    assert audit_entries(factory, tenant_a, "district.") == []


def test_api_calendar_year_lists_national_days_and_overrides_with_sources(client, admin_token):
    response = client.post("/api/v1/t/alpha/admin/calendar", headers=admin_token,
                           json={"date": "2026-10-17", "is_workday": True, "note": "补班"})
    assert response.status_code == 201
    assert response.json["source"] == "override"
    assert response.json["is_workday"] is True
    assert response.json["national_is_workday"] is False
    response = client.get("/api/v1/t/alpha/admin/calendar?year=2026", headers={**admin_token, "Accept-Language": "en"})
    assert response.status_code == 200
    body = response.json
    assert body["year"] == 2026
    assert body["national_published"] is True
    days = {d["date"]: d for d in body["days"]}
    assert (days["2026-10-01"]["is_workday"], days["2026-10-01"]["source"]) == (False, "national")
    assert days["2026-10-01"]["holiday"] == "National Day"
    assert days["2026-10-01"]["label"] == "National Day"
    assert (days["2026-10-10"]["is_workday"], days["2026-10-10"]["kind"]) == (True, "makeup")
    assert (days["2026-02-17"]["holiday"], days["2026-02-17"]["source"]) == ("Spring Festival", "national")
    assert (days["2026-10-17"]["source"], days["2026-10-17"]["note"]) == ("override", "补班")
    assert "2026-10-11" not in days
    every = client.get("/api/v1/t/alpha/admin/calendar?year=2026&all=true", headers=admin_token).json["days"]
    assert len(every) == 365
    assert {d["source"] for d in every} == {"national", "weekly", "override"}


@pytest.mark.one_backend
def test_api_calendar_of_an_unpublished_year(client, admin_token):
    client.post("/api/v1/t/alpha/admin/calendar", headers=admin_token, json={"date": "2027-10-01", "is_workday": False})
    body = client.get("/api/v1/t/alpha/admin/calendar?year=2027", headers=admin_token).json
    assert body["national_published"] is False
    assert [(d["date"], d["source"]) for d in body["days"]] == [("2027-10-01", "override")]
    assert client.get("/api/v1/t/alpha/admin/calendar/2027-10-04", headers=admin_token).json["source"] == "assumed"


@pytest.mark.one_backend
def test_api_calendar_refuses_bad_years(client, admin_token):
    for query in ["year=abc", "year=1999", "year=2101"]:
        response = client.get(f"/api/v1/t/alpha/admin/calendar?{query}", headers=admin_token)
        assert response.status_code == 422, query
        assert "year" in response.json["errors"]


BAD_OVERRIDE_BODIES = [
    ({"date": "2026-02-30", "is_workday": False}, "date"),
    ({"date": "2026/10/08", "is_workday": False}, "date"),
    ({"date": 20261008, "is_workday": False}, "date"),
    ({"date": "2026-10-08"}, "is_workday"),
    ({"date": "2026-10-08", "is_workday": "perhaps"}, "is_workday"),
    ({"date": "2026-10-08", "is_workday": False, "note": "x" * 121}, "note"),
    ({"date": "2026-10-08", "is_workday": False, "tenant_id": 1}, "tenant_id"),
    ({"date": "3000-01-01", "is_workday": False}, "date"),
]


def test_api_refuses_bad_overrides(client, factory, tenant_a, admin_token):
    for body, field in BAD_OVERRIDE_BODIES:
        response = client.post("/api/v1/t/alpha/admin/calendar", headers=admin_token, json=body)
        assert response.status_code == 422, body
        assert field in response.json["errors"], body
    assert overrides(factory, tenant_a) == {}


def test_api_refuses_a_duplicate_override(client, factory, tenant_a, admin_token):
    body = {"date": "2026-10-08", "is_workday": False}
    assert client.post("/api/v1/t/alpha/admin/calendar", headers=admin_token, json=body).status_code == 201
    response = client.post("/api/v1/t/alpha/admin/calendar", headers={**admin_token, "Accept-Language": "en"},
                           json={**body, "is_workday": True})
    assert response.status_code == 422
    assert "already has an override" in response.json["errors"]["date"]
    assert overrides(factory, tenant_a) == {"2026-10-08": (False, "")}


def test_api_removes_an_override(client, factory, tenant_a, admin_token):
    client.post("/api/v1/t/alpha/admin/calendar", headers=admin_token, json={"date": "2026-10-08", "is_workday": False})
    response = client.delete("/api/v1/t/alpha/admin/calendar/2026-10-08", headers=admin_token)
    assert response.status_code == 204
    assert overrides(factory, tenant_a) == {}
    assert [e.action for e in audit_entries(factory, tenant_a, "calendar.")] == ["calendar.add", "calendar.remove"]
    assert client.delete("/api/v1/t/alpha/admin/calendar/2026-10-08", headers=admin_token).status_code == 404
    assert client.delete("/api/v1/t/alpha/admin/calendar/2026-13-01", headers=admin_token).status_code == 422


def test_api_needs_a_token_and_the_permission(client, factory, tenant_a, worker):
    assert client.get("/api/v1/t/alpha/admin/district").status_code == 401
    assert client.get("/api/v1/t/alpha/calendar/add-working-days?start=2026-09-30&days=1").status_code == 401
    token = bearer(factory.token(worker))
    assert client.get("/api/v1/t/alpha/admin/district", headers=token).status_code == 403
    assert client.patch("/api/v1/t/alpha/admin/district", headers=token, json={"name_zh": "x"}).status_code == 403
    assert client.get("/api/v1/t/alpha/admin/calendar", headers=token).status_code == 403
    assert client.post("/api/v1/t/alpha/admin/calendar", headers=token,
                       json={"date": "2026-10-08", "is_workday": False}).status_code == 403
    # computing a deadline is for everyone signed in
    assert client.get("/api/v1/t/alpha/calendar/add-working-days?start=2026-09-30&days=1",
                      headers=token).status_code == 200


DEADLINES = [
    ("2026-09-30", 1, "2026-10-08T23:59:59.999999+08:00"),
    ("2026-09-30T23:30:00+08:00", 3, "2026-10-10T23:59:59.999999+08:00"),
    ("2026-10-08T23:30:00%2B08:00", 1, "2026-10-09T23:59:59.999999+08:00"),
    ("2026-10-08T23:30:00+08:00", 1, "2026-10-09T23:59:59.999999+08:00"),  # an unencoded + arrives as a space
    ("2026-10-08T16:30:00Z", 1, "2026-10-10T23:59:59.999999+08:00"),  # 00:30 on 9 October in Shanghai
    ("2026-10-09T00:30", 1, "2026-10-10T23:59:59.999999+08:00"),  # no offset: the district's zone
    ("2026-02-12", 3, "2026-02-24T23:59:59.999999+08:00"),
    ("2027-09-30", 1, "2027-10-01T23:59:59.999999+08:00"),
    ("2026-09-30", 0, "2026-09-30T23:59:59.999999+08:00"),
]


def test_api_add_working_days(client, factory, tenant_a, admin_token):
    for start, days, deadline in DEADLINES:
        response = client.get(f"/api/v1/t/alpha/calendar/add-working-days?start={start}&days={days}",
                              headers=admin_token)
        assert response.status_code == 200, (start, response.json)
        assert response.json["deadline"] == deadline, start
        assert response.json["deadline_date"] == deadline[:10]
        assert response.json["timezone"] == "Asia/Shanghai"


@pytest.mark.one_backend
def test_api_add_working_days_can_end_at_office_close(client, admin_token):
    response = client.get("/api/v1/t/alpha/calendar/add-working-days?start=2026-09-30&days=1&until_office_close=1",
                          headers=admin_token)
    assert response.json["deadline"] == "2026-10-08T17:30:00+08:00"


@pytest.mark.one_backend
def test_api_add_working_days_refuses_bad_input(client, admin_token):
    for query in ["days=1", "start=2026-09-30", "start=yesterday&days=1", "start=2026-09-30&days=-1",
                  "start=2026-09-30&days=1001", "start=2026-09-30&days=x", "start=1066-10-14&days=1",
                  "start=2026-09-31&days=1", "start=2026-09-30T25:00&days=1", f"start={'9' * 50}&days=1"]:
        response = client.get(f"/api/v1/t/alpha/calendar/add-working-days?{query}", headers=admin_token)
        assert response.status_code == 422, query
        assert response.json["code"] == "validation_error"


def test_api_deadlines_follow_each_tenants_own_overrides(client, factory, tenant_a, tenant_b, admin_token):
    b_token = bearer(factory.token(factory.user(tenant_b)))
    assert client.post("/api/v1/t/beta/admin/calendar", headers=b_token,
                       json={"date": "2026-10-08", "is_workday": False, "note": "乙区"}).status_code == 201
    url = "calendar/add-working-days?start=2026-09-30&days=1"
    assert client.get(f"/api/v1/t/beta/{url}", headers=b_token).json["deadline_date"] == "2026-10-09"
    assert client.get(f"/api/v1/t/alpha/{url}", headers=admin_token).json["deadline_date"] == "2026-10-08"
    days = client.get("/api/v1/t/alpha/admin/calendar?year=2026", headers=admin_token).json["days"]
    assert all(d["source"] != "override" for d in days)
    assert client.delete("/api/v1/t/alpha/admin/calendar/2026-10-08", headers=admin_token).status_code == 404
    assert overrides(factory, tenant_b) == {"2026-10-08": (False, "乙区")}
    # the same day may be overridden in both districts: the key includes the tenant
    assert client.post("/api/v1/t/alpha/admin/calendar", headers=admin_token,
                       json={"date": "2026-10-08", "is_workday": True}).status_code == 201


def test_api_deadline_uses_the_district_time_zone(client, admin_token):
    client.patch("/api/v1/t/alpha/admin/district", headers=admin_token, json={"timezone": "Asia/Urumqi"})
    response = client.get("/api/v1/t/alpha/calendar/add-working-days?start=2026-10-08T17:00:00Z&days=1",
                          headers=admin_token)
    assert response.json["deadline"] == "2026-10-09T23:59:59.999999+06:00"
    assert response.json["timezone"] == "Asia/Urumqi"


@pytest.mark.one_backend
def test_openapi_documents_the_district_api(client):
    paths = client.get("/api/openapi.json").json["paths"]
    assert {"get", "patch"} <= set(paths["/api/v1/t/{tenant}/admin/district"])
    assert {"get", "post"} <= set(paths["/api/v1/t/{tenant}/admin/calendar"])
    assert "delete" in paths["/api/v1/t/{tenant}/admin/calendar/{day}"]
    assert "get" in paths["/api/v1/t/{tenant}/calendar/add-working-days"]


def test_tenant_timezone_today_default_year(client, admin_token, monkeypatch):
    """A fixed clock: 16:30 UTC on New Year's Eve is already New Year's Day in Shanghai, the district's zone."""
    from zoneinfo import ZoneInfo

    from tenants import district_api

    moment = dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.UTC)
    monkeypatch.setattr(district_api, "tenant_now", lambda tz: moment.astimezone(ZoneInfo(tz)))
    body = client.get("/api/v1/t/alpha/admin/calendar", headers=admin_token).json
    assert body["year"] == 2027
