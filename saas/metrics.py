"""The operator's metrics in the Prometheus text format, at `/metrics`.

Who may read them: the platform operator signed in (the platform's session cookie, for a look in the browser),
or a scraper that sends `Authorization: Bearer <METRICS_TOKEN>` (the operator's configuration; with none set,
only the signed-in operator). Anyone else, a district's admin included, gets 401 and no figure.

Counted as requests are answered (`observe_request`, called by `saas.logs` after each request):
- `wgt_http_requests_total{endpoint,method,status}`, `wgt_http_request_duration_seconds{endpoint,method}` (a
  histogram), `wgt_http_request_statements{endpoint}` (SQL statements per request, a histogram).
  The endpoint is the route's name (`none` when no route matched), so the labels stay few whatever is asked.
  Each process counts its own. Under gunicorn's several workers, set `PROMETHEUS_MULTIPROC_DIR` to an empty
  folder before gunicorn starts (emptied at each start): prometheus_client's multiprocess mode then adds up
  every worker's counts at each scrape. Without it, a scrape shows the counts of the one worker that answered.

Read at each scrape, the same from whichever process answers (`StateCollector`):
- `wgt_outbox_backlog{tenant}` (deliveries pending or queued) and `wgt_outbox_dead_letters{tenant}`, read
  through the kernel under each district's own tenant (`saas.notify.outbox_counts`), as the platform reads;
- `wgt_rq_queue_jobs{queue}`, `wgt_rq_failed_jobs{queue}`, `wgt_rq_workers` from RQ's registries in Redis;
- `wgt_periodic_job_runs_total{job,outcome}` and `wgt_periodic_job_last_success_timestamp_seconds{job}` (every
  module job per district, and the outbox relay; `saas.jobs.record_run`), and
  `wgt_cron_heartbeat_timestamp_seconds`, the cron scheduler's last beat (`saas.health`).
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import os
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

log = logging.getLogger("saas.metrics")

# the request metrics live in a registry of their own (not prometheus_client's global one): a scrape shows
# what this module defines and nothing an imported library registers
REQUESTS = CollectorRegistry(auto_describe=False)
REQUESTS_TOTAL = Counter("wgt_http_requests", "Requests answered, by endpoint, method and status.",
                         ["endpoint", "method", "status"], registry=REQUESTS)
DURATION = Histogram("wgt_http_request_duration_seconds", "Time to answer a request, by endpoint and method.",
                     ["endpoint", "method"], registry=REQUESTS,
                     buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
STATEMENTS = Histogram("wgt_http_request_statements", "SQL statements a request sent, by endpoint.",
                       ["endpoint"], registry=REQUESTS, buckets=(1, 2, 5, 10, 15, 20, 30, 50, 100, 200, 500))

BACKLOG_STATUSES = ("pending", "queued")


def observe_request(endpoint: str, method: str, status: int, seconds: float, statements: int) -> None:
    REQUESTS_TOTAL.labels(endpoint, method, str(status)).inc()
    DURATION.labels(endpoint, method).observe(seconds)
    STATEMENTS.labels(endpoint).observe(statements)


class StateCollector:
    """What the deployment holds now, read when Prometheus asks (inside the scrape's request)."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self) -> Iterator[Metric]:
        yield from self._outbox()
        yield from self._queues()
        yield from self._periodic()

    def _outbox(self) -> Iterator[Metric]:
        from saas import db
        from saas.notify import outbox_counts

        backlog = GaugeMetricFamily("wgt_outbox_backlog", "Deliveries waiting in the outbox (pending or queued).",
                                    labels=["tenant"])
        dead = GaugeMetricFamily("wgt_outbox_dead_letters", "Deliveries in the dead-letter list.", labels=["tenant"])
        for slug, counts in outbox_counts(db.session()).items():
            backlog.add_metric([slug], sum(counts.get(s, 0) for s in BACKLOG_STATUSES))
            dead.add_metric([slug], counts.get("dead", 0))
        db.session.rollback()
        yield backlog
        yield dead

    def _queues(self) -> Iterator[Metric]:
        import redis
        from rq import Queue, Worker
        from rq.registry import FailedJobRegistry

        from workers import queues

        conn = queues.connection(self.app)
        up = GaugeMetricFamily("wgt_redis_up", "Whether Redis answered this scrape (1), or not (0; no queue figures).")
        if conn is None:
            return
        depth = GaugeMetricFamily("wgt_rq_queue_jobs", "Jobs waiting on an RQ queue.", labels=["queue"])
        failed = GaugeMetricFamily("wgt_rq_failed_jobs", "Jobs in an RQ queue's failed registry.", labels=["queue"])
        try:
            for name in queues.ALL:
                queue = Queue(name, connection=conn)
                depth.add_metric([name], queue.count)
                failed.add_metric([name], FailedJobRegistry(queue=queue).count)
            workers = Worker.count(connection=conn)
        except redis.RedisError as err:
            log.warning("metrics: Redis unavailable: %s", type(err).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield depth
        yield failed
        count = GaugeMetricFamily("wgt_rq_workers", "RQ workers registered in Redis.")
        count.add_metric([], workers)
        yield count

    def _periodic(self) -> Iterator[Metric]:
        import redis

        from saas import health, jobs

        try:
            runs, success = jobs.recorded_runs(self.app)
        except redis.RedisError:
            return  # wgt_redis_up says so
        declared = {f"{spec.key}.{job.name}" for spec, job in jobs.periodic_jobs(self.app)} | {"outbox.relay"}
        total = CounterMetricFamily("wgt_periodic_job_runs", "Runs of each periodic job (per district for a "
                                    "module's job), by outcome: ok, skipped (module off there), failed.",
                                    labels=["job", "outcome"])
        for name in sorted(declared | {job for job, _ in runs}):
            for outcome in jobs.OUTCOMES:
                total.add_metric([name, outcome], runs.get((name, outcome), 0))
        yield total
        last = GaugeMetricFamily("wgt_periodic_job_last_success_timestamp_seconds",
                                 "When each periodic job last ran to the end (seconds since the epoch).",
                                 labels=["job"])
        for name, when in sorted(success.items()):
            last.add_metric([name], when)
        yield last
        from workers import queues

        conn = queues.connection(self.app)
        try:
            raw = conn.get(health.HEARTBEAT_KEY) if conn is not None else None
        except redis.RedisError:
            return
        if raw:
            beat = GaugeMetricFamily("wgt_cron_heartbeat_timestamp_seconds",
                                     "The cron scheduler's last heartbeat (seconds since the epoch).")
            beat.add_metric([], dt.datetime.fromisoformat(raw.decode()).timestamp())
            yield beat


def exposition(app: Flask) -> bytes:
    """Everything, in the Prometheus text format: the request metrics (every gunicorn worker's in multiprocess
    mode) and the state read now."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUESTS)  # type: ignore[arg-type]
    registry.register(StateCollector(app))  # type: ignore[arg-type]
    return generate_latest(registry)


bp = Blueprint("metrics", __name__)


def _scraper_token_matches() -> bool:
    token = current_app.config.get("METRICS_TOKEN") or ""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


@bp.get("/metrics")
def metrics() -> Any:
    if g.get("operator") is None and not _scraper_token_matches():
        abort(401)
    return Response(exposition(current_app), headers={"Content-Type": CONTENT_TYPE_LATEST,
                                                      "Cache-Control": "no-store"})


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
