"""Periodic jobs on RQ: one cron entry per module job fans out into one job per district with the module on."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

import redis
import sqlalchemy as sa

from saas import db, jobs, logs
from saas.modules import enabled_keys
from workers import queues
from workers.app import app_context, get_app

log = logging.getLogger("workers.periodic")


def fan_out(module_key: str, job_name: str) -> list[int]:
    """Queue the job once for each district that has the module on (each job asks the switch again)."""
    from tenants.models import Tenant

    app = get_app()
    targets = []
    with app_context(app):
        session = db.session()
        for tenant_id in list(session.scalars(sa.select(Tenant.id).where(Tenant.active.is_(True)))):
            with db.tenant_context(tenant_id):
                if module_key in enabled_keys(session):
                    targets.append(tenant_id)
            session.rollback()
    q = queues.queue(app, queues.PERIODIC)
    for tenant_id in targets:
        if q is None:
            run_one(module_key, job_name, tenant_id)
        else:
            try:
                q.enqueue(run_one, module_key, job_name, tenant_id, meta=logs.job_meta(tenant_id=tenant_id),
                          job_timeout=600)
            except redis.RedisError:
                log.exception("could not queue %s.%s for tenant %s", module_key, job_name, tenant_id)
                raise
    return targets


def run_one(module_key: str, job_name: str, tenant_id: int) -> bool:
    return jobs.run_for_tenant(get_app(), module_key, job_name, tenant_id)


class InProcessScheduler:
    """The embedded default's stand-in for `rq cron`: relays the outbox and runs the modules' periodic jobs
    on their schedules in a thread of the one process (`flask --app wsgi demo run`)."""

    def __init__(self, app: Any, relay_every: float = 5.0):
        self.app = app
        self.relay_every = relay_every
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="wgt-scheduler", daemon=True)
        from croniter import croniter

        from saas.jobs import periodic_jobs

        now = dt.datetime.now(dt.UTC)
        self.crons = {(spec.key, job.name): job.cron for spec, job in periodic_jobs(app)}
        self.due = {key: croniter(cron, now).get_next(dt.datetime) for key, cron in self.crons.items()}

    def start(self) -> InProcessScheduler:
        self.thread.start()
        return self

    def _loop(self) -> None:
        from croniter import croniter

        from saas.jobs import run_periodic
        from workers.delivery import relay_all

        while not self.stop.wait(self.relay_every):
            try:
                relay_all(self.app)
            except Exception:
                log.exception("in-process relay failed")
            now = dt.datetime.now(dt.UTC)
            for key, when in list(self.due.items()):
                if when <= now:
                    run_periodic(self.app, *key)
                    self.due[key] = croniter(self.crons[key], now).get_next(dt.datetime)


def beat() -> None:
    """The cron scheduler's heartbeat, for /readyz (saas.health): it proves the scheduler and a worker run."""
    from saas import health
    from workers.app import get_app

    health.record_beat(redis.Redis.from_url(get_app().config["REDIS_URL"]))
