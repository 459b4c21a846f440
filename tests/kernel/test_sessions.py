"""Sessions end on the server: logout, a removed role, `end_sessions`, and the idle and absolute lifetimes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from saas import auth, db
from tenants.models import RoleGrant, UserSession
from tests.plugin import TEST_PASSWORD

PAGE = "/t/alpha/admin/modules"


def signed_in(app: Flask, username: str) -> Any:
    client = app.test_client()
    assert client.post("/t/alpha/login", data={"login": username, "password": TEST_PASSWORD}).status_code == 302
    assert client.get(PAGE).status_code == 200
    return client


def cookie_of(app: Flask, client: Any) -> str:
    return client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value


def replay(app: Flask, value: str) -> Any:
    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], value)
    return thief


def is_signed_out(response: Any) -> bool:
    return response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_cookie_copied_before_logout_signs_nobody_in_after_it(app, factory, tenant_a):
    factory.user(tenant_a, username="wang")
    client = signed_in(app, "wang")
    copied = cookie_of(app, client)
    assert replay(app, copied).get(PAGE).status_code == 200  # the copy works while the session lives
    client.post("/t/alpha/logout")
    assert is_signed_out(replay(app, copied).get(PAGE))
    assert is_signed_out(client.get(PAGE))
    with factory.as_tenant(tenant_a) as s:
        rows = s.scalars(sa.select(UserSession)).all()
        assert [r.end_reason for r in rows] == ["logout"]


def test_the_server_keeps_only_a_hash_of_the_session_secret(app, factory, tenant_a):
    factory.user(tenant_a, username="wang")
    client = signed_in(app, "wang")
    with client.session_transaction() as sess:
        secret = sess["sid"]
    with factory.as_tenant(tenant_a) as s:
        stored = s.scalars(sa.select(UserSession.token_hash)).one()
    assert secret not in stored
    assert len(secret) >= 40


def test_removing_a_role_ends_every_session_of_the_person(app, factory, tenant_a):
    admin = factory.user(tenant_a, username="admin")
    worker = factory.user(tenant_a, username="wang")
    phone, desk = signed_in(app, "wang"), signed_in(app, "wang")
    boss = signed_in(app, "admin")
    with factory.as_tenant(tenant_a) as s:
        grant_id = s.scalars(sa.select(RoleGrant.id).where(RoleGrant.user_id == worker.id)).one()
    assert boss.post(f"/t/alpha/admin/people/grants/{grant_id}/revoke", data={"confirm": "1"}).status_code == 302
    assert is_signed_out(phone.get(PAGE))
    assert is_signed_out(desk.get(PAGE))
    assert boss.get(PAGE).status_code == 200
    with factory.as_tenant(tenant_a) as s:
        reasons = s.scalars(sa.select(UserSession.end_reason).where(UserSession.user_id == worker.id)).all()
        assert reasons == ["role", "role"]
        assert s.scalars(sa.select(UserSession.ended_at).where(UserSession.user_id == admin.id)).all() == [None]


def test_end_sessions_can_keep_the_browser_that_asks(app, factory, tenant_a):
    """A person changing their own password stays signed in here and is signed out everywhere else."""
    user = factory.user(tenant_a, username="wang")
    here, elsewhere = signed_in(app, "wang"), signed_in(app, "wang")
    cookie = f"{app.config['SESSION_COOKIE_NAME']}={cookie_of(app, here)}"
    with app.test_request_context("/t/alpha/", headers={"Cookie": cookie}), db.tenant_context(tenant_a.id) as s:
        assert auth.end_sessions(user.id, except_current=True, reason="password") == 1
        s.commit()
    assert here.get(PAGE).status_code == 200
    assert is_signed_out(elsewhere.get(PAGE))
    with app.app_context(), db.tenant_context(tenant_a.id) as s:
        assert auth.end_sessions(user.id) == 1
        s.commit()
    assert is_signed_out(here.get(PAGE))


def test_end_sessions_reaches_only_the_current_district(app, factory, tenant_a, tenant_b):
    a_user = factory.user(tenant_a, username="wang")
    factory.user(tenant_b, username="wang")
    client = signed_in(app, "wang")
    with app.app_context(), db.tenant_context(tenant_b.id) as s:
        assert auth.end_sessions(a_user.id) == 0
        s.commit()
    assert client.get(PAGE).status_code == 200


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += dt.timedelta(**kw)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(auth, "utcnow", c)
    return c


def test_a_staff_session_ends_after_an_hour_idle(app, factory, tenant_a, clock):
    factory.user(tenant_a, username="wang")
    client = signed_in(app, "wang")
    clock.advance(minutes=59)
    assert client.get(PAGE).status_code == 200
    clock.advance(minutes=59)  # idle is counted from the last request, not from sign-in
    assert client.get(PAGE).status_code == 200
    clock.advance(minutes=61)
    assert is_signed_out(client.get(PAGE))
    with factory.as_tenant(tenant_a) as s:
        assert s.scalars(sa.select(UserSession.end_reason)).all() == ["expired"]


def test_a_staff_session_ends_after_twelve_hours_however_busy(app, factory, tenant_a, clock):
    factory.user(tenant_a, username="wang")
    client = signed_in(app, "wang")
    for _ in range(14):  # 11 h 40 min of work, a request every 50 minutes
        clock.advance(minutes=50)
        assert client.get(PAGE).status_code == 200
    clock.advance(minutes=30)
    assert is_signed_out(client.get(PAGE))


@pytest.mark.config(SESSION_STAFF_IDLE_MINUTES=5, SESSION_CITIZEN_IDLE_MINUTES=30)
def test_residents_keep_their_session_longer_than_staff(app, factory, tenant_a, clock):
    factory.user(tenant_a, username="wang")
    staff = signed_in(app, "wang")
    with factory.as_tenant(tenant_a) as s:
        resident = auth.citizen_for_phone("13800138000", s)
        s.commit()
    citizen = app.test_client()
    from tests.plugin import session_data

    data = session_data(app, resident)
    with citizen.session_transaction() as sess:
        sess.update(data)
    assert citizen.get("/t/alpha/").status_code == 200
    clock.advance(minutes=10)
    assert is_signed_out(staff.get(PAGE))
    page = citizen.get("/t/alpha/").get_data(as_text=True)
    assert "/logout" in page  # still signed in
    clock.advance(minutes=31)
    assert "/logout" not in citizen.get("/t/alpha/").get_data(as_text=True)


def test_an_operators_cookie_copied_before_logout_signs_nobody_in_after_it(app, clock):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["platform", "create-operator", "op"], input="s3cret-pass\ns3cret-pass\n").exit_code == 0
    client = app.test_client()
    assert client.post("/platform/login", data={"username": "op", "password": "s3cret-pass"}).status_code == 302
    assert client.get("/platform/").status_code == 200
    copied = cookie_of(app, client)
    client.post("/platform/logout")
    assert replay(app, copied).get("/platform/").status_code == 302
    # and an operator's session idles out like a staff member's
    assert client.post("/platform/login", data={"username": "op", "password": "s3cret-pass"}).status_code == 302
    clock.advance(minutes=61)
    assert client.get("/platform/").status_code == 302


def test_signing_in_clears_the_persons_sessions_a_month_past_their_lifetime(app, factory, tenant_a, clock):
    factory.user(tenant_a, username="wang")
    signed_in(app, "wang").post("/t/alpha/logout")
    signed_in(app, "wang")
    clock.advance(days=20)
    signed_in(app, "wang")
    with factory.as_tenant(tenant_a) as s:
        assert len(s.scalars(sa.select(UserSession)).all()) == 3  # ended or not, kept as a record a while
    clock.advance(days=11)
    signed_in(app, "wang")
    with factory.as_tenant(tenant_a) as s:
        assert len(s.scalars(sa.select(UserSession)).all()) == 2
