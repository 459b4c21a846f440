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


def run_for_tenant(app: Flask, module_key: str, job_name: str, tenant_id: int) -> bool:
    """Run one job for one tenant if the module is (still) on there; True when it ran."""
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
