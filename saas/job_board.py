"""What the workers are doing, for the platform operator: RQ's queues and failed jobs across districts, the
periodic jobs' runs and last successes, the cron's heartbeat and the workers; a failed job retried.

Read from RQ's own registries (the same figures `/metrics` gives a scraper), never from a copy of ours. A failed
job's error is shown as its exception's type and first line, through the kernel's masking of free text: a
gateway's answer may quote a phone number.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import redis
from flask import Flask

from saas import health, jobs
from saas.masking import mask_personal

FAILED_SHOWN = 100


@dataclasses.dataclass(frozen=True)
class QueueFigures:
    name: str
    waiting: int
    running: int
    failed: int


@dataclasses.dataclass(frozen=True)
class FailedJob:
    id: str
    queue: str
    func: str
    tenant_id: int | None
    failed_at: dt.datetime | None
    error: str


@dataclasses.dataclass(frozen=True)
class PeriodicFigures:
    name: str
    ok: int
    skipped: int
    failed: int
    last_success: dt.datetime | None


@dataclasses.dataclass(frozen=True)
class Board:
    redis_up: bool
    queues: list[QueueFigures]
    failed: list[FailedJob]
    periodic: list[PeriodicFigures]
    workers: int
    heartbeat: dt.datetime | None


def _error_line(exc_info: str | None) -> str:
    """The last line of a traceback is the exception and its message: that line, masked."""
    lines = [line for line in (exc_info or "").strip().splitlines() if line.strip()]
    return mask_personal(lines[-1].strip()[:300]) if lines else ""


def _traceback(job: Any) -> str | None:
    result = job.latest_result()
    return result.exc_string if result is not None else None


def _when(seconds: float | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(seconds, dt.UTC) if seconds else None


def board(app: Flask) -> Board:
    from rq import Queue, Worker
    from rq.job import Job
    from rq.registry import FailedJobRegistry, StartedJobRegistry

    from workers import queues

    conn = queues.connection(app)
    declared = sorted({f"{spec.key}.{job.name}" for spec, job in jobs.periodic_jobs(app)} | {"outbox.relay"})
    if conn is None:  # the embedded default: jobs run in the process, their runs counted there
        return Board(False, [], [], _periodic(declared, *jobs.recorded_runs(app)), 0, None)
    try:
        runs, success = jobs.recorded_runs(app)
        figures, failed = [], []
        for name in queues.ALL:
            queue = Queue(name, connection=conn)
            registry = FailedJobRegistry(queue=queue)
            figures.append(QueueFigures(name, queue.count, StartedJobRegistry(queue=queue).count, registry.count))
            ids = registry.get_job_ids(0, FAILED_SHOWN - 1)
            for job in Job.fetch_many(ids, connection=conn):
                if job is None:
                    continue
                tenant_id = (job.meta or {}).get("tenant_id")
                failed.append(FailedJob(job.id, name, job.func_name or "", tenant_id if isinstance(tenant_id, int)
                                        else None, job.ended_at and job.ended_at.replace(tzinfo=dt.UTC),
                                        _error_line(_traceback(job))))
        raw = conn.get(health.HEARTBEAT_KEY)
        beat = dt.datetime.fromisoformat(raw.decode()) if raw else None
        workers = Worker.count(connection=conn)
    except redis.RedisError:
        return Board(False, [], [], _periodic(declared, {}, {}), 0, None)
    failed.sort(key=lambda j: j.failed_at or dt.datetime.min.replace(tzinfo=dt.UTC), reverse=True)
    return Board(True, figures, failed[:FAILED_SHOWN], _periodic(declared, runs, success), workers, beat)


def _periodic(declared: list[str], runs: dict[tuple[str, str], int],
              success: dict[str, float]) -> list[PeriodicFigures]:
    names = sorted(set(declared) | {job for job, _ in runs})
    return [PeriodicFigures(n, runs.get((n, "ok"), 0), runs.get((n, "skipped"), 0), runs.get((n, "failed"), 0),
                            _when(success.get(n))) for n in names]


def failed_job(app: Flask, queue_name: str, job_id: str) -> Any | None:
    """The failed job `job_id` of `queue_name`, or None when it is not (or no longer) in its failed registry."""
    from rq import Queue
    from rq.job import Job
    from rq.registry import FailedJobRegistry

    from workers import queues

    conn = queues.connection(app)
    if conn is None or queue_name not in queues.ALL:
        return None
    registry = FailedJobRegistry(queue=Queue(queue_name, connection=conn))
    if job_id not in registry.get_job_ids():
        return None
    return Job.fetch(job_id, connection=conn)


def retry(app: Flask, queue_name: str, job_id: str) -> bool:
    """Put a failed job back on its queue, as it was; False when there is no such failed job."""
    from rq import Queue
    from rq.registry import FailedJobRegistry

    from workers import queues

    if failed_job(app, queue_name, job_id) is None:
        return False
    conn = queues.connection(app)
    FailedJobRegistry(queue=Queue(queue_name, connection=conn)).requeue(job_id)
    return True
