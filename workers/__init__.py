"""RQ workers: queues, the outbox relay, delivery jobs, periodic jobs and the cron registry.

Production runs, beside gunicorn:
    rq worker -w rq.worker.SimpleWorker --url $REDIS_URL notify-urgent notify periodic
    rq cron workers.cron --url $REDIS_URL
With no REDIS_URL (the embedded default) the same functions run in-process.
"""
