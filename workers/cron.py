"""RQ's cron scheduler configuration: `rq cron workers.cron --url $REDIS_URL`.

The outbox relay runs every few seconds; every periodic job that a module declares in its manifest
runs on its own schedule, fanned out per district by `workers.periodic.fan_out`.
"""

from __future__ import annotations

from rq import cron

from saas import health
from workers import queues
from workers.app import get_app
from workers.delivery import relay_all
from workers.periodic import beat, fan_out

RELAY_INTERVAL_SECONDS = 5


def register_all() -> int:
    from saas.jobs import periodic_jobs

    cron.register(relay_all, queues.URGENT, interval=RELAY_INTERVAL_SECONDS, job_timeout=120, name="outbox.relay")
    cron.register(beat, queues.URGENT, interval=health.HEARTBEAT_SECONDS, job_timeout=30, name="health.beat")
    count = 2
    for spec, job in periodic_jobs(get_app()):
        cron.register(fan_out, queues.PERIODIC, args=(spec.key, job.name), cron=job.cron, job_timeout=300,
                      name=f"{spec.key}.{job.name}")
        count += 1
    return count


register_all()
