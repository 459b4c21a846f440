"""Staff passwords: an admin's temporary password or set-password link, changing one's own, a forgotten one by code."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from saas import notice_settings, passwords
from saas.audit import AuditEntry
from saas.notify import Delivery
from tenants.models import PasswordToken, User
from tests.plugin import TEST_PASSWORD, session_data
from tests.workers.conftest import admit_local_receivers
from tests.workers.receiver import Receiver

LINK = re.compile(r"https?://[^\s<]+/t/alpha/password/([A-Za-z0-9_-]{20,})")
CODE = re.compile(r"\b(\d{6})\b")


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def sms(factory, tenant_a, receiver):
    admit_local_receivers(factory.app)
    with factory.as_tenant(tenant_a) as s:
        notice_settings.save_channel(s, None, "sms", {"url": receiver.url + "/sms"}, True)
        s.commit()
    return receiver


@pytest.fixture
def changes(monkeypatch):
    """Every password change reaches the one hook where the person's other sessions end."""
    seen = []
    monkeypatch.setattr(passwords, "password_changed", lambda user: seen.append(user.id))
    return seen


def _user(factory, tenant, user_id):
    with factory.as_tenant(tenant) as s:
        return s.scalars(sa.select(User).where(User.id == user_id)).one()


def _actions(factory, tenant):
    with factory.as_tenant(tenant) as s:
        return [e.action for e in s.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))]


def _sign_in(app, login, password):
    client = app.test_client()
    answer = client.post("/t/alpha/login", data={"login": login, "password": password})
    return client, answer.status_code


def test_admin_sets_a_temporary_password_the_person_must_change_first(app, client, factory, tenant_a, login_as,
                                                                      changes):
    admin = factory.user(tenant_a)
    person = factory.user(tenant_a, "grid_worker", username="gw7", phone="13800000007")
    login_as(admin)
    assert client.get(f"/t/alpha/admin/people/{person.id}/password").status_code == 200
    url = f"/t/alpha/admin/people/{person.id}/password/temporary"
    differ = client.post(url, data={"password": "temp-pass-1", "password2": "temp-pass-2"})
    assert differ.status_code == 422
    assert "两次输入的密码不一致" in differ.get_data(as_text=True)
    assert client.post(url, data={"password": "short", "password2": "short"}).status_code == 422
    assert changes == []
    assert client.post(url, data={"password": "temp-pass-1", "password2": "temp-pass-1"}).status_code == 200
    assert changes == [person.id]
    assert _user(factory, tenant_a, person.id).must_change_password
    assert "user.password_temporary" in _actions(factory, tenant_a)

    worker, status = _sign_in(app, "gw7", "temp-pass-1")
    assert status == 302
    for path in ("/t/alpha/", "/t/alpha/inbox", "/t/alpha/me/tokens"):
        answer = worker.get(path)
        assert answer.status_code == 302, path
        assert answer.headers["Location"].endswith("/t/alpha/me/password")
    fragment = worker.get("/t/alpha/inbox", headers={"HX-Request": "true"})
    assert fragment.headers["HX-Redirect"].endswith("/t/alpha/me/password")
    assert worker.get("/t/alpha/inbox/count", headers={"HX-Request": "true"}).status_code == 200
    forced = worker.get("/t/alpha/me/password")
    assert forced.status_code == 200
    assert "临时密码" in forced.get_data(as_text=True)
    same = worker.post("/t/alpha/me/password", data={"current": "temp-pass-1", "password": "temp-pass-1",
                                                     "password2": "temp-pass-1"})
    assert same.status_code == 422
    done = worker.post("/t/alpha/me/password", data={"current": "temp-pass-1", "password": "my-own-pass-7",
                                                     "password2": "my-own-pass-7"})
    assert done.status_code == 302
    assert worker.get("/t/alpha/").status_code == 200
    assert not _user(factory, tenant_a, person.id).must_change_password
    assert changes == [person.id, person.id]
    assert _sign_in(app, "gw7", "temp-pass-1")[1] == 422
    assert _sign_in(app, "gw7", "my-own-pass-7")[1] == 302


