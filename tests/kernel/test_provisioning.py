"""Provisioning a district with its first admin, and suspending and reactivating it (platform pages and CLI)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from saas import db
from saas.audit import AuditEntry
from saas.jobs import run_for_tenant, run_periodic
from saas.notify import Delivery, Notification, notify
from tenants.models import PasswordToken, RoleGrant, Tenant, User
from tests.kernel.test_modules import JOB_MODULE, job_calls
from tests.plugin import TEST_PASSWORD
from tests.workers.conftest import admit_local_receivers
from tests.workers.receiver import Receiver
from workers.delivery import deliver, relay_all

LINK = re.compile(r"https?://[^\s]+/t/([a-z0-9-]+)/password/([A-Za-z0-9_-]{20,})")


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def sms_gateway(app, receiver):
    """The platform's own SMS gateway, which a new district uses before it configures one."""
    app.config["PLATFORM_SMS_URL"] = receiver.url + "/sms"
    app.config["PLATFORM_SMS_SIGN"] = "网格通"
    return receiver


@pytest.fixture
def operator(app, client):
    runner = app.test_cli_runner()
    made = runner.invoke(args=["platform", "create-operator", "op"], input="op-pass-2026\nop-pass-2026\n")
    assert made.exit_code == 0
    assert client.post("/platform/login", data={"username": "op", "password": "op-pass-2026"}).status_code == 302
    return client


def _tenant(app, slug):
    with app.app_context():
        return db.session.scalars(sa.select(Tenant).where(Tenant.slug == slug)).first()


def _rows(factory, tenant, model, *where):
    with factory.as_tenant(tenant) as s:
        return list(s.scalars(sa.select(model).where(*where)))


def _create(client, **overrides):
    data = {"slug": "yingze", "name_zh": "迎泽区", "timezone": "Asia/Shanghai", "admin_name": "王主任",
            "admin_phone": "13912340001", **overrides}
    return client.post("/platform/", data=data)


def test_operator_creates_a_district_whose_admin_sets_a_password_from_the_link(app, operator, sms_gateway, factory):
    created = _create(operator)
    assert created.status_code == 200
    page = created.get_data(as_text=True)
    shown = LINK.search(page)
    assert shown is not None
    assert shown.group(1) == "yingze"
    token = shown.group(2)
    sms_gateway.wait_for(lambda: sms_gateway.delivered)
    [sms] = sms_gateway.delivered.values()
    assert sms["body"]["phone"] == "13912340001"
    assert token in sms["body"]["text"]
    assert sms["body"]["text"].startswith("【网格通】")

    tenant = _tenant(app, "yingze")
    [admin] = _rows(factory, tenant, User)
    assert admin.name == "王主任"
    assert admin.password_hash is None
    assert [g.role for g in _rows(factory, tenant, RoleGrant)] == ["district_admin"]
    # only a hash of the token is kept: not in the link's row, the outbox, the inbox or the audit log
    [row] = _rows(factory, tenant, PasswordToken)
    assert token not in row.token_hash
    kept = [d.body + d.title for d in _rows(factory, tenant, Delivery)]
    kept += [n.body + n.title for n in _rows(factory, tenant, Notification)]
    kept += [str(e.after) for e in _rows(factory, tenant, AuditEntry)]
    assert kept
    assert not any(token in text for text in kept)
    assert row.expires_at - row.created_at == dt.timedelta(hours=72)
    actions = {e.action for e in _rows(factory, tenant, AuditEntry)}
    assert {"tenant.create", "user.create", "role.grant", "user.password_link"} <= actions

    person = app.test_client()
    opened = person.get(f"/t/yingze/password/{token}")
    assert opened.status_code == 302
    assert opened.headers["Location"].endswith("/t/yingze/password/set")
    assert opened.headers["Referrer-Policy"] == "no-referrer"
    assert person.get("/t/yingze/password/set").status_code == 200
    short = person.post("/t/yingze/password/set", data={"password": "short", "password2": "short"})
    assert short.status_code == 422
    assert "至少 8 个字符" in short.get_data(as_text=True)
    differ = person.post("/t/yingze/password/set", data={"password": "yingze-2026", "password2": "yingze-2027"})
    assert differ.status_code == 422
    assert "两次输入的密码不一致" in differ.get_data(as_text=True)
    done = person.post("/t/yingze/password/set", data={"password": "yingze-2026", "password2": "yingze-2026"})
    assert done.status_code == 302
    assert person.get("/t/yingze/admin/people").status_code == 200  # signed in as the district's admin

    # single use: the link and the page it opened are dead now
    again = app.test_client()
    assert again.get(f"/t/yingze/password/{token}").status_code == 410
    assert person.get("/t/yingze/password/set").status_code == 410
    assert again.post("/t/yingze/login", data={"login": "13912340001", "password": "yingze-2026"}).status_code == 302


