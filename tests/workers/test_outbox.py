"""The outbox loses nothing: transactions, channels, retries, dead letters, quiet hours, Redis and worker faults."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import signal
import time
import urllib.parse

import pytest
import redis
import sqlalchemy as sa

from saas import db, notice_settings
from saas.notify import Delivery, NoticeTemplate, Notification, Recipients, notify, to_role
from tenants.models import Tenant, User
from tests.kernel.test_modules import JOB_MODULE
from tests.plugin import text_of
from tests.workers.conftest import admit_local_receivers, free_port, start_worker
from workers.delivery import RelayUnavailable, deliver, quiet_until, relay_tenant


def _user(factory, tenant, phone="13812345678", **kw):
    return factory.user(tenant, phone=phone, **kw)


def _deliveries(factory, tenant):
    with factory.as_tenant(tenant) as s:
        return list(s.scalars(sa.select(Delivery).order_by(Delivery.id)))


def test_nothing_is_written_when_the_transaction_rolls_back(app, factory, tenant_a, channel, receiver):
    channel(tenant_a, "sms", receiver.url + "/sms")
    user = _user(factory, tenant_a)
    with factory.as_tenant(tenant_a) as s:
        notify(s, user.id, "auth.phone_code", {"code": "123456"})
        s.rollback()
        assert s.scalars(sa.select(Notification)).all() == []
        assert s.scalars(sa.select(Delivery)).all() == []
    assert receiver.requests == []


def test_phone_code_reaches_the_sms_gateway_in_process(client, factory, tenant_a, channel, receiver):
    """Embedded default (no Redis): the request's deliveries go out right after it commits."""
    channel(tenant_a, "sms", receiver.url + "/sms", secret="gateway-key-1234", sign_name="网格通")
    assert client.post("/t/alpha/citizen", data={"phone": "13712345678"}).status_code == 200
    assert len(receiver.delivered) == 1
    sms = next(iter(receiver.delivered.values()))
    assert sms["body"]["phone"] == "13712345678"
    assert sms["body"]["text"].startswith("【网格通】")
    assert sms["authorization"] == "Bearer gateway-key-1234"
    [row] = _deliveries(factory, tenant_a)
    assert row.status == "sent"
    assert row.idempotency_key == sms["key"]


def test_two_codes_with_the_same_digits_are_two_messages(client, factory, tenant_a, channel, receiver, monkeypatch):
    """One in a million codes repeats the last one for the phone: it is a new event and goes out again."""
    import saas.auth

    channel(tenant_a, "sms", receiver.url + "/sms")
    monkeypatch.setattr(saas.auth.secrets, "randbelow", lambda _: 4242)
    assert client.post("/t/alpha/citizen", data={"phone": "13712345678"}).status_code == 200
    assert client.post("/t/alpha/citizen", data={"phone": "13712345678"}).status_code == 200
    assert [sms["body"]["text"].count("004242") for sms in receiver.delivered.values()] == [1, 1]
    assert [row.status for row in _deliveries(factory, tenant_a)] == ["sent", "sent"]


def test_a_notice_to_many_people_costs_the_statements_of_one(app, factory, tenant_a, channel, receiver):
    """Their phones and addresses are read in one statement; their role grants are not read at all."""
    from saas.db import statements

    channel(tenant_a, "sms", receiver.url + "/sms")
    people = [factory.user(tenant_a, role="grid_worker", phone=f"1390000{i:04d}") for i in range(30)]

    def cost(ids):
        with factory.as_tenant(tenant_a) as s, statements() as seen:
            notify(s, Recipients(user_ids=tuple(ids)), "auth.phone_code", {"code": "123456"},
                   event_key=f"many-{len(ids)}")
            s.flush()
        return seen

    one, many = cost([people[0].id]), cost([p.id for p in people])
    assert len(many) == len(one), many
    assert not [q for q in many if "role_grants" in q]


def test_a_role_on_an_org_unit_is_notified(app, factory, tenant_a):
    factory.unit(tenant_a, "street", "s1")
    one = factory.user(tenant_a, role="street_officer", unit_code="s1")
    two = factory.user(tenant_a, role="street_officer", unit_code="s1")
    factory.user(tenant_a, role="grid_worker", unit_code="s1")
    with factory.as_tenant(tenant_a) as s:
        from tenants.services import org_unit_by_code

        notify(s, to_role("street_officer", org_unit_by_code(s, "s1").id), "auth.phone_code", {"code": "1"})
        s.commit()
        assert {n.user_id for n in s.scalars(sa.select(Notification))} == {one.id, two.id}