def test_admin_sends_a_set_password_link_by_sms(app, client, factory, tenant_a, login_as, sms, changes):
    admin = factory.user(tenant_a)
    person = factory.user(tenant_a, "grid_worker", phone="13800000008")
    login_as(admin)
    url = f"/t/alpha/admin/people/{person.id}/password/link"
    first = LINK.search(client.post(url).get_data(as_text=True)).group(1)
    sent = client.post(url)
    assert sent.status_code == 200
    token = LINK.search(sent.get_data(as_text=True)).group(1)
    sms.wait_for(lambda: len(sms.delivered) == 2)
    assert any(token in m["body"]["text"] for m in sms.delivered.values())
    with factory.as_tenant(tenant_a) as s:
        stored = [d.body + d.title for d in s.scalars(sa.select(Delivery))]
        hashes = list(s.scalars(sa.select(PasswordToken.token_hash)))
    assert not any(token in text or first in text for text in stored + hashes)
    # a new link replaces the earlier one
    assert app.test_client().get(f"/t/alpha/password/{first}").status_code == 410
    person_client = app.test_client()
    assert person_client.get(f"/t/alpha/password/{token}").status_code == 302
    assert person_client.post("/t/alpha/password/set", data={"password": "link-pass-8",
                                                             "password2": "link-pass-8"}).status_code == 302
    assert changes == [person.id]
    assert _sign_in(app, "13800000008", "link-pass-8")[1] == 302
    assert {"user.password_link", "user.password_set"} <= set(_actions(factory, tenant_a))


def test_only_admins_of_the_district_reach_a_persons_password(app, client, factory, tenant_a, tenant_b, login_as):
    person = factory.user(tenant_a, "grid_worker")
    login_as(factory.user(tenant_b))
    assert client.get(f"/t/beta/admin/people/{person.id}/password").status_code == 404
    assert client.post(f"/t/beta/admin/people/{person.id}/password/link").status_code == 404
    login_as(factory.user(tenant_a, "grid_worker"))
    assert client.post(f"/t/alpha/admin/people/{person.id}/password/temporary",
                       data={"password": "temp-pass-1", "password2": "temp-pass-1"}).status_code == 403


def test_everyone_changes_their_own_password(app, factory, tenant_a, changes):
    person = factory.user(tenant_a, "grid_worker", username="li")
    client, _ = _sign_in(app, "li", TEST_PASSWORD)
    page = client.get("/t/alpha/me/password")
    assert page.status_code == 200
    wrong = client.post("/t/alpha/me/password", data={"current": "nope-nope", "password": "new-pass-99",
                                                      "password2": "new-pass-99"})
    assert wrong.status_code == 422
    assert "当前密码不正确" in wrong.get_data(as_text=True)
    differ = client.post("/t/alpha/me/password", data={"current": TEST_PASSWORD, "password": "new-pass-99",
                                                       "password2": "new-pass-98"})
    assert differ.status_code == 422
    assert changes == []
    assert _sign_in(app, "li", TEST_PASSWORD)[1] == 302  # nothing changed
    done = client.post("/t/alpha/me/password", data={"current": TEST_PASSWORD, "password": "new-pass-99",
                                                     "password2": "new-pass-99"})
    assert done.status_code == 302
    assert changes == [person.id]
    assert _sign_in(app, "li", TEST_PASSWORD)[1] == 422
    assert _sign_in(app, "li", "new-pass-99")[1] == 302
    assert "user.password_change" in _actions(factory, tenant_a)


def test_a_changed_password_ends_the_persons_other_sessions(app, factory, tenant_a, login_as):
    factory.user(tenant_a, "grid_worker", username="li")
    phone, _ = _sign_in(app, "li", TEST_PASSWORD)
    laptop, _ = _sign_in(app, "li", TEST_PASSWORD)
    assert phone.get("/t/alpha/me/password").status_code == laptop.get("/t/alpha/me/password").status_code == 200
    done = laptop.post("/t/alpha/me/password", data={"current": TEST_PASSWORD, "password": "new-pass-99",
                                                     "password2": "new-pass-99"})
    assert done.status_code == 302
    assert laptop.get("/t/alpha/me/password").status_code == 200  # a fresh session where the change was made
    assert phone.get("/t/alpha/me/password").status_code == 302  # whoever knew the old password is out


