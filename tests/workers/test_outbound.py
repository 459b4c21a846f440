"""The kernel's judge of outbound addresses (`saas.outbound`) against SSRF: internal addresses are refused when a
district saves a channel (page and API, nothing saved) and again when a delivery is made (no request), robots take
https only, and only the operator's allowlist (app configuration) admits an intranet host."""

from __future__ import annotations

import ipaddress

import pytest
import sqlalchemy as sa

from saas import notice_settings, outbound
from saas.notify import ChannelConfig, Delivery, NoticeTemplate, Recipients, notify
from tests.plugin import bearer
from tests.workers.conftest import admit_local_receivers
from tests.workers.test_outbox import _spec_with
from workers.delivery import relay_tenant

INTERNAL_URLS = [
    "http://127.0.0.1/sms", "http://localhost:6379/", "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:5432/", "http://10.0.0.5/sms", "http://172.16.3.4/", "http://192.168.1.1:8080/", "http://0.0.0.0/",
    "http://[::ffff:127.0.0.1]/", "http://[::ffff:a9fe:a9fe]/", "http://[2002:7f00:1::]/", "http://100.64.0.1/",
    "http://224.0.0.1/", "http://[fe80::1]/", "http://[fc00::1]/", "http://127.1/", "http://2130706433/",
    "http://LOCALHOST./", "http://240.0.0.1/",
]


@pytest.mark.one_backend
@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_internal_addresses_are_refused(app, url):
    with app.test_request_context("/"), pytest.raises(outbound.OutboundRefused) as refused:
        outbound.check_url(url, allow=outbound.Allowlist())
    assert "refused" in refused.value.reason
    assert "内部网络" in refused.value.message  # the person's language: Chinese by default


@pytest.mark.one_backend
@pytest.mark.parametrize("url", ["https://oapi.dingtalk.com/robot/send?access_token=x", "http://8.8.8.8/sms",
                                 "https://[2001:4860:4860::8888]/"])
def test_public_addresses_pass(app, url):
    with app.test_request_context("/"):
        target = outbound.check_url(url, allow=outbound.Allowlist(), lookup=False)
    assert all(outbound.forbidden_kind(a) is None for a in target.addresses)


@pytest.mark.one_backend
def test_the_operators_allowlist_admits_hosts_and_networks_and_nothing_else(app):
    allow = outbound.Allowlist.parse("sms-gw.intranet, 10.8.0.0/16 [::1]")
    assert allow.admits_host("SMS-GW.intranet.")
    assert allow.admits_address(ipaddress.ip_address("10.8.200.1"))
    assert not allow.admits_address(ipaddress.ip_address("10.9.0.1"))
    with app.test_request_context("/"):
        assert outbound.check_url("http://10.8.0.7:9000/sms", allow=allow).addresses == (
            ipaddress.ip_address("10.8.0.7"),)
        outbound.check_url("http://[::1]:8080/", allow=allow)
        with pytest.raises(outbound.OutboundRefused):
            outbound.check_url("http://10.9.0.1/sms", allow=allow)
        with pytest.raises(outbound.OutboundRefused):
            outbound.check_url("http://127.0.0.1/sms", allow=allow)


def test_a_district_cannot_save_an_internal_gateway_or_robot(client, factory, tenant_a, login_as):
    login_as(factory.user(tenant_a))
    for channel, url in (("sms", "http://127.0.0.1:6379/"), ("sms", "http://169.254.169.254/latest/meta-data/"),
                         ("dingtalk", "https://[::1]:5432/robot/send"), ("wecom", "https://localhost/cgi-bin/webhook"),
                         ("dingtalk", "http://oapi.dingtalk.com/robot/send?access_token=x")):
        page = client.post(f"/t/alpha/admin/channels/{channel}", data={"url": url, "enabled": "on"})
        assert page.status_code == 422, url
        text = page.get_data(as_text=True)
        assert "field-error" in text
        assert "内部网络" in text or "https://" in text
    email = client.post("/t/alpha/admin/channels/email", data={"host": "127.0.0.1", "port": "25",
                                                              "sender": "noreply@example.cn"})
    assert email.status_code == 422
    assert "内部网络" in email.get_data(as_text=True)
    token = factory.token(factory.user(tenant_a))
    api = client.put("/api/v1/t/alpha/admin/channels/sms", headers=bearer(token),
                     json={"settings": {"url": "http://[::1]:5432/"}})
    assert api.status_code == 422
    assert "内部网络" in api.json["errors"]["url"][0]
    with factory.as_tenant(tenant_a) as s:
        assert notice_settings.channel_rows(s) == {}


