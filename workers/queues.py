"""Queue names and the Redis connection; with no REDIS_URL there is no queue and jobs run in-process."""

from __future__ import annotations

import functools

import redis
from flask import Flask
from rq import Queue

URGENT = "notify-urgent"  # phone codes, emergencies: listed first by every worker
NOTIFY = "notify"
PERIODIC = "periodic"
ALL = (URGENT, NOTIFY, PERIODIC)


@functools.lru_cache(maxsize=8)
def _connection(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30)


def connection(app: Flask) -> redis.Redis | None:
    url = app.config.get("REDIS_URL")
    return _connection(url) if url else None


def queue(app: Flask, name: str) -> Queue | None:
    conn = connection(app)
    return Queue(name, connection=conn) if conn is not None else None
