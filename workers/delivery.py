"""Outbox relay and delivery jobs.

`relay_tenant` claims a district's due deliveries (urgent first, `FOR UPDATE SKIP LOCKED` on
PostgreSQL), puts them on the queues and marks them queued, in one transaction per district, so one
district's mass notice cannot starve another's urgent ones: every cycle takes at most `batch` rows per
district. If Redis is down the claim rolls back and the rows wait. A delivery stuck in `queued`
longer than the visibility timeout (its worker died) is claimed again; the receiver sees the same
idempotency key, so it delivers once. When the workers fall behind (more than `OUTBOX_MAX_BACKLOG`
ordinary jobs waiting) only urgent deliveries join the queue and the others wait in the outbox: a
queue longer than the visibility timeout would have its rows claimed and queued a second time.

`deliver` sends one delivery and records the outcome; failures come back after a backoff and the last
failure leaves the delivery dead, in the list the district admin sees.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from typing import Any
from zoneinfo import ZoneInfo

import redis
import sqlalchemy as sa
from flask import Flask

from saas import channels, db, logs, secrets
from saas.db import utcnow
from saas.modules import enabled_keys
from saas.notify import (
    BACKOFF,
    FINAL,
    MAX_ATTEMPTS,
    ROBOT_CHANNELS,
    ChannelConfig,
    Delivery,
    SecretGone,
    platform_sms,
)
from workers import queues
from workers.app import app_context, get_app

log = logging.getLogger("workers.delivery")

VISIBILITY = dt.timedelta(minutes=5)
RELAY_BUDGET_SECONDS = 3.0  # one cron relay (every 5 s) goes on this long while districts fill their batch
MAX_BACKLOG = 2000  # ordinary jobs waiting: 2 workers on a busy 2-CPU machine (22/s) drain them in 90 s
ROBOT_PER_MINUTE = 18  # DingTalk and WeCom robots take about 20 a minute, then throttle


class RelayUnavailable(RuntimeError):
    """Redis did not take the jobs; the deliveries stay in the outbox for the next cycle."""


def _due(now: dt.datetime, visibility: dt.timedelta) -> sa.ColumnElement[bool]:
    return sa.or_(
        sa.and_(Delivery.status == "pending", Delivery.next_attempt_at <= now),
        sa.and_(Delivery.status == "queued", Delivery.queued_at < now - visibility),
    )


def relay_tenant(app: Flask, tenant_id: int, *, batch: int = 200, now: dt.datetime | None = None) -> int:
    """Move one district's due deliveries onto the queues (or deliver them here without Redis)."""
    now = now or utcnow()
    session = db.session()
    visibility = dt.timedelta(seconds=app.config.get("OUTBOX_VISIBILITY_SECONDS", VISIBILITY.total_seconds()))
    conn = queues.connection(app)
    due = _due(now, visibility)
    if conn is not None and _backlog(conn) >= app.config.get("OUTBOX_MAX_BACKLOG", MAX_BACKLOG):
        due = sa.and_(due, Delivery.urgent.is_(True))  # the workers are behind: the others wait here
    with db.tenant_context(tenant_id):
        query = (
            sa.select(Delivery).where(due)
            .order_by(Delivery.urgent.desc(), Delivery.next_attempt_at, Delivery.id).limit(batch)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = _merge_robot_digests(session, list(session.scalars(query)), now)
        if not rows:
            session.rollback()
            return 0
        for row in rows:
            row.status = "queued"
            row.queued_at = now
        session.flush()
        if conn is None:
            ids = [row.id for row in rows]
            session.commit()
            for delivery_id in ids:
                deliver(tenant_id, delivery_id, app=app)
            return len(ids)
        ids = [row.id for row in rows]
        # the claim commits before the jobs exist: a worker that takes a job at once would otherwise find
        # the row still locked by this transaction, skip it, and leave it for the visibility timeout
        session.commit()
        try:
            _enqueue(conn, tenant_id, rows, now)
        except redis.RedisError as err:
            session.execute(sa.update(Delivery).where(Delivery.id.in_(ids), Delivery.status == "queued")
                            .values(status="pending", queued_at=None).execution_options(synchronize_session=False))
            session.commit()
            raise RelayUnavailable(str(err)) from err
        return len(ids)


def _backlog(conn: redis.Redis) -> int:
    """Ordinary delivery jobs still waiting on the queue."""
    try:
        return int(conn.llen(f"rq:queue:{queues.NOTIFY}"))
    except redis.RedisError as err:
        raise RelayUnavailable(str(err)) from err


def _enqueue(conn: redis.Redis, tenant_id: int, rows: list[Delivery], now: dt.datetime) -> None:
    from rq import Queue

    by_queue: dict[str, list[Any]] = {}
    for row in rows:
        name = queues.URGENT if row.urgent else queues.NOTIFY
        by_queue.setdefault(name, []).append(Queue.prepare_data(
            deliver, args=(tenant_id, row.id), job_id=f"dlv-{row.id}-{row.attempts}-{int(now.timestamp() * 1000)}",
            meta=logs.job_meta(tenant_id=tenant_id), result_ttl=60, failure_ttl=24 * 3600, timeout=60,
        ))
    with conn.pipeline() as pipe:
        for name, jobs in by_queue.items():
            Queue(name, connection=conn).enqueue_many(jobs, pipeline=pipe)
        pipe.execute()


def _merge_robot_digests(session: Any, rows: list[Delivery], now: dt.datetime) -> list[Delivery]:
    """Several robot notices due at once become one digest per robot: throttled robots lose nothing."""
    out = [r for r in rows if r.channel not in ROBOT_CHANNELS or r.status == "queued"]
    for channel in ROBOT_CHANNELS:
        due = [r for r in rows if r.channel == channel and r.status == "pending"]
        if len(due) <= 1:
            out.extend(due)
            continue
        for r in due:
            r.status = "merged"
        key = hashlib.sha256("|".join(sorted(r.idempotency_key for r in due)).encode()).hexdigest()[:40]
        digest = Delivery(
            channel=channel, kind="digest", title=f"{len(due)} 条通知 / notices",
            body="\n\n".join(f"- **{r.title}** {r.body}".strip() for r in due),
            urgent=any(r.urgent for r in due), idempotency_key=key, digest_of=[str(r.id) for r in due],
            next_attempt_at=now,
        )
        session.add(digest)
        session.flush()
        out.append(digest)
    return out


def relay_all(app: Flask | None = None, *, batch: int = 200, budget: float | None = None) -> int:
    """Relay cycles over every active district; returns how many deliveries moved.

    Each cycle takes at most `batch` rows per district. The districts that filled their batch get another
    cycle, for up to `budget` seconds (OUTBOX_RELAY_BUDGET_SECONDS, under the cron interval): a mass notice
    leaves as fast as the workers take it (up to the backlog limit), not at `batch` rows per district
    every 5 seconds (40 a second, measured by bench/notifications.py with workers doing 100).
    """
    from saas.jobs import record_run
    from tenants.models import Tenant

    app = app or get_app()
    budget = app.config.get("OUTBOX_RELAY_BUDGET_SECONDS", RELAY_BUDGET_SECONDS) if budget is None else budget
    deadline = time.monotonic() + budget
    moved = 0
    try:
        with app_context(app):
            tenant_ids = list(db.session.scalars(sa.select(Tenant.id).where(Tenant.active.is_(True))))
            while tenant_ids:
                full = []
                for tenant_id in tenant_ids:
                    n = relay_tenant(app, tenant_id, batch=batch)
                    moved += n
                    if n >= batch:
                        full.append(tenant_id)
                tenant_ids = full if time.monotonic() < deadline else []
    except Exception:
        record_run(app, "outbox.relay", "failed")
        raise
    record_run(app, "outbox.relay", "ok")
    return moved


def quiet_until(tenant: Any, now: dt.datetime) -> dt.datetime | None:
    """The end of the district's quiet hours when `now` falls inside them, else None."""
    if not tenant.quiet_start or not tenant.quiet_end:
        return None
    tz = ZoneInfo(tenant.timezone)
    local = now.astimezone(tz)
    start = dt.time.fromisoformat(tenant.quiet_start)
    end = dt.time.fromisoformat(tenant.quiet_end)
    t = local.time()
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    end_day = local.date() if t < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(end_day, end, tz).astimezone(dt.UTC)





def deliver(tenant_id: int, delivery_id: int, app: Flask | None = None) -> str:
    """Send one delivery. Idempotent: a delivery already sent, or being sent by another worker, is left alone."""
    outcome = _deliver(tenant_id, delivery_id, app or get_app())
    # one line per job, with the id of the request that queued it (saas.logs)
    log.info("delivery %s: %s", delivery_id, outcome, extra={"tenant_id": tenant_id, "outcome": outcome})
    return outcome


def _deliver(tenant_id: int, delivery_id: int, app: Flask) -> str:
    from tenants.models import Tenant

    with app_context(app):
        session = db.session()
        with db.tenant_context(tenant_id):
            query = sa.select(Delivery).where(Delivery.id == delivery_id)
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            row = session.scalars(query).first()
            if row is None or row.status in FINAL:
                session.rollback()
                return "skipped"
            tenant = session.get(Tenant, tenant_id)
            if tenant is None or not tenant.active:
                # a district suspended after the row was queued: it waits in the outbox until reactivated
                row.status, row.queued_at = "pending", None
                session.commit()
                return "suspended"
            now = utcnow()
            outcome = _attempt(session, row, tenant, now)
            session.commit()
            return outcome


def _attempt(session: Any, row: Delivery, tenant: Any, now: dt.datetime) -> str:
    if row.module is not None and row.module not in enabled_keys(session):
        row.status = "dropped"
        return "dropped"
    wait = None if row.urgent else quiet_until(tenant, now)
    if wait is not None:
        row.status, row.next_attempt_at = "pending", wait
        return "deferred"
    config = session.scalars(sa.select(ChannelConfig).where(ChannelConfig.channel == row.channel)).first()
    platform = platform_sms() if row.channel == "sms" and (config is None or not config.enabled) else None
    if platform is not None:
        settings, secret = platform["settings"], platform["secret"]
    elif config is None or not config.enabled:
        row.status, row.last_error = "dead", "channel not configured"
        return "dead"
    else:
        settings, secret = config.settings or {}, secrets.decrypt(config.secret_enc)
    if row.channel in ROBOT_CHANNELS:
        recent = session.scalar(sa.select(sa.func.count()).select_from(Delivery).where(
            Delivery.channel == row.channel, Delivery.status == "sent",
            Delivery.sent_at > now - dt.timedelta(minutes=1)))
        if (recent or 0) >= ROBOT_PER_MINUTE:
            row.status, row.next_attempt_at = "pending", now + dt.timedelta(minutes=1)
            return "throttled"
    try:
        message = row.outgoing()
    except SecretGone:
        # its secret was wiped when it ended (a dead phone code retried by hand): a new code must be asked for
        row.status, row.last_error = "dead", "secret wiped: ask for a new one"
        return "dead"
    try:
        channels.send(row.channel, settings, secret, message)
    except channels.ChannelError as err:
        row.attempts += 1
        error = message.scrub(str(err))  # a gateway may echo the text it was given
        row.last_error = error[:500]
        if row.attempts >= MAX_ATTEMPTS or err.permanent:  # permanent: an address the server may not reach
            row.status = "dead"  # which wipes its secret (saas.notify)
            log.warning("delivery %s dead after %s tries: %s", row.id, row.attempts, error)
            return "dead"
        row.status = "pending"
        row.next_attempt_at = now + BACKOFF[min(row.attempts, len(BACKOFF)) - 1]
        return "retry"
    row.attempts += 1
    row.status, row.sent_at, row.last_error = "sent", now, None
    return "sent"
