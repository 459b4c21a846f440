"""The operator's metrics and the request id on the jobs: /metrics for the operator only; a burst of notices shows
in the outbox backlog and the queue, and drains; periodic runs are counted; a job carries the id of the request
that queued it, and the worker's log line for it says so."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families
from rq import Queue

from saas import db
from saas.auth import hash_password
from saas.notify import notify
from tenants.models import PlatformOperator
from tests.kernel.test_modules import JOB_MODULE
from tests.plugin import TEST_PASSWORD, operator_session_data
from tests.workers.conftest import ROOT, admit_local_receivers, start_worker
from workers import queues


def _operator(app):
    with app.app_context(), db.platform_context():
        op = PlatformOperator(username="ops", name="运维", password_hash=hash_password(TEST_PASSWORD))
        db.session.add(op)
        db.session.commit()
        return op.id


def _as_operator(client):
    data = operator_session_data(client.application, _operator(client.application))
    with client.session_transaction() as sess:
        sess.clear()
        sess.update(data)
    return client


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = client.get("/metrics")
    assert answer.status_code == 200, answer.status_code
    assert answer.headers["Content-Type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(answer.get_data(as_text=True)) for s in family.samples}


def value(samples, name, **labels) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


@pytest.mark.config(METRICS_TOKEN="scrape-token-0123456789")
def test_metrics_are_refused_to_anonymous_and_district_admins_and_served_to_the_operator(
        client, factory, tenant_a, login_as):
    assert client.get("/metrics").status_code == 401
    login_as(factory.user(tenant_a, role="district_admin"))
    assert client.get("/t/alpha/").status_code == 200
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert "wgt_" not in refused.get_data(as_text=True)
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong-token"}).status_code == 401
    # a district's API token is no metrics token either
    token = factory.token(factory.user(tenant_a))
    assert client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 401

    scraper = client.application.test_client()
    assert scraper.get("/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"}).status_code == 200

    samples = scrape(_as_operator(client))
    assert value(samples, "wgt_http_requests_total", endpoint="shell.home", method="GET", status="200") >= 1
    assert value(samples, "wgt_http_request_duration_seconds_count", endpoint="shell.home", method="GET") >= 1
    assert value(samples, "wgt_http_request_statements_count", endpoint="shell.home") >= 1
    assert value(samples, "wgt_http_request_statements_bucket", endpoint="shell.home", le="+Inf") >= 1
    assert value(samples, "wgt_http_requests_total", endpoint="metrics.metrics", method="GET", status="401") >= 3
    assert value(samples, "wgt_outbox_backlog", tenant="alpha") == 0
    assert value(samples, "wgt_outbox_dead_letters", tenant="alpha") == 0


@pytest.mark.config(EXTRA_MODULES=[JOB_MODULE])
def test_periodic_job_runs_and_their_last_success_are_counted(app, client, factory):
    from saas.jobs import run_periodic

    factory.tenant("alpha", "甲区", modules=("probe",))
    factory.tenant("beta", "乙区")
    before = scrape(_as_operator(client))
    ok_before = value(before, "wgt_periodic_job_runs_total", job="probe.tick", outcome="ok") or 0
    skipped_before = value(before, "wgt_periodic_job_runs_total", job="probe.tick", outcome="skipped") or 0
    assert run_periodic(app, "probe", "tick") == ["alpha"]
    after = scrape(client)
    assert value(after, "wgt_periodic_job_runs_total", job="probe.tick", outcome="ok") == ok_before + 1
    # beta has the module off: its run is counted as skipped (run_periodic asks every active district)
    assert value(after, "wgt_periodic_job_runs_total", job="probe.tick", outcome="skipped") == skipped_before + 1
    assert value(after, "wgt_periodic_job_last_success_timestamp_seconds", job="probe.tick") > 0
    # every declared job is listed, run or not, so an alert can watch it from the first scrape
    assert value(after, "wgt_periodic_job_runs_total", job="grid_cases.supervise_overdue", outcome="failed") is not None


# --- on the production topology: PostgreSQL, a real Redis, a real `rq worker` --------------------------------


@pytest.fixture
def production(pg_app, redis_server):
    from tests.plugin import Factory

    pg_app.config["REDIS_URL"] = redis_server.url
    return pg_app, Factory(pg_app)


def test_a_burst_of_notices_shows_in_the_outbox_backlog_and_drains(production, redis_server, receiver):
    from workers.delivery import relay_all

    app, factory = production
    tenant = factory.tenant("alpha", "甲区")
    factory.tenant("beta", "乙区")
    admit_local_receivers(app)
    from saas import notice_settings

    with factory.as_tenant(tenant) as s:
        notice_settings.save_channel(s, None, "sms", {"url": receiver.url + "/sms"}, True)
        s.commit()
    users = [factory.user(tenant, phone=f"139{i:08d}", name=f"用户{i}") for i in range(25)]
    with factory.as_tenant(tenant) as s:
        for i, user in enumerate(users):
            notify(s, user.id, "auth.phone_code", {"code": f"{i:06d}"}, event_key=f"burst-{i}")
        s.commit()
    client = _as_operator(app.test_client())

    waiting = scrape(client)
    assert value(waiting, "wgt_outbox_backlog", tenant="alpha") == 25
    assert value(waiting, "wgt_outbox_backlog", tenant="beta") == 0
    assert value(waiting, "wgt_redis_up") == 1
    assert value(waiting, "wgt_rq_queue_jobs", queue=queues.URGENT) == 0

    assert relay_all(app) == 25
    queued = scrape(client)
    assert value(queued, "wgt_outbox_backlog", tenant="alpha") == 25  # queued, not yet sent
    assert value(queued, "wgt_rq_queue_jobs", queue=queues.URGENT) == 25
    assert value(queued, "wgt_periodic_job_runs_total", job="outbox.relay", outcome="ok") >= 1
    assert value(queued, "wgt_periodic_job_last_success_timestamp_seconds", job="outbox.relay") > 0

    worker = start_worker(app, redis_server.url)
    out, _ = worker.communicate(timeout=120)
    assert worker.returncode == 0, out.decode()[-2000:]
    drained = scrape(client)
    assert value(drained, "wgt_outbox_backlog", tenant="alpha") == 0
    assert value(drained, "wgt_outbox_dead_letters", tenant="alpha") == 0
    assert value(drained, "wgt_rq_queue_jobs", queue=queues.URGENT) == 0
    assert value(drained, "wgt_rq_failed_jobs", queue=queues.URGENT) == 0
    assert len(receiver.delivered) == 25


def test_the_request_id_reaches_the_jobs_it_enqueues_and_the_workers_log(production, redis_server, receiver):
    app, factory = production
    tenant = factory.tenant("alpha", "甲区")
    admit_local_receivers(app)
    from saas import notice_settings

    with factory.as_tenant(tenant) as s:
        notice_settings.save_channel(s, None, "sms", {"url": receiver.url + "/sms"}, True)
        s.commit()
    client = app.test_client()
    answer = client.post("/t/alpha/citizen", data={"phone": "13712345678"}, headers={"X-Request-ID": "req-0a1b2c3d"})
    assert answer.status_code == 200
    assert answer.headers["X-Request-ID"] == "req-0a1b2c3d"
    [job] = Queue(queues.URGENT, connection=redis.Redis.from_url(redis_server.url)).jobs
    assert job.meta == {"tenant_id": tenant.id, "request_id": "req-0a1b2c3d"}

    worker = start_worker(app, redis_server.url)
    out, _ = worker.communicate(timeout=120)
    assert worker.returncode == 0, out.decode()[-2000:]
    assert len(receiver.delivered) == 1
    # the worker's app logs JSON (production: Redis configured); its line for the job names the request
    lines = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    [delivered] = [line for line in lines if line.get("logger") == "workers.delivery"]
    assert delivered["request_id"] == "req-0a1b2c3d"
    assert delivered["outcome"] == "sent"
    assert delivered["tenant_id"] == tenant.id
    assert "13712345678" not in out.decode()


def test_the_metrics_still_answer_with_redis_down(production, redis_server):
    app, factory = production
    factory.tenant("alpha", "甲区")
    client = _as_operator(app.test_client())
    redis_server.stop()
    samples = scrape(client)
    assert value(samples, "wgt_redis_up") == 0
    assert value(samples, "wgt_outbox_backlog", tenant="alpha") == 0
    assert value(samples, "wgt_rq_queue_jobs", queue=queues.URGENT) is None

GUNICORN_WORKER = """
import sys
from saas import create_app