def test_the_allowlist_comes_from_the_operator_not_from_a_district(client, factory, tenant_a, login_as):
    login_as(factory.user(tenant_a))
    # a district cannot smuggle an allowlist in through its own settings
    sneaky = client.post("/t/alpha/admin/channels/sms", data={"url": "http://127.0.0.1:8080/sms",
                                                              "OUTBOUND_ALLOW": "127.0.0.1", "enabled": "on"})
    assert sneaky.status_code == 422
    client.application.config["OUTBOUND_ALLOW"] = "127.0.0.1"
    ok = client.post("/t/alpha/admin/channels/sms", data={"url": "http://127.0.0.1:8080/sms", "enabled": "on"})
    assert ok.status_code == 302


def _send_code(app, factory, tenant):
    user = factory.user(tenant, phone="13800138000")
    with factory.as_tenant(tenant) as s:
        notify(s, user.id, "auth.phone_code", {"code": "424242"})
        s.commit()
    with app.app_context():
        relay_tenant(app, tenant.id)


def test_a_delivery_to_an_address_refused_now_is_not_made(app, factory, tenant_a, channel, receiver):
    channel(tenant_a, "sms", receiver.url + "/sms", secret="gateway-key-1234")  # admitted while saved
    app.config["OUTBOUND_ALLOW"] = ""  # the operator withdraws it
    _send_code(app, factory, tenant_a)
    with factory.as_tenant(tenant_a) as s:
        [row] = s.scalars(sa.select(Delivery)).all()
        assert row.status == "dead"  # a literal internal address: trying again cannot help
        assert row.last_error.startswith("refused: 127.0.0.1 is a loopback address")
    assert receiver.requests == []


def test_a_name_judged_again_at_delivery_fails_with_the_reason(app, factory, tenant_a, receiver):
    # stored before the judge existed, or a name that resolved elsewhere when it was saved
    port = receiver.url.rsplit(":", 1)[1]
    with factory.as_tenant(tenant_a) as s:
        s.add(ChannelConfig(channel="sms", enabled=True, settings={"url": f"http://localhost:{port}/sms"}))
        s.commit()
    _send_code(app, factory, tenant_a)
    with factory.as_tenant(tenant_a) as s:
        [row] = s.scalars(sa.select(Delivery)).all()
        assert row.status == "pending"  # a name may resolve elsewhere later: retried with backoff, then dead
        assert row.attempts == 1
        assert "refused: localhost → 127.0.0.1 is a loopback address" in row.last_error or \
            "refused: localhost → ::1 is a loopback address" in row.last_error
    assert receiver.requests == []


def test_robots_take_https_only_also_at_delivery(app, factory, tenant_a, receiver):
    with factory.as_tenant(tenant_a) as s:
        s.add(ChannelConfig(channel="wecom", enabled=True, settings={"url": "http://93.184.216.34/webhook"}))
        s.commit()
    alarm = NoticeTemplate("probe.alarm", "Alarm", "警报", robot=True)
    with factory.as_tenant(tenant_a) as s:
        notify(s, Recipients(), "probe.alarm", {}, registry=[_spec_with(alarm)])
        s.commit()
    with app.app_context():
        relay_tenant(app, tenant_a.id)
    with factory.as_tenant(tenant_a) as s:
        [row] = s.scalars(sa.select(Delivery)).all()
        assert (row.status, row.last_error) == ("dead", "plain http refused")


def test_an_admitted_receiver_still_gets_its_deliveries(app, factory, tenant_a, channel, receiver):
    channel(tenant_a, "sms", receiver.url + "/sms")
    admit_local_receivers(app)
    _send_code(app, factory, tenant_a)
    assert len(receiver.delivered) == 1


def test_the_platforms_own_gateway_is_the_operators_and_admitted(app, factory, tenant_a, receiver):
    app.config["PLATFORM_SMS_URL"] = receiver.url + "/sms"  # the operator's configuration, as OUTBOUND_ALLOW is
    _send_code(app, factory, tenant_a)
    assert len(receiver.delivered) == 1
