"""Signing in: staff passwords, throttling, CSRF, citizens' phone codes, API tokens; permissions by role."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from saas.notify import Notification
from tenants.models import ApiToken, User
from tests.plugin import TEST_PASSWORD, WORKER_REDIS_URL, bearer


def test_staff_sign_in_by_username_and_by_phone(client, factory, tenant_a):
    factory.user(tenant_a, username="wang", phone="13912345678")
    bad = client.post("/t/alpha/login", data={"login": "wang", "password": "nope"})
    assert bad.status_code == 422
    assert "flash-error" in bad.get_data(as_text=True)
    ok = client.post("/t/alpha/login", data={"login": "wang", "password": TEST_PASSWORD})
    assert ok.status_code == 302
    assert client.get("/t/alpha/admin/modules").status_code == 200
    client.post("/t/alpha/logout")
    assert client.post("/t/alpha/login", data={"login": "139 1234 5678", "password": TEST_PASSWORD}).status_code == 302


def test_wrong_password_and_unknown_user_get_the_same_answer(client, factory, tenant_a):
    factory.user(tenant_a, username="wang")
    a = client.post("/t/alpha/login", data={"login": "wang", "password": "nope"}).get_data(as_text=True)
    b = client.post("/t/alpha/login", data={"login": "nobody", "password": "nope"}).get_data(as_text=True)
    message = re.compile(r'role="alert">([^<]+)<')
    assert message.findall(a) == message.findall(b)


def test_a_user_of_another_district_cannot_sign_in_here(client, factory, tenant_a, tenant_b):
    factory.user(tenant_b, username="li")
    assert client.post("/t/alpha/login", data={"login": "li", "password": TEST_PASSWORD}).status_code == 422


def test_open_redirect_after_login_is_refused(client, factory, tenant_a):
    factory.user(tenant_a, username="wang")
    response = client.post("/t/alpha/login", data={"login": "wang", "password": TEST_PASSWORD,
                                                   "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"


@pytest.mark.config(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
def test_login_is_throttled(client, factory, tenant_a):
    codes = [client.post("/t/alpha/login", data={"login": "x", "password": "y"}).status_code for _ in range(4)]
    assert codes == [422, 422, 422, 429]


@pytest.mark.config(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="2 per minute", REDIS_URL=WORKER_REDIS_URL)
def test_login_throttle_is_shared_through_redis(app, factory, tenant_a):
    """Two app processes behind a load balancer count the same attempts: the limiter stores them in Redis."""
    import redis

    redis.Redis.from_url(app.config["REDIS_URL"]).flushdb()
    first, second = app.test_client(), app.test_client()
    assert first.post("/t/alpha/login", data={"login": "x", "password": "y"}).status_code == 422
    assert second.post("/t/alpha/login", data={"login": "x", "password": "y"}).status_code == 422
    assert first.post("/t/alpha/login", data={"login": "x", "password": "y"}).status_code == 429
    assert redis.Redis.from_url(app.config["REDIS_URL"]).dbsize() > 0


@pytest.mark.config(WTF_CSRF_ENABLED=True)
def test_forms_need_the_csrf_token(client, factory, tenant_a, login_as):
    login_as(factory.user(tenant_a))
    response = client.post("/t/alpha/admin/modules/grid_cases", data={"enabled": "0"})
    assert response.status_code == 400
    page = client.get("/t/alpha/admin/modules").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert re.search(r'hx-headers=\'\{"X-CSRFToken": "[^"]+"\}\'', page)
    ok = client.post("/t/alpha/admin/modules/grid_cases", data={"enabled": "0", "confirm": "1"},
                     headers={"X-CSRFToken": token})
    assert ok.status_code == 302


def test_citizen_signs_in_with_a_phone_code(client, factory, tenant_a, phone_codes):
    response = client.post("/t/alpha/citizen", data={"phone": "13712345678"})
    assert response.status_code == 200
    code = phone_codes.last("13712345678")
    wrong = "000000" if code != "000000" else "111111"
    assert client.post("/t/alpha/citizen/verify", data={"phone": "13712345678", "code": wrong}).status_code == 422
    ok = client.post("/t/alpha/citizen/verify", data={"phone": "13712345678", "code": code})
    assert ok.status_code == 302
    assert "13712345678" not in client.get("/t/alpha/inbox").get_data(as_text=True)
    # a code is good once
    client.post("/t/alpha/logout")
    assert client.post("/t/alpha/citizen/verify", data={"phone": "13712345678", "code": code}).status_code == 422


def test_phone_code_stops_after_five_wrong_tries(client, factory, tenant_a, phone_codes):
    client.post("/t/alpha/citizen", data={"phone": "13712345678"})
    code = phone_codes.last("13712345678")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        client.post("/t/alpha/citizen/verify", data={"phone": "13712345678", "code": wrong})
    assert client.post("/t/alpha/citizen/verify", data={"phone": "13712345678", "code": code}).status_code == 422


@pytest.mark.parametrize("phone", ["12345", "1381234567x", "<script>", "0" * 300])
def test_bad_phone_gets_a_message(client, tenant_a, phone):
    response = client.post("/t/alpha/citizen", data={"phone": phone})
    assert response.status_code == 422
    assert "field-error" in response.get_data(as_text=True)
    assert "<script>" not in response.get_data(as_text=True)


def test_token_is_shown_once_stored_hashed_and_can_be_revoked(client, factory, tenant_a, login_as):
    user = factory.user(tenant_a)
    login_as(user)
    page = client.post("/t/alpha/me/tokens", data={"name": "脚本"}).get_data(as_text=True)
    token = re.search(r'id="new-token">([^<]+)<', page).group(1)
    assert token.startswith("wgt_")
    with factory.as_tenant(tenant_a) as s:
        row = s.scalars(sa.select(ApiToken)).one()
    assert token not in (row.token_hash, row.prefix)
    assert client.get("/api/v1/t/alpha/me", headers=bearer(token)).status_code == 200
    assert token not in client.get("/t/alpha/me/tokens").get_data(as_text=True)
    client.post(f"/t/alpha/me/tokens/{row.id}/revoke")
    assert client.get("/api/v1/t/alpha/me", headers=bearer(token)).status_code == 401


def test_someone_elses_token_cannot_be_revoked(client, factory, tenant_a, login_as):
    owner = factory.user(tenant_a)
    factory.token(owner)
    with factory.as_tenant(tenant_a) as s:
        row = s.scalars(sa.select(ApiToken)).one()
    login_as(factory.user(tenant_a))
    assert client.post(f"/t/alpha/me/tokens/{row.id}/revoke").status_code == 404


def test_api_refuses_cookies_and_garbage_tokens(client, factory, tenant_a, login_as):
    login_as(factory.user(tenant_a))
    assert client.get("/api/v1/t/alpha/me").status_code == 401
    for header in ("Bearer nonsense", "Basic abc", "Bearer " + "x" * 5000, "Bearer wgt_"):
        response = client.get("/api/v1/t/alpha/me", headers={"Authorization": header})
        assert response.status_code == 401
        assert response.json["code"] == "unauthorized"


@pytest.mark.parametrize(("role", "allowed"), [
    ("district_admin", True), ("grid_worker", False), ("community_cadre", False), ("dept_handler", False),
])
def test_admin_pages_follow_the_role(client, factory, tenant_a, login_as, role, allowed):
    factory.unit(tenant_a, "street", "s1")
    login_as(factory.user(tenant_a, role=role, unit_code="s1" if role != "district_admin" else None))
    for url in ("/t/alpha/admin/modules", "/t/alpha/admin/audit", "/t/alpha/admin/people"):
        assert client.get(url).status_code == (200 if allowed else 403), url


def test_menu_shows_only_what_the_role_allows(client, factory, tenant_a, login_as):
    factory.unit(tenant_a, "street", "s1")
    factory.unit(tenant_a, "community", "c1", "s1")
    factory.unit(tenant_a, "grid", "g1", "c1")
    login_as(factory.user(tenant_a, role="grid_worker", unit_code="g1"))
    page = client.get("/t/alpha/").get_data(as_text=True)
    assert "/admin/modules" not in page
    assert "/grid_cases/categories" in page


def test_grant_covers_the_subtree_only(app, factory, tenant_a):
    from saas.permissions import RoleBook, can

    factory.unit(tenant_a, "street", "s1")
    factory.unit(tenant_a, "street", "s2")
    factory.unit(tenant_a, "community", "c1", "s1")
    factory.unit(tenant_a, "community", "c2", "s2")
    officer = factory.user(tenant_a, role="street_officer", unit_code="s1")
    book = RoleBook.build(app.extensions["saas.modules"])
    with factory.as_tenant(tenant_a) as s:
        from tenants.services import org_unit_by_code

        user = s.scalars(sa.select(User).where(User.id == officer.id)).one()
        c1, c2 = org_unit_by_code(s, "c1"), org_unit_by_code(s, "c2")
        assert can(book, user, "grid_cases.stats", {"grid_cases"}, c1)
        assert not can(book, user, "grid_cases.stats", {"grid_cases"}, c2)
        # a module's permission counts only while the module is on
        assert not can(book, user, "grid_cases.stats", set(), c1)


def test_a_staff_phone_cannot_sign_in_with_a_phone_code(client, factory, tenant_a):
    """A phone code proves the phone, not the password: staff accounts keep their password."""
    factory.user(tenant_a, phone="13912345678")
    assert client.post("/t/alpha/citizen", data={"phone": "13912345678"}).status_code == 200
    with factory.as_tenant(tenant_a) as s:
        assert s.scalars(sa.select(Notification)).all() == []
    assert client.post("/t/alpha/citizen/verify", data={"phone": "13912345678", "code": "123456"}).status_code == 422
    assert client.get("/t/alpha/inbox").status_code == 302


def test_an_expired_phone_code_is_refused(client, factory, tenant_a, phone_codes):
    """The same code, refused once its ten minutes are over, and taken while they last."""
    from saas.db import utcnow
    from tenants.models import PhoneCode

    client.post("/t/alpha/citizen", data={"phone": "13712345678"})
    code = phone_codes.last("13712345678")

    def expire_in(delta):
        with factory.as_tenant(tenant_a) as s:
            s.execute(sa.update(PhoneCode).values(expires_at=utcnow() + delta))
            s.commit()

    expire_in(-dt.timedelta(seconds=1))
    refused = client.post("/t/alpha/citizen/verify", data={"phone": "13712345678", "code": code})
    assert refused.status_code == 422
    assert client.get("/t/alpha/inbox").status_code == 302  # not signed in
    expire_in(dt.timedelta(minutes=1))
    assert client.post("/t/alpha/citizen/verify", data={"phone": "13712345678", "code": code}).status_code == 302


def test_refused_sign_ins_are_audited_without_what_was_typed(client, factory, tenant_a, login_as):
    """A wrong password, an unknown name and a wrong phone code each leave an audit entry with the address they
    came from; the account is named when the name is one, never the password, the code or an unknown name."""
    from saas.audit import AuditEntry

    user = factory.user(tenant_a, username="zhang", phone="13912345678")
    assert client.post("/t/alpha/login", data={"login": "zhang", "password": "wrong-pass-123"}).status_code == 422
    assert client.post("/t/alpha/login", data={"login": "my-secret-pw", "password": "x"}).status_code == 422
    assert client.post("/t/alpha/citizen/verify", data={"phone": "13712345678", "code": "000000"}).status_code == 422
    with factory.as_tenant(tenant_a) as s:
        entries = list(s.scalars(sa.select(AuditEntry).where(AuditEntry.action.startswith("auth."))
                                 .order_by(AuditEntry.id)))
    assert [(e.action, e.object_id, e.after) for e in entries] == [
        ("auth.login_failed", str(user.id), {"account": "zhang"}),
        ("auth.login_failed", "", None),
        ("auth.code_failed", "", {"phone": "137****5678"}),
    ]
    assert all(e.ip == "127.0.0.1" and e.actor_id is None for e in entries)
    kept = repr([(e.actor_name, e.object_id, e.before, e.after) for e in entries])
    for typed in ("wrong-pass-123", "my-secret-pw", "000000", "13712345678"):
        assert typed not in kept
    # the audit page says what happened in words
    login_as(factory.user(tenant_a))
    page = client.get("/t/alpha/admin/audit").get_data(as_text=True)
    assert "登录被拒：用户名或密码错误，或账号已停用" in page
    assert "验证码被拒：错误或已过期" in page
