"""Liveness and readiness, for the operator's probes.

`/healthz` says the process answers and touches nothing else, so a database that blinks never gets a healthy
web process restarted. `/readyz` names each thing the deployment needs and whether it has it: the database, its
schema at the head of the kernel's and every installed module's migrations, Redis when configured, an RQ worker
that beat its heart recently (RQ's own worker registry) and the cron scheduler, whose `workers.periodic.beat`
job (run by a worker every HEARTBEAT_SECONDS) leaves its time in Redis.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask import Flask

HEARTBEAT_KEY = "wgt:heartbeat:cron"
HEARTBEAT_SECONDS = 30
# a worker or the scheduler unseen for this long is reported: a few missed beats, not one late one
STALE_AFTER = dt.timedelta(seconds=120)


def record_beat(conn: Any, now: dt.datetime | None = None) -> None:
    """Leave the cron scheduler's heartbeat in Redis (workers.periodic.beat runs it on a schedule)."""
    now = now or dt.datetime.now(dt.UTC)
    conn.set(HEARTBEAT_KEY, now.isoformat(), ex=int(STALE_AFTER.total_seconds()) * 10)


def _redis(app: Flask) -> Any:
    import redis

    return redis.Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=1, socket_timeout=1)


def _age(then: dt.datetime | None, now: dt.datetime) -> dt.timedelta | None:
    if then is None:
        return None
    if then.tzinfo is None:
        then = then.replace(tzinfo=dt.UTC)
    return now - then


def checks(app: Flask, session: Any, now: dt.datetime | None = None) -> dict[str, str]:
    """Each check by name: "ok", "not configured (...)", or "error: ..." saying what is wrong."""
    from saas import migrate

    now = now or dt.datetime.now(dt.UTC)
    out: dict[str, str] = {}
    try:
        state = migrate.schema_state(app, session.connection())
        out["database"] = "ok"
        out["migrations"] = {"ok": "ok", "missing": "error: not migrated; run `flask --app wsgi db upgrade`",
                             "behind": "error: migrations pending; run `flask --app wsgi db upgrade`"}[state]
    except sa.exc.SQLAlchemyError as exc:
        session.rollback()
        out["database"] = f"error: {type(exc).__name__}"
        out["migrations"] = "error: database unreachable"
    if not app.config.get("REDIS_URL"):
        for name in ("redis", "worker", "scheduler"):
            out[name] = "not configured (jobs run in-process)"
        return out
    import redis
    from rq import Worker

    try:
        conn = _redis(app)
        conn.ping()
        out["redis"] = "ok"
        ages = [a for a in (_age(w.last_heartbeat, now) for w in Worker.all(connection=conn)) if a is not None]
        fresh = [a for a in ages if a <= STALE_AFTER]
        out["worker"] = "ok" if fresh else (
            f"error: no RQ worker has beaten its heart for {int(STALE_AFTER.total_seconds())} s" if ages
            else "error: no RQ worker is running; start `rq worker`")
        raw = conn.get(HEARTBEAT_KEY)
        seen = _age(dt.datetime.fromisoformat(raw.decode()), now) if raw else None
        out["scheduler"] = "ok" if seen is not None and seen <= STALE_AFTER else (
            "error: the cron scheduler has not run a job for "
            f"{int(seen.total_seconds())} s; is `rq cron workers.cron` running?" if seen is not None
            else "error: the cron scheduler has never run; start `rq cron workers.cron`")
    except redis.RedisError as exc:
        out["redis"] = f"error: {type(exc).__name__}"
        out["worker"] = out["scheduler"] = "error: Redis unreachable"
    return out


def ready(results: dict[str, str]) -> bool:
    return all(v == "ok" or v.startswith("not configured") for v in results.values())