MEETING = NoticeTemplate("probe.meeting", "Meeting", "会议通知", channels=("sms",))


def test_failing_gateway_is_retried_then_dead_lettered_then_retried_from_the_page(
    app, client, factory, tenant_a, channel, receiver, login_as
):
    # an ordinary notice: a dead phone code keeps no code to send again (tests/workers/test_secret_codes.py)
    channel(tenant_a, "sms", receiver.url + "/sms")
    receiver.mode = "fail"
    user = _user(factory, tenant_a)
    with factory.as_tenant(tenant_a) as s:
        notify(s, user.id, "probe.meeting", {}, registry=[_spec_with(MEETING)])
        s.commit()
    with app.app_context():
        relay_tenant(app, tenant_a.id)
    [row] = _deliveries(factory, tenant_a)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at > row.created_at + dt.timedelta(seconds=20)  # backoff
    for _ in range(10):  # time passes: every retry comes due
        with factory.as_tenant(tenant_a) as s:
            s.execute(sa.update(Delivery).values(next_attempt_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)))
            s.commit()
        with app.app_context():
            relay_tenant(app, tenant_a.id)
    [row] = _deliveries(factory, tenant_a)
    assert (row.status, row.attempts) == ("dead", 5)
    assert "HTTP 500" in row.last_error
    assert len(receiver.requests) == 5
    assert receiver.delivered == {}

    login_as(factory.user(tenant_a))
    page = client.get("/t/alpha/admin/outbox").get_data(as_text=True)
    assert f'id="delivery-{row.id}"' in page
    receiver.mode = "ok"
    assert client.post(f"/t/alpha/admin/outbox/{row.id}/retry").status_code == 302
    [row] = _deliveries(factory, tenant_a)
    assert row.status == "sent"
    assert len(receiver.delivered) == 1
    # a sent delivery can be neither retried nor discarded
    client.post(f"/t/alpha/admin/outbox/{row.id}/discard")
    assert _deliveries(factory, tenant_a)[0].status == "sent"


def test_dead_letter_can_be_discarded_and_is_audited(client, factory, tenant_a, channel, receiver, login_as):
    from saas.audit import AuditEntry

    channel(tenant_a, "sms", receiver.url + "/sms")
    user = _user(factory, tenant_a)
    with factory.as_tenant(tenant_a) as s:
        notify(s, user.id, "auth.phone_code", {"code": "1"})
        s.flush()
        s.execute(sa.update(Delivery).values(status="dead", attempts=5, last_error="HTTP 500"))
        s.commit()
    [row] = _deliveries(factory, tenant_a)
    login_as(factory.user(tenant_a))
    client.post(f"/t/alpha/admin/outbox/{row.id}/discard")
    assert _deliveries(factory, tenant_a)[0].status == "discarded"
    with factory.as_tenant(tenant_a) as s:
        assert s.scalars(sa.select(AuditEntry.action).where(AuditEntry.action == "notices.discard")).one()


def test_dead_letters_of_another_district_are_out_of_reach(client, factory, tenant_a, tenant_b, channel, receiver,
                                                           login_as):
    channel(tenant_b, "sms", receiver.url + "/sms")
    user = _user(factory, tenant_b)
    with factory.as_tenant(tenant_b) as s:
        notify(s, user.id, "auth.phone_code", {"code": "1"})
        s.flush()
        s.execute(sa.update(Delivery).values(status="dead"))
        s.commit()
    [row] = _deliveries(factory, tenant_b)
    login_as(factory.user(tenant_a))
    assert client.post(f"/t/alpha/admin/outbox/{row.id}/retry").status_code == 404
    assert _deliveries(factory, tenant_b)[0].status == "dead"