def test_a_resident_has_no_password_to_change(client, factory, tenant_a):
    from saas import db
    from saas.auth import citizen_for_phone

    with factory.as_tenant(tenant_a):
        resident = citizen_for_phone("13700000001", db.session())
        db.session.commit()
        cookie = session_data(client.application, resident)
    with client.session_transaction() as sess:
        sess.update(cookie)
    assert client.get("/t/alpha/me/password").status_code == 404


def test_staff_reset_a_forgotten_password_with_a_phone_code(app, client, factory, tenant_a, sms, changes):
    person = factory.user(tenant_a, "grid_worker", phone="13800000009")
    asked = client.post("/t/alpha/password/forgot", data={"phone": "13800000009"})
    assert asked.status_code == 200
    sms.wait_for(lambda: sms.delivered)
    code = CODE.search(next(iter(sms.delivered.values()))["body"]["text"]).group(1)
    wrong = "000000" if code != "000000" else "111111"
    bad = client.post("/t/alpha/password/forgot/reset", data={"phone": "13800000009", "code": wrong,
                                                             "password": "reset-pass-1", "password2": "reset-pass-1"})
    assert bad.status_code == 422
    assert "验证码错误或已过期" in bad.get_data(as_text=True)
    # a mistyped new password does not spend the code
    short = client.post("/t/alpha/password/forgot/reset", data={"phone": "13800000009", "code": code,
                                                               "password": "short", "password2": "short"})
    assert short.status_code == 422
    assert changes == []
    done = client.post("/t/alpha/password/forgot/reset", data={"phone": "13800000009", "code": code,
                                                              "password": "reset-pass-1", "password2": "reset-pass-1"})
    assert done.status_code == 302
    assert done.headers["Location"].endswith("/t/alpha/login")
    assert changes == [person.id]
    assert _sign_in(app, "13800000009", "reset-pass-1")[1] == 302
    again = client.post("/t/alpha/password/forgot/reset", data={"phone": "13800000009", "code": code,
                                                               "password": "reset-pass-2", "password2": "reset-pass-2"})
    assert again.status_code == 422  # the code works once
    assert "user.password_reset" in _actions(factory, tenant_a)


def test_a_number_without_a_staff_account_gets_the_same_answer_and_no_code(client, factory, tenant_a, sms):
    answer = client.post("/t/alpha/password/forgot", data={"phone": "13800000010"})
    assert answer.status_code == 200
    assert "如果" in answer.get_data(as_text=True)
    assert sms.requests == []
    with factory.as_tenant(tenant_a) as s:
        assert list(s.scalars(sa.select(User))) == []  # no resident made from the number either
    bad = client.post("/t/alpha/password/forgot", data={"phone": "12"})
    assert bad.status_code == 422


@pytest.mark.config(RATELIMIT_ENABLED=True, PHONE_CODE_RATE_LIMIT="2 per hour")
def test_reset_codes_are_rate_limited(client, factory, tenant_a):
    factory.user(tenant_a, "grid_worker", phone="13800000011")
    codes = [client.post("/t/alpha/password/forgot", data={"phone": "13800000011"}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_a_links_token_is_blotted_out_of_the_log():
    import logging

    from saas import SecretPathFilter

    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '%s - - "%s" %s',
                               ("127.0.0.1", "GET /t/alpha/password/Abc-def_ghiJKLmnopQRSTuvwx HTTP/1.1", "302"), None)
    assert SecretPathFilter().filter(record)
    assert record.getMessage() == '127.0.0.1 - - "GET /t/alpha/password/•••• HTTP/1.1" 302'
    kept = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, "GET /t/alpha/password/set", None, None)
    SecretPathFilter().filter(kept)
    assert kept.getMessage() == "GET /t/alpha/password/set"