client = create_app({"REDIS_URL": None}).test_client()
for _ in range(int(sys.argv[1])):
    assert client.get("/healthz").status_code == 200
answer = client.get("/metrics", headers={"Authorization": "Bearer multi-token-0123456789"})
assert answer.status_code == 200
sys.stdout.write(answer.get_data(as_text=True))
"""


@pytest.mark.one_backend
def test_several_processes_are_added_up_in_multiprocess_mode(app, tmp_path):
    """What gunicorn's workers do with PROMETHEUS_MULTIPROC_DIR: each counts in the shared folder, and whichever
    answers the scrape gives the sum."""
    folder = tmp_path / "metrics"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder), "DATABASE_URL": app.config["DATABASE_URL"],
           "SECRET_KEY": "multi-process-secret", "METRICS_TOKEN": "multi-token-0123456789",
           "WGT_INSTANCE": str(tmp_path), "PYTHONPATH": str(ROOT)}
    outputs = [subprocess.run([sys.executable, "-c", GUNICORN_WORKER, str(n)], env=env, cwd=ROOT,  # noqa: S603
                              capture_output=True, text=True, timeout=120, check=True).stdout for n in (2, 3)]
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(outputs[-1]) for s in family.samples}
    healthz = (("endpoint", "shell.healthz"), ("method", "GET"), ("status", "200"))
    assert samples[("wgt_http_requests_total", healthz)] == 5
    # the scrape reads the state too (from the database the processes share)
    assert ("wgt_periodic_job_runs_total", (("job", "outbox.relay"), ("outcome", "ok"))) in samples