def test_a_link_expires(app, operator, factory):
    page = _create(operator).get_data(as_text=True)
    token = LINK.search(page).group(2)
    tenant = _tenant(app, "yingze")
    with factory.as_tenant(tenant) as s:
        s.execute(sa.update(PasswordToken).values(expires_at=db.utcnow() - dt.timedelta(minutes=1)))
        s.commit()
    dead = app.test_client().get(f"/t/yingze/password/{token}")
    assert dead.status_code == 410
    assert "链接已失效" in dead.get_data(as_text=True)
    assert app.test_client().get("/t/yingze/password/not-a-token-at-all-xxxxxxxx").status_code == 410


@pytest.mark.config(PASSWORD_LINK_HOURS=24)
def test_link_lifetime_is_a_setting(app, operator, factory):
    _create(operator)
    [row] = _rows(factory, _tenant(app, "yingze"), PasswordToken)
    assert row.expires_at - row.created_at == dt.timedelta(hours=24)


def test_a_district_without_its_admin_is_refused_and_nothing_is_made(app, operator):
    no_admin = _create(operator, admin_name="", admin_phone="")
    assert no_admin.status_code == 422
    assert "admin_phone-error" in no_admin.get_data(as_text=True)
    bad_phone = _create(operator, admin_phone="12345")
    assert bad_phone.status_code == 422
    assert "有效的中国大陆手机号码" in bad_phone.get_data(as_text=True)
    assert _tenant(app, "yingze") is None


def test_cli_creates_a_district_with_its_admin(app, factory, sms_gateway):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tenants", "create", "jinci", "--name", "晋祠区", "--admin-name", "李主任",
                                 "--admin-phone", "13912340002"])
    assert result.exit_code == 0, result.output
    token = LINK.search(result.output).group(2)
    sms_gateway.wait_for(lambda: sms_gateway.delivered)
    assert token in next(iter(sms_gateway.delivered.values()))["body"]["text"]
    tenant = _tenant(app, "jinci")
    [admin] = _rows(factory, tenant, User)
    assert admin.phone == "13912340002"
    assert [g.role for g in _rows(factory, tenant, RoleGrant)] == ["district_admin"]
    assert app.test_client().get(f"/t/jinci/password/{token}").status_code == 302
    bad = runner.invoke(args=["tenants", "create", "other", "--name", "别区", "--admin-name", "李",
                              "--admin-phone", "123"])
    assert bad.exit_code != 0
    assert _tenant(app, "other") is None


# --- suspension -----------------------------------------------------------------------------------


