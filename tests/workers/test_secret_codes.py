"""A phone code exists in clear only in the message handed to the SMS gateway (and, on the embedded default
alone, on the page that sent it): never in the inbox, the outbox's readable columns, a log line or an error."""

from __future__ import annotations

import logging
import re

import sqlalchemy as sa

from saas import secrets
from saas.notify import MAX_ATTEMPTS, Delivery, Notification, notify
from workers.delivery import deliver

PHONE = "13712345678"


def _rows(factory, tenant):
    with factory.as_tenant(tenant) as s:
        notices = [(n.title, n.body) for n in s.scalars(sa.select(Notification))]
        deliveries = list(s.scalars(sa.select(Delivery).order_by(Delivery.id)))
    return notices, deliveries


def _readable(deliveries) -> str:
    return " ".join(f"{d.title} {d.body} {d.last_error or ''} {d.sealed_enc or ''}" for d in deliveries)


def test_a_code_reaches_the_gateway_and_nothing_else_keeps_it(client, factory, tenant_a, channel, receiver,
                                                              phone_codes, caplog):
    channel(tenant_a, "sms", receiver.url + "/sms", secret="gateway-key-1234")
    caplog.set_level(logging.DEBUG)
    assert client.post("/t/alpha/citizen", data={"phone": PHONE}).status_code == 200
    code = phone_codes.last(PHONE)
    # the phone gets it
    [sms] = receiver.delivered.values()
    assert code in sms["body"]["text"]
    # the inbox says a code was sent, never the code
    notices, deliveries = _rows(factory, tenant_a)
    assert notices == [("验证码已发送到您的手机。", "")]
    # the outbox row shows it masked and, sent, keeps no secret at all
    [row] = deliveries
    assert row.status == "sent"
    assert row.sealed
    assert row.sealed_enc is None
    assert "******" in row.title
    assert code not in _readable(deliveries)
    # no log line carries it
    assert caplog.records
    assert not [r for r in caplog.records if code in r.getMessage()]


def test_the_outbox_keeps_a_code_encrypted_until_it_is_sent(app, factory, tenant_a, channel, receiver, caplog):
    channel(tenant_a, "sms", receiver.url + "/sms")
    user = factory.user(tenant_a, phone=PHONE)
    caplog.set_level(logging.DEBUG)
    with factory.as_tenant(tenant_a) as s:
        notify(s, user.id, "auth.phone_code", {"code": "482916"})
        s.commit()
    _notices, [row] = _rows(factory, tenant_a)
    assert row.status == "pending"
    assert "482916" not in _readable([row])
    with app.app_context():
        assert "482916" in secrets.decrypt(row.sealed_enc)  # the kernel's Fernet key
    assert deliver(tenant_a.id, row.id, app=app) == "sent"
    assert "482916" in next(iter(receiver.delivered.values()))["body"]["text"]
    _notices, [row] = _rows(factory, tenant_a)
    assert row.sealed_enc is None
    assert not [r for r in caplog.records if "482916" in r.getMessage()]


def test_a_dead_code_is_wiped_and_a_gateway_echoing_it_does_not_put_it_in_a_log(
        app, factory, tenant_a, channel, receiver, caplog, monkeypatch):
    from saas import channels, notice_settings

    channel(tenant_a, "sms", receiver.url + "/sms")
    user = factory.user(tenant_a, phone=PHONE)
    caplog.set_level(logging.DEBUG)

    def echoing(_channel, _settings, _secret, message):
        raise channels.ChannelError(f"HTTP 400: rejected text {message.title!r}")

    monkeypatch.setattr(channels, "send", echoing)
    with factory.as_tenant(tenant_a) as s:
        notify(s, user.id, "auth.phone_code", {"code": "739104"})
        s.commit()
    _notices, [row] = _rows(factory, tenant_a)
    for _ in range(MAX_ATTEMPTS):
        deliver(tenant_a.id, row.id, app=app)
    _notices, [row] = _rows(factory, tenant_a)
    assert row.status == "dead"
    assert row.sealed_enc is None
    assert "rejected text" in row.last_error
    assert "739104" not in _readable([row])
    assert not [r for r in caplog.records if "739104" in r.getMessage()]
    # retried by hand, it cannot send a masked code: it is dead again and says why
    monkeypatch.undo()
    with factory.as_tenant(tenant_a) as s:
        notice_settings.retry_delivery(s, None, notice_settings.delivery_by_id(s, row.id))
        s.commit()
    assert deliver(tenant_a.id, row.id, app=app) == "dead"
    assert receiver.requests == []