def test_channel_settings_are_validated_and_secrets_never_shown(client, factory, tenant_a, login_as):
    login_as(factory.user(tenant_a))
    bad = client.post("/t/alpha/admin/channels/dingtalk", data={"url": "javascript:alert(1)", "enabled": "on"})
    assert bad.status_code == 422
    assert "field-error" in bad.get_data(as_text=True)
    with factory.as_tenant(tenant_a) as s:
        assert notice_settings.channel_rows(s) == {}
    ok = client.post("/t/alpha/admin/channels/dingtalk", data={
        "url": "https://oapi.dingtalk.com/robot/send?access_token=abc", "secret": "SECsupersecretvalue9876",
        "enabled": "on"})
    assert ok.status_code == 302
    page = client.get("/t/alpha/admin/channels").get_data(as_text=True)
    assert "SECsupersecretvalue9876" not in page
    assert "9876" in page
    # quiet hours are times of day, not dates
    assert "免打扰开始时间" in page
    assert "免打扰结束时间" in page
    assert "日期" not in text_of(page)
    with factory.as_tenant(tenant_a) as s:
        stored = s.scalars(sa.select(notice_settings.ChannelConfig)).one()
        assert "SECsupersecretvalue9876" not in (stored.secret_enc or "")
    # saving again with an empty secret keeps the stored one
    client.post("/t/alpha/admin/channels/dingtalk", data={
        "url": "https://oapi.dingtalk.com/robot/send?access_token=abc", "secret": "", "enabled": "on"})
    assert "9876" in client.get("/t/alpha/admin/channels").get_data(as_text=True)
    bad_email = client.post("/t/alpha/admin/channels/email", data={"host": "", "port": "99999", "sender": "nope"})
    assert bad_email.status_code == 422


ROBOT = NoticeTemplate("probe.alarm", "Alarm", "{{ what }} at {{ when | default('') }}", robot=True)


@pytest.mark.config(EXTRA_MODULES=[])
def test_dingtalk_robot_gets_signed_requests(app, factory, tenant_a, channel, receiver):
    secret = "SEC0123456789abcdef"
    channel(tenant_a, "dingtalk", receiver.url + "/robot/send?access_token=t", secret=secret)
    user = _user(factory, tenant_a)
    with factory.as_tenant(tenant_a) as s:
        notify(s, user.id, "probe.alarm", {"what": "跌倒"}, registry=[_spec_with(ROBOT)])
        s.commit()
    with app.app_context():
        relay_tenant(app, tenant_a.id)
    [request] = receiver.requests
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(request["path"]).query)
    timestamp, sign = query["timestamp"][0], query["sign"][0]
    expected = base64.b64encode(hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(),
                                         hashlib.sha256).digest()).decode()
    assert sign == expected
    assert "跌倒" in request["body"]["markdown"]["text"]


def _spec_with(*notices):
    from saas.modules import ModuleSpec

    return ModuleSpec(key="probe", name_zh="探针", name_en="Probe", version="1", notices=notices)


def test_many_robot_notices_become_one_digest(app, factory, tenant_a, channel, receiver):
    channel(tenant_a, "wecom", receiver.url + "/wecom")
    user = _user(factory, tenant_a)
    with factory.as_tenant(tenant_a) as s:
        for i in range(30):
            notify(s, user.id, "probe.alarm", {"what": f"事件{i}"}, registry=[_spec_with(ROBOT)],
                   event_key=f"alarm-{i}")
        s.commit()
    with app.app_context():
        relay_tenant(app, tenant_a.id)
    assert len(receiver.requests) == 1
    content = receiver.requests[0]["body"]["markdown"]["content"]
    assert all(f"事件{i}" in content for i in range(30))
    statuses = [d.status for d in _deliveries(factory, tenant_a)]
    assert statuses.count("merged") == 30
    assert statuses.count("sent") == 1


