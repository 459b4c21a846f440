"""Periodic jobs declared in module manifests, run once per tenant that has the module on.

The schedule (RQ's cron scheduler) and the queues come from `workers/`; this is the one place that
decides which tenants a job runs for, and it asks the switch again at run time, so a module switched
off after the job was queued does nothing for that tenant.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask

from saas import db
from saas.modules import ModuleSpec, PeriodicJob, enabled_keys

log = logging.getLogger("saas.jobs")


def periodic_jobs(app: Flask) -> list[tuple[ModuleSpec, PeriodicJob]]:
    return [(spec, job) for spec in app.extensions["saas.modules"] for job in spec.jobs]


def resolve(path: str) -> Callable[..., Any]:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def find_job(app: Flask, module_key: str, job_name: str) -> PeriodicJob:
    for spec, job in periodic_jobs(app):
        if spec.key == module_key and job.name == job_name:
            return job
    raise LookupError(f"no periodic job {module_key}.{job_name}")


# each periodic job's runs and last success, for the operator's metrics (saas.metrics): in Redis, which every
# worker shares, or in this process when there is none (the embedded default runs its jobs in the web process)
RUNS_KEY = "wgt:jobs:runs"
LAST_SUCCESS_KEY = "wgt:jobs:last_success"
OUTCOMES = ("ok", "skipped", "failed")
_local_runs: dict[str, int] = {}
_local_success: dict[str, float] = {}


def record_run(app: Flask, name: str, outcome: str) -> None:
    """Count one run of a periodic job (`module.job`, `outbox.relay`); never fails the job it records."""
    import time

    from workers import queues

    now = time.time()
    conn = queues.connection(app)
    if conn is None:
        _local_runs[f"{name}|{outcome}"] = _local_runs.get(f"{name}|{outcome}", 0) + 1
        if outcome == "ok":
            _local_success[name] = now
        return
    try:
        with conn.pipeline() as pipe:
            pipe.hincrby(RUNS_KEY, f"{name}|{outcome}", 1)
            if outcome == "ok":
                pipe.hset(LAST_SUCCESS_KEY, name, repr(now))
            pipe.execute()
    except Exception:
        log.warning("could not record a run of %s", name, exc_info=True)


def recorded_runs(app: Flask) -> tuple[dict[tuple[str, str], int], dict[str, float]]:
    """Runs by (job, outcome) and the time of each job's last success (seconds since the epoch)."""
    from workers import queues

    conn = queues.connection(app)
    if conn is None:
        runs, success = dict(_local_runs), dict(_local_success)
    else:
        runs = {k.decode(): int(v) for k, v in conn.hgetall(RUNS_KEY).items()}
        success = {k.decode(): float(v) for k, v in conn.hgetall(LAST_SUCCESS_KEY).items()}
    return {tuple(k.rsplit("|", 1)): v for k, v in runs.items()}, success  # type: ignore[misc]


def run_for_tenant(app: Flask, module_key: str, job_name: str, tenant_id: int) -> bool:
    """Run one job for one tenant if the module is (still) on there; True when it ran."""
    name = f"{module_key}.{job_name}"
    try:
        ran = _run_for_tenant(app, module_key, job_name, tenant_id)
    except Exception:
        record_run(app, name, "failed")
        raise
    record_run(app, name, "ok" if ran else "skipped")
    return ran


def _run_for_tenant(app: Flask, module_key: str, job_name: str, tenant_id: int) -> bool:
    from workers.app import app_context

    job = find_job(app, module_key, job_name)
    with app_context(app):
        session = db.session()
        from tenants.models import Tenant

        with db.tenant_context(tenant_id):
            tenant = session.get(Tenant, tenant_id)
            # asked again when the job runs: the district may have been suspended since it was queued
            if tenant is None or not tenant.active or module_key not in enabled_keys(session):
                session.rollback()
                return False
            resolve(job.func)(tenant_id)
            session.commit()
    return True


def run_periodic(app: Flask, module_key: str, job_name: str) -> list[str]:
    """Run a module's periodic job for every active tenant with the module on; returns their slugs."""
    from tenants.models import Tenant

    with app.app_context():
        tenants = db.session.execute(sa.select(Tenant.id, Tenant.slug).where(Tenant.active.is_(True))).all()
    ran = []
    for tenant_id, slug in tenants:
        try:
            if run_for_tenant(app, module_key, job_name, tenant_id):
                ran.append(slug)
        except Exception:
            # one district's failure must not keep the job from the others
            log.exception("periodic job %s.%s failed for %s", module_key, job_name, slug)
    return ran