def test_a_district_wording_with_the_code_is_masked_where_it_is_stored(client, factory, tenant_a, login_as,
                                                                       channel, receiver):
    channel(tenant_a, "sms", receiver.url + "/sms")
    user = factory.user(tenant_a, phone=PHONE)
    login_as(factory.user(tenant_a))
    assert client.post("/t/alpha/admin/notice-templates", data={
        "kind": "auth.phone_code", "locale": "zh_CN", "title": "【甲区】验证码{{ code }}",
        "body": "验证码 {{ code }}，请勿告诉他人"}).status_code == 302
    with factory.as_tenant(tenant_a) as s:
        notify(s, user.id, "auth.phone_code", {"code": "246810"})
        s.commit()
    notices, [row] = _rows(factory, tenant_a)
    assert "246810" not in str(notices)
    assert (row.title, row.body) == ("【甲区】验证码******", "验证码 ******，请勿告诉他人")


CSRF_TOKEN = re.compile(r'(?<=name="csrf_token" value=")[^"]+|(?<="X-CSRFToken": ")[^"]+')


def test_the_code_form_answers_a_staff_number_as_any_other_and_sends_it_nothing(
        client, factory, tenant_a, channel, receiver):
    """Whoever types numbers into the resident form cannot tell which are staff, and the staff member's phone
    receives nothing."""
    channel(tenant_a, "sms", receiver.url + "/sms")
    factory.user(tenant_a, phone="13912345678")
    staff = client.post("/t/alpha/citizen", data={"phone": "13912345678"})
    resident = client.post("/t/alpha/citizen", data={"phone": "13900005678"})
    # the same page, but for the number it was typed with (and the CSRF token, signed with the second it was made)
    def page(answer, number):  # type: ignore[no-untyped-def]
        return CSRF_TOKEN.sub("CSRF", answer.get_data(as_text=True).replace(number, "N"))

    assert (staff.status_code, page(staff, "13912345678")) == (resident.status_code, page(resident, "13900005678"))
    assert [sms["body"]["phone"] for sms in receiver.delivered.values()] == ["13900005678"]
    _notices, deliveries = _rows(factory, tenant_a)
    assert [d.address for d in deliveries] == ["13900005678"]


def test_only_the_embedded_default_shows_the_code_on_the_page(app, client, factory, tenant_a, phone_codes):
    """The embedded default (SQLite in the instance folder, no Redis) has no gateway and shows the code; any
    other set-up never does, and no setting turns it on."""
    from saas.config import INSTANCE

    def page() -> str:
        return client.post("/t/alpha/citizen", data={"phone": PHONE}).get_data(as_text=True)

    assert "data-dev-code" not in page()  # the tests' own database is not the embedded default
    app.config["DATABASE_URL"] = f"sqlite:///{INSTANCE / 'wanggetong.sqlite'}"
    shown = page()
    if app.config["BACKEND"] == "sqlite":
        assert f'data-dev-code="{phone_codes.last(PHONE)}"' in shown
    else:  # the URL alone does not make it: the database must really be SQLite
        assert "data-dev-code" not in shown
    app.config["REDIS_URL"] = "redis://127.0.0.1:6379/0"
    assert "data-dev-code" not in page()