def test_quiet_hours_hold_ordinary_notices_but_not_urgent_ones(app, factory, tenant_a, channel, receiver):
    channel(tenant_a, "sms", receiver.url + "/sms")
    tenant = factory.tenant("gamma", "丙区")
    with app.app_context():
        t = db.session.get(Tenant, tenant.id)
        t.quiet_start, t.quiet_end = "22:00", "07:00"
        late = dt.datetime(2026, 11, 22, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
        until = quiet_until(t, late)
        assert until == dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
        assert quiet_until(t, late.replace(hour=12)) is None
        assert quiet_until(t, late.replace(hour=3)) == dt.datetime(2026, 11, 22, 7, 0,
                                                                    tzinfo=dt.timezone(dt.timedelta(hours=8)))
    ordinary = NoticeTemplate("probe.digest", "Digest", "日报", channels=("sms",))
    user = _user(factory, tenant_a)
    with factory.as_tenant(tenant_a) as s:  # a district changes its own quiet hours, under its own tenant
        t = s.scalars(sa.select(Tenant).where(Tenant.id == tenant_a.id)).one()
        t.quiet_start, t.quiet_end = "00:00", "23:59"
        s.commit()
    with factory.as_tenant(tenant_a) as s:
        notify(s, user.id, "probe.digest", {}, registry=[_spec_with(ordinary)])
        notify(s, user.id, "auth.phone_code", {"code": "654321"})
        s.commit()
    with app.app_context():
        relay_tenant(app, tenant_a.id)
    by_kind = {d.kind: d.status for d in _deliveries(factory, tenant_a)}
    assert by_kind == {"probe.digest": "pending", "auth.phone_code": "sent"}


def test_a_person_chooses_channels_but_urgent_notices_still_reach_them(client, factory, tenant_a, channel, receiver,
                                                                       login_as):
    channel(tenant_a, "sms", receiver.url + "/sms")
    user = _user(factory, tenant_a)
    login_as(user)
    assert client.post("/t/alpha/me/notices", data={}).status_code == 302  # every outside channel unticked
    with factory.as_tenant(tenant_a) as s:
        notify(s, user.id, "auth.phone_code", {"code": "1"})
        s.commit()
    assert [d.channel for d in _deliveries(factory, tenant_a)] == ["sms"]
    assert client.post("/t/alpha/me/notices", data={"auth.phone_code": "fax"}).status_code == 422


def test_a_switched_off_module_drops_its_queued_deliveries(app, factory, tenant_a, channel, receiver):
    channel(tenant_a, "sms", receiver.url + "/sms")
    user = _user(factory, tenant_a)
    with factory.as_tenant(tenant_a) as s:
        notify(s, user.id, "auth.phone_code", {"code": "1"}, module="grid_cases")
        s.commit()
    factory.enable_module(tenant_a, "grid_cases", on=False)
    [row] = _deliveries(factory, tenant_a)
    assert deliver(tenant_a.id, row.id, app=app) == "dropped"
    assert receiver.requests == []


def test_email_goes_through_smtp_with_the_key_in_the_message_id(app, factory, tenant_a):
    from aiosmtpd.controller import Controller

    class Handler:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope.content.decode())
            return "250 OK"

    handler = Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        admit_local_receivers(app)
        with factory.as_tenant(tenant_a) as s:
            notice_settings.save_channel(s, None, "email", {"host": "127.0.0.1", "port": str(port),
                                                            "sender": "noreply@example.cn", "starttls": "false"}, True)
            s.commit()
        user = _user(factory, tenant_a)
        with factory.as_tenant(tenant_a) as s:
            s.execute(sa.update(User).where(User.id == user.id).values(email="li@example.cn"))
            pref = NoticeTemplate("probe.mail", "Mail", "会议通知", channels=("email",))
            notify(s, user.id, "probe.mail", {}, registry=[_spec_with(pref)])
            s.commit()
        with app.app_context():
            relay_tenant(app, tenant_a.id)
        [row] = _deliveries(factory, tenant_a)
        assert row.status == "sent"
        assert len(handler.messages) == 1
        assert row.idempotency_key in handler.messages[0]
    finally:
        controller.stop()


# --- on the production topology: PostgreSQL, a real Redis, real `rq worker` processes --------------------


def _sms(factory, tenant, url):
    admit_local_receivers(factory.app)
    with factory.as_tenant(tenant) as s:
        notice_settings.save_channel(s, None, "sms", {"url": url}, True)
        s.commit()


@pytest.fixture
def pg_setup(pg_app, redis_server):
    from tests.plugin import Factory

    pg_app.config["REDIS_URL"] = redis_server.url
    factory = Factory(pg_app)
    return pg_app, factory


def _fan_out(app, factory, tenant, n, prefix="n"):
    users = [factory.user(tenant, phone=f"139{i:08d}", name=f"用户{i}") for i in range(n)]
    with factory.as_tenant(tenant) as s:
        for i, user in enumerate(users):
            notify(s, user.id, "auth.phone_code", {"code": f"{i:06d}"}, event_key=f"{prefix}-{i}")
        s.commit()


def _drain(app, redis_url, tenant_ids, *, rounds=20):
    for _ in range(rounds):
        with app.app_context():
            moved = sum(relay_tenant(app, t) for t in tenant_ids)
        worker = start_worker(app, redis_url)
        out, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0, out.decode()[-2000:]
        if moved == 0:
            return