def test_a_suspended_district_answers_503_everywhere_and_comes_back(app, operator, factory, tenant_a, tenant_b):
    admin = factory.user(tenant_a, username="wang")
    token = factory.token(admin)
    asked = operator.post("/platform/alpha/suspend")
    assert asked.status_code == 200
    assert "数据保留" in asked.get_data(as_text=True)
    assert _tenant(app, "alpha").active  # asked once more; nothing changed yet
    assert operator.post("/platform/alpha/suspend", data={"confirm": "1"}).status_code == 302
    assert not _tenant(app, "alpha").active

    visitor = app.test_client()
    for path in ("/t/alpha/", "/t/alpha/login", "/t/alpha/admin/people", "/t/alpha/no-such-page"):
        answer = visitor.get(path)
        assert answer.status_code == 503, path
        assert "甲区已暂停服务" in answer.get_data(as_text=True)
    api = visitor.get("/api/v1/t/alpha/admin/modules", headers={"Authorization": f"Bearer {token}"})
    assert (api.status_code, api.json["code"]) == (503, "tenant_suspended")
    open311 = visitor.get("/open311/v2/services.json?jurisdiction_id=alpha")
    assert open311.status_code == 503
    assert visitor.get("/t/beta/").status_code == 200
    assert visitor.get("/t/nowhere/").status_code == 404
    landing = visitor.get("/").get_data(as_text=True)
    assert "乙区" in landing
    assert "甲区" not in landing
    assert "甲区" in operator.get("/platform/").get_data(as_text=True)  # the operator still sees it

    assert operator.post("/platform/alpha/reactivate").status_code == 302
    assert visitor.post("/t/alpha/login", data={"login": "wang", "password": TEST_PASSWORD}).status_code == 302
    assert "甲区" in visitor.get("/").get_data(as_text=True)
    entries = _rows(factory, tenant_a, AuditEntry, AuditEntry.action.startswith("tenant."))
    assert [e.action for e in sorted(entries, key=lambda e: e.id)] == ["tenant.create", "tenant.suspend",
                                                                      "tenant.reactivate"]
    assert entries[-1].actor_name == "平台运营"
    audit_page = visitor.get("/t/alpha/admin/audit?action=tenant.").get_data(as_text=True)
    assert "区县已暂停服务" in audit_page
    assert "区县已恢复服务" in audit_page


def test_a_host_mapped_to_a_suspended_district_answers_that_it_is_suspended(app, factory, tenant_a):
    with app.app_context(), db.platform_context():
        db.session.execute(sa.update(Tenant).where(Tenant.slug == "alpha")
                           .values(hostname="alpha.example.cn", active=False))
        db.session.commit()
    client = app.test_client()
    assert client.get("/", base_url="http://alpha.example.cn").status_code == 503
    assert client.get("/healthz", base_url="http://alpha.example.cn").status_code == 200


@pytest.mark.config(EXTRA_MODULES=[JOB_MODULE])
def test_a_suspended_districts_jobs_and_notices_stop_and_its_data_stays(app, factory, receiver):
    from saas import notice_settings

    a = factory.tenant("alpha", "甲区", modules=("probe",))
    admit_local_receivers(app)
    with factory.as_tenant(a) as s:
        notice_settings.save_channel(s, None, "sms", {"url": receiver.url + "/sms"}, True)
        s.commit()
    person = factory.user(a, phone="13812345678")
    with factory.as_tenant(a) as s:
        notify(s, person.id, "auth.phone_code", {"code": "123456"})
        queued = notify(s, person.id, "auth.phone_code", {"code": "654321"})
        s.commit()
    assert queued
    runner = app.test_cli_runner()
    assert "alpha suspended" in runner.invoke(args=["tenants", "suspend", "alpha"]).output
    assert "suspended" in runner.invoke(args=["tenants", "list"]).output

    job_calls.clear()
    assert run_periodic(app, "probe", "tick") == []
    assert run_for_tenant(app, "probe", "tick", a.id) is False  # queued before the suspension, run after
    assert job_calls == []
    assert relay_all(app) == 0
    first = _rows(factory, a, Delivery)[0]
    assert deliver(a.id, first.id, app=app) == "suspended"
    assert receiver.requests == []
    assert {d.status for d in _rows(factory, a, Delivery)} == {"pending"}
    assert len(_rows(factory, a, User)) == 1

    assert "alpha is active again" in runner.invoke(args=["tenants", "reactivate", "alpha"]).output
    assert relay_all(app) == 2
    assert len(receiver.delivered) == 2
    assert run_periodic(app, "probe", "tick") == ["alpha"]
    actions = [e.action for e in _rows(factory, a, AuditEntry, AuditEntry.action.startswith("tenant."))]
    assert sorted(actions) == ["tenant.create", "tenant.reactivate", "tenant.suspend"]


