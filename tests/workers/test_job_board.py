"""The operator's job board (/platform/jobs): a job that failed on a real `rq worker` shows with its district and
its error (masked), is retried from the page, audited on the platform, and runs; district staff never see it."""

from __future__ import annotations

import sqlalchemy as sa
from rq import Queue
from rq.registry import FailedJobRegistry

from saas import db
from saas.audit import PlatformAuditEntry
from tests.plugin import session_data
from tests.workers.conftest import start_worker
from tests.workers.test_metrics import _as_operator, production  # noqa: F401 (a fixture)
from workers import queues


def run_worker(app, url: str) -> None:
    worker = start_worker(app, url)
    out, _ = worker.communicate(timeout=120)
    assert worker.returncode == 0, out.decode()[-2000:]


def test_a_failed_job_is_seen_across_districts_and_retried_by_the_operator(production, redis_server):  # noqa: F811
    app, factory = production
    tenant = factory.tenant("alpha", "甲区")
    conn = queues.connection(app)
    queue = Queue(queues.NOTIFY, connection=conn)
    job = queue.enqueue("tests.workers.flaky.fail_until_allowed", "flaky-flag", meta={"tenant_id": tenant.id})
    run_worker(app, redis_server.url)
    assert FailedJobRegistry(queue=queue).get_job_ids() == [job.id]

    # district staff: the platform's sign-in, never the board
    staff = app.test_client()
    with staff.session_transaction() as sess:
        sess.update(session_data(app, factory.user(tenant, role="district_admin")))
    assert staff.get("/t/alpha/").status_code == 200  # signed in to the district
    refused = staff.get("/platform/jobs")
    assert refused.status_code == 302
    assert refused.headers["Location"].startswith("/platform/login")
    assert staff.post(f"/platform/jobs/{queues.NOTIFY}/{job.id}/retry").status_code == 302
    assert FailedJobRegistry(queue=queue).get_job_ids() == [job.id]  # nothing retried

    operator = _as_operator(app.test_client())
    page = operator.get("/platform/jobs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'id="job-{job.id}"' in html
    assert "fail_until_allowed" in html
    assert "alpha" in html  # the district the job was for
    assert "RuntimeError" in html
    assert "13812345678" not in html  # the error is masked
    assert "<td class=\"num\">1</td>" in html  # one failed on the notify queue

    conn.set("flaky-flag", "1")
    answer = operator.post(f"/platform/jobs/{queues.NOTIFY}/{job.id}/retry")
    assert answer.status_code == 302
    assert FailedJobRegistry(queue=queue).count == 0
    assert queue.job_ids == [job.id]
    with app.app_context(), db.platform_context():  # the platform's audit is the platform's to read
        entry = db.session.scalars(sa.select(PlatformAuditEntry).where(
            PlatformAuditEntry.action == "platform.job_retry")).one()
        assert (entry.district_id, entry.district_slug, entry.details["job"]) == (tenant.id, "alpha", job.id)
    run_worker(app, redis_server.url)
    assert queue.count == 0
    assert FailedJobRegistry(queue=queue).count == 0
    after = operator.get("/platform/jobs").get_data(as_text=True)
    assert f'id="job-{job.id}"' not in after

    # a job that is no longer failed (or never was) is not retried twice
    again = operator.post(f"/platform/jobs/{queues.NOTIFY}/{job.id}/retry", follow_redirects=True)
    assert "该任务已不在失败列表中" in again.get_data(as_text=True)
    assert queue.count == 0


def test_without_redis_the_board_says_so_and_lists_the_periodic_jobs(app):
    operator = _as_operator(app.test_client())
    html = operator.get("/platform/jobs").get_data(as_text=True)
    assert "没有 Redis" in html
    assert "<code>outbox.relay</code>" in html
    assert "<code>grid_cases." in html  # every module's declared periodic jobs, run or not