def test_request_succeeds_with_redis_down_and_the_outbox_drains_later(pg_setup, redis_server, receiver):
    app, factory = pg_setup
    tenant = factory.tenant("alpha", "甲区")
    _sms(factory, tenant, receiver.url + "/sms")
    redis_server.stop()
    client = app.test_client()
    assert client.post("/t/alpha/citizen", data={"phone": "13712345678"}).status_code == 200
    assert client.get("/readyz").status_code == 503
    [row] = _deliveries(factory, tenant)
    assert row.status == "pending"
    redis_server.start()
    assert client.get("/readyz").json["checks"]["redis"] == "ok"
    _drain(app, redis_server.url, [tenant.id])
    assert len(receiver.delivered) == 1
    assert _deliveries(factory, tenant)[0].status == "sent"


def test_redis_stopped_and_restarted_mid_fan_out_loses_nothing_and_sends_nothing_twice(
    pg_setup, redis_server, receiver
):
    app, factory = pg_setup
    tenant = factory.tenant("alpha", "甲区")
    _sms(factory, tenant, receiver.url + "/sms")
    _fan_out(app, factory, tenant, 120)
    with app.app_context():
        assert relay_tenant(app, tenant.id, batch=50) == 50
    redis_server.stop()
    with app.app_context(), pytest.raises(RelayUnavailable):
        relay_tenant(app, tenant.id, batch=50)
    statuses = [d.status for d in _deliveries(factory, tenant)]
    assert statuses.count("queued") == 50
    assert statuses.count("pending") == 70
    redis_server.start()  # an empty Redis: the 50 queued jobs are gone with the old one
    app.config["OUTBOX_VISIBILITY_SECONDS"] = 0
    _drain(app, redis_server.url, [tenant.id])
    rows = _deliveries(factory, tenant)
    assert len(receiver.delivered) == 120, [(d.status, d.last_error) for d in rows if d.status != "sent"]
    assert {d.status for d in rows} == {"sent"}
    # a post repeated after a fault carries the same key, so a receiver that honours it acts once
    assert {r["key"] for r in receiver.requests} == {d.idempotency_key for d in rows}
    assert receiver.duplicates == 0, f"{receiver.duplicates} repeated posts (same keys, dropped by the receiver)"


def test_worker_killed_mid_job_delivers_once_after_restart(pg_setup, redis_server, receiver):
    app, factory = pg_setup
    tenant = factory.tenant("alpha", "甲区")
    _sms(factory, tenant, receiver.url + "/sms")
    _fan_out(app, factory, tenant, 1)
    receiver.mode = "hang"
    with app.app_context():
        assert relay_tenant(app, tenant.id) == 1
    worker = start_worker(app, redis_server.url, burst=False)
    receiver.wait_for(lambda: receiver.arrived >= 1, timeout=60)
    assert receiver.arrived == 1
    os.kill(worker.pid, signal.SIGKILL)  # mid-job: the gateway has the request, the worker is gone
    worker.wait(10)
    worker.stdout.close()
    receiver.mode = "ok"
    receiver.release.set()  # the hung request is answered to nobody
    receiver.wait_for(lambda: len(receiver.requests) == 1)
    assert _deliveries(factory, tenant)[0].status == "queued"
    app.config["OUTBOX_VISIBILITY_SECONDS"] = 0
    _drain(app, redis_server.url, [tenant.id])
    [row] = _deliveries(factory, tenant)
    assert row.status == "sent"
    assert len(receiver.delivered) == 1  # once at the receiver, which honours the key
    assert len(receiver.requests) == 2


def test_one_districts_mass_notice_does_not_starve_anothers_urgent_one(pg_setup, redis_server, receiver):
    app, factory = pg_setup
    big = factory.tenant("alpha", "甲区")
    small = factory.tenant("beta", "乙区")
    _sms(factory, big, receiver.url + "/sms")
    _sms(factory, small, receiver.url + "/sms")
    mass = NoticeTemplate("probe.mass", "Mass", "通知", channels=("sms",))
    users = [factory.user(big, phone=f"139{i:08d}") for i in range(300)]
    with factory.as_tenant(big) as s:
        for i, user in enumerate(users):
            notify(s, user.id, "probe.mass", {}, registry=[_spec_with(mass)], event_key=f"mass-{i}")
        s.commit()
    urgent = factory.user(small, phone="13700000000")
    with factory.as_tenant(small) as s:
        notify(s, urgent.id, "auth.phone_code", {"code": "1"})
        s.commit()
    with app.app_context():
        assert relay_tenant(app, big.id, batch=100) == 100
        assert relay_tenant(app, small.id, batch=100) == 1
    conn = redis.Redis.from_url(redis_server.url)
    assert conn.llen("rq:queue:notify-urgent") == 1
    assert conn.llen("rq:queue:notify") == 100