def test_two_requests_racing_with_one_link_set_the_password_once(app, operator, factory):
    from saas import passwords

    token = LINK.search(_create(operator).get_data(as_text=True)).group(2)
    tenant = _tenant(app, "yingze")
    with factory.as_tenant(tenant) as s:
        first, second = passwords.open_link(s, token), passwords.open_link(s, token)
        assert first is not None
        assert second is not None  # both requests found the link unused
        passwords.use_link(s, first, "first-pass-1", "first-pass-1")
        with pytest.raises(passwords.PasswordRefused):
            passwords.use_link(s, second, "second-pass-2", "second-pass-2")
        s.commit()
    client = app.test_client()
    assert client.post("/t/yingze/login", data={"login": "13912340001", "password": "first-pass-1"}).status_code == 302


def test_a_first_admin_whose_link_expired_sets_a_password_with_a_phone_code(app, factory, sms_gateway):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tenants", "create", "jinci", "--name", "晋祠区", "--admin-name", "李主任",
                                 "--admin-phone", "13912340002"])
    assert result.exit_code == 0, result.output
    with factory.as_tenant(_tenant(app, "jinci")) as s:
        s.execute(sa.update(PasswordToken).values(expires_at=db.utcnow() - dt.timedelta(minutes=1)))
        s.commit()
    client = app.test_client()
    assert client.post("/t/jinci/password/forgot", data={"phone": "13912340002"}).status_code == 200
    sms_gateway.wait_for(lambda: len(sms_gateway.delivered) == 2)
    texts = [m["body"]["text"] for m in sms_gateway.delivered.values()]
    code = next(re.search(r"\b(\d{6})\b", text).group(1) for text in texts if "/password/" not in text)
    done = client.post("/t/jinci/password/forgot/reset", data={"phone": "13912340002", "code": code,
                                                              "password": "jinci-2026", "password2": "jinci-2026"})
    assert done.status_code == 302
    assert client.post("/t/jinci/login", data={"login": "13912340002", "password": "jinci-2026"}).status_code == 302


def _opened_link(app, operator):  # type: ignore[no-untyped-def]
    """A new district's admin who opened their link in a browser (the page to set the password is live)."""
    token = LINK.search(_create(operator).get_data(as_text=True)).group(2)
    person = app.test_client()
    assert person.get(f"/t/yingze/password/{token}").status_code == 302
    assert person.get("/t/yingze/password/set").status_code == 200
    return person, _tenant(app, "yingze")


def test_a_link_that_expires_while_its_page_is_open_sets_nothing(app, operator, factory):
    person, tenant = _opened_link(app, operator)
    with factory.as_tenant(tenant) as s:
        s.execute(sa.update(PasswordToken).values(expires_at=db.utcnow() - dt.timedelta(minutes=1)))
        s.commit()
    assert person.get("/t/yingze/password/set").status_code == 410
    late = person.post("/t/yingze/password/set", data={"password": "yingze-2026", "password2": "yingze-2026"})
    assert late.status_code == 410
    [admin] = _rows(factory, tenant, User)
    assert admin.password_hash is None
    [link] = _rows(factory, tenant, PasswordToken)
    assert link.used_at is None


def test_a_link_of_a_deactivated_account_sets_nothing(app, operator, factory):
    person, tenant = _opened_link(app, operator)
    with factory.as_tenant(tenant) as s:
        s.execute(sa.update(User).values(active=False))
        s.commit()
    refused = person.post("/t/yingze/password/set", data={"password": "yingze-2026", "password2": "yingze-2026"})
    assert refused.status_code == 422
    assert "该账号已停用" in refused.get_data(as_text=True)
    [admin] = _rows(factory, tenant, User)
    assert admin.password_hash is None
    [link] = _rows(factory, tenant, PasswordToken)
    assert link.used_at is None