def test_while_the_workers_are_behind_ordinary_deliveries_wait_in_the_outbox(pg_setup, redis_server, receiver):
    """A queue longer than the visibility timeout would have its rows claimed and queued a second time
    (bench/notifications.py saw 12,504 jobs for 10,000 notices before the relay looked at the backlog)."""
    app, factory = pg_setup
    app.config["OUTBOX_MAX_BACKLOG"] = 2
    tenant = factory.tenant("alpha", "甲区")
    _sms(factory, tenant, receiver.url + "/sms")
    mass = NoticeTemplate("probe.mass", "Mass", "通知", channels=("sms",))
    users = [factory.user(tenant, phone=f"139{i:08d}") for i in range(5)]
    with factory.as_tenant(tenant) as s:
        for i, user in enumerate(users):
            notify(s, user.id, "probe.mass", {}, registry=[_spec_with(mass)], event_key=f"mass-{i}")
        s.commit()
    with app.app_context():
        assert relay_tenant(app, tenant.id, batch=3) == 3
        assert relay_tenant(app, tenant.id, batch=3) == 0  # 3 waiting, 2 allowed: the other 2 stay pending
    with factory.as_tenant(tenant) as s:
        notify(s, users[0].id, "auth.phone_code", {"code": "1"})
        s.commit()
    with app.app_context():
        assert relay_tenant(app, tenant.id, batch=3) == 1  # urgent ones still go
    conn = redis.Redis.from_url(redis_server.url)
    assert (conn.llen("rq:queue:notify"), conn.llen("rq:queue:notify-urgent")) == (3, 1)
    worker = start_worker(app, redis_server.url)
    worker.communicate(timeout=120)
    _drain(app, redis_server.url, [tenant.id])  # the queue is short again: the rest go
    assert {d.status for d in _deliveries(factory, tenant)} == {"sent"}
    assert len(receiver.delivered) == 6


def test_a_worker_that_takes_the_job_at_once_finds_the_claim_committed(pg_setup, receiver, monkeypatch):
    """An idle worker takes a job the moment it is queued. Were the claim not committed by then, the worker
    would skip the row the relay still locks and the notice (a phone code) would wait 5 minutes."""
    import threading

    import workers.delivery as delivery

    app, factory = pg_setup
    tenant = factory.tenant("alpha", "甲区")
    _sms(factory, tenant, receiver.url + "/sms")
    _fan_out(app, factory, tenant, 1)
    enqueue, outcomes = delivery._enqueue, []

    def enqueue_and_deliver_at_once(conn, tenant_id, rows, now):
        enqueue(conn, tenant_id, rows, now)
        worker = threading.Thread(target=lambda: outcomes.append(deliver(tenant_id, rows[0].id, app=app)))
        worker.start()
        worker.join(30)

    monkeypatch.setattr(delivery, "_enqueue", enqueue_and_deliver_at_once)
    with app.app_context():
        assert relay_tenant(app, tenant.id) == 1
    assert outcomes == ["sent"]
    assert len(receiver.delivered) == 1


def test_the_cron_relay_keeps_going_while_a_district_fills_its_batch(pg_setup, redis_server, receiver):
    from workers.delivery import relay_all

    app, factory = pg_setup
    tenant = factory.tenant("alpha", "甲区")
    _sms(factory, tenant, receiver.url + "/sms")
    _fan_out(app, factory, tenant, 25)
    assert relay_all(app, batch=10) == 25  # 10, 10, 5: one call, not three cron ticks
    assert relay_all(app, batch=10, budget=0) == 0


@pytest.mark.config(EXTRA_MODULES=[JOB_MODULE])
def test_cron_registers_the_relay_and_each_module_job(app):
    import importlib

    from rq import cron

    with app.app_context():
        cron._job_data_registry.clear()
        import workers.cron

        importlib.reload(workers.cron)
        jobs = {job["name"]: job for job in cron._job_data_registry}
        cron._job_data_registry.clear()
    assert jobs["outbox.relay"]["interval"] == workers.cron.RELAY_INTERVAL_SECONDS
    assert jobs["outbox.relay"]["queue_name"] == "notify-urgent"
    assert jobs["probe.tick"]["cron"] == "*/5 * * * *"
    assert jobs["probe.tick"]["args"] == ("probe", "tick")


@pytest.mark.config(EXTRA_MODULES=[JOB_MODULE])
def test_periodic_fan_out_runs_only_where_the_module_is_on(app, factory):
    from tests.kernel.test_modules import job_calls
    from workers.periodic import fan_out

    a = factory.tenant("alpha", "甲区", modules=("probe",))
    factory.tenant("beta", "乙区")
    job_calls.clear()
    with app.app_context():
        assert fan_out("probe", "tick") == [a.id]
    assert job_calls == [a.id]


def test_a_district_rewords_a_notice_and_bad_placeholders_are_refused(client, factory, tenant_a, login_as,
                                                                      channel, receiver):
    channel(tenant_a, "sms", receiver.url + "/sms")
    user = _user(factory, tenant_a)
    login_as(factory.user(tenant_a))
    bad = client.post("/t/alpha/admin/notice-templates", data={"kind": "auth.phone_code", "locale": "zh_CN",
                                                                "title": "验证码 {{ code", "body": ""})
    assert bad.status_code == 422
    ok = client.post("/t/alpha/admin/notice-templates", data={"kind": "auth.phone_code", "locale": "zh_CN",
                                                               "title": "【甲区】验证码{{ code }}", "body": ""})
    assert ok.status_code == 302
    with factory.as_tenant(tenant_a) as s:
        notify(s, user.id, "auth.phone_code", {"code": "246810"})
        s.commit()
        # stored with the code masked (tests/workers/test_secret_codes.py); the phone gets it in the district's words
        assert s.scalars(sa.select(Delivery.title).where(Delivery.user_id == user.id)).one() == "【甲区】验证码******"
    relay_tenant(client.application, tenant_a.id)
    assert [sms["body"]["text"] for sms in receiver.delivered.values()] == ["【甲区】验证码246810"]
    # a sandbox: a template cannot reach Python internals
    client.post("/t/alpha/admin/notice-templates", data={"kind": "auth.phone_code", "locale": "zh_CN",
                                                          "title": "{{ code.__class__.__mro__ }}", "body": ""})
    with factory.as_tenant(tenant_a) as s:
        notify(s, user.id, "auth.phone_code", {"code": "1"}, event_key="second")
        s.commit()
    relay_tenant(client.application, tenant_a.id)
    texts = [sms["body"]["text"] for sms in receiver.delivered.values()]
    assert len(texts) == 2
    assert not any("object" in t for t in texts)


@pytest.mark.config(EXTRA_MODULES=[JOB_MODULE])
def test_embedded_scheduler_relays_and_runs_periodic_jobs(app, factory, channel, receiver):
    """With no Redis, one thread stands in for `rq cron`: the outbox drains and due jobs run."""
    from tests.kernel.test_modules import job_calls
    from workers.periodic import InProcessScheduler

    a = factory.tenant("alpha", "甲区", modules=("probe",))
    channel(a, "sms", receiver.url + "/sms")
    user = _user(factory, a)
    with factory.as_tenant(a) as s:
        notify(s, user.id, "auth.phone_code", {"code": "1"})
        s.commit()
    job_calls.clear()
    scheduler = InProcessScheduler(app, relay_every=0.1)
    # every module's periodic jobs are on the schedule, each with its own cron
    assert scheduler.crons[("probe", "tick")] == "*/5 * * * *"
    assert scheduler.crons[("grid_cases", "supervise_overdue")] == "*/15 * * * *"
    scheduler.due[("probe", "tick")] = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # as if five minutes had passed
    scheduler.start()
    try:
        deadline = time.time() + 20
        while not (receiver.delivered and job_calls) and time.time() < deadline:
            time.sleep(0.1)
    finally:
        scheduler.stop.set()
        scheduler.thread.join(10)
    assert len(receiver.delivered) == 1
    assert job_calls == [a.id]
    assert scheduler.due[("probe", "tick")] > dt.datetime.now(dt.UTC)


def test_inbox_and_outbox_through_the_api(client, factory, tenant_a, channel, receiver):
    from tests.plugin import bearer

    admin = factory.user(tenant_a)
    token = factory.token(admin)
    admit_local_receivers(client.application)
    bad = client.put("/api/v1/t/alpha/admin/channels/sms", headers=bearer(token),
                     json={"settings": {"url": "ftp://x"}})
    assert bad.status_code == 422
    assert "url" in bad.json["errors"]
    ok = client.put("/api/v1/t/alpha/admin/channels/sms", headers=bearer(token),
                    json={"settings": {"url": receiver.url + "/sms", "secret": "key-abcdefgh1234"}})
    assert ok.status_code == 200
    assert ok.json["secret"].endswith("1234")
    assert "abcdefgh" not in ok.get_data(as_text=True)
    receiver.mode = "fail"
    with factory.as_tenant(tenant_a) as s:
        s.execute(sa.update(User).where(User.id == admin.id).values(phone="13812340000"))
        notify(s, admin.id, "auth.phone_code", {"code": "1"})
        s.flush()
        s.execute(sa.update(Delivery).values(status="dead", attempts=5))
        s.commit()
    inbox = client.get("/api/v1/t/alpha/me/inbox", headers=bearer(token)).json
    assert inbox["unread"] == 1
    notice_id = inbox["items"][0]["id"]
    assert client.post(f"/api/v1/t/alpha/me/inbox/{notice_id}/read", headers=bearer(token)).json["read_at"]
    assert client.get("/api/v1/t/alpha/me/inbox", headers=bearer(token)).json["unread"] == 0
    dead = client.get("/api/v1/t/alpha/admin/outbox", headers=bearer(token)).json
    assert dead["counts"] == {"dead": 1}
    receiver.mode = "ok"
    delivery_id = dead["items"][0]["id"]
    retried = client.post(f"/api/v1/t/alpha/admin/outbox/{delivery_id}/retry", headers=bearer(token))
    assert retried.status_code == 200
    assert _deliveries(factory, tenant_a)[0].status == "sent"
    again = client.post(f"/api/v1/t/alpha/admin/outbox/{delivery_id}/discard", headers=bearer(token))
    assert again.status_code == 409
    assert again.json["code"] == "conflict"


def test_a_gateway_that_times_out_is_retried_not_lost(app, factory, tenant_a, channel, receiver, monkeypatch):
    from saas import channels

    monkeypatch.setattr(channels, "TIMEOUT", 0.3)
    channel(tenant_a, "sms", receiver.url + "/sms")
    receiver.mode = "hang"
    user = _user(factory, tenant_a)
    with factory.as_tenant(tenant_a) as s:
        notify(s, user.id, "auth.phone_code", {"code": "1"})
        s.commit()
    with app.app_context():
        relay_tenant(app, tenant_a.id)
    [row] = _deliveries(factory, tenant_a)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "timed out" in row.last_error.lower() or "timeout" in row.last_error.lower()
    receiver.mode = "ok"
    receiver.release.set()  # the request the gateway held is answered, to a client long gone
    receiver.wait_for(lambda: len(receiver.requests) == 1)
    with factory.as_tenant(tenant_a) as s:
        s.execute(sa.update(Delivery).values(next_attempt_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)))
        s.commit()
    with app.app_context():
        relay_tenant(app, tenant_a.id)
    assert _deliveries(factory, tenant_a)[0].status == "sent"
    assert len(receiver.delivered) == 1


def test_the_same_event_notified_again_has_the_same_idempotency_keys(app, factory, tenant_a, channel, receiver):
    """A retried request notifies its event again: the gateway sees the same keys, so it sends once."""
    channel(tenant_a, "sms", receiver.url + "/sms")
    user = _user(factory, tenant_a)

    def keys(event_key):
        with factory.as_tenant(tenant_a) as s:
            notify(s, user.id, "auth.phone_code", {"code": "123456"}, event_key=event_key)
            s.flush()
            found = sorted(s.scalars(sa.select(Delivery.idempotency_key)))
            s.rollback()
        return found

    first = keys("case:1:dispatched")
    assert len(first) == 1
    assert keys("case:1:dispatched") == first
    assert keys("case:2:dispatched") != first


def test_a_delivery_already_sent_is_not_sent_again(app, factory, tenant_a, channel, receiver):
    """A job for a delivery that went out already (a retried or duplicated job) leaves it alone."""
    channel(tenant_a, "sms", receiver.url + "/sms")
    user = _user(factory, tenant_a)
    with factory.as_tenant(tenant_a) as s:
        notify(s, user.id, "auth.phone_code", {"code": "123456"}, event_key="once")
        s.commit()
    [row] = _deliveries(factory, tenant_a)
    assert deliver(tenant_a.id, row.id, app) == "sent"
    assert deliver(tenant_a.id, row.id, app) == "skipped"
    assert len(receiver.requests) == 1
    [row] = _deliveries(factory, tenant_a)
    assert (row.status, row.attempts) == ("sent", 1)
