"""Fixtures for the notification layer: a local receiver, a Redis of our own to stop and start, RQ workers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from saas import config, notice_settings
from tests.workers.receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


# The receivers listen on loopback, which the kernel's judge of outbound addresses (`saas.outbound`) refuses:
# the tests admit it the way an operator admits an intranet gateway, in the app's configuration
LOCAL_RECEIVERS = "127.0.0.1"


def admit_local_receivers(app: Any) -> None:
    app.config["OUTBOUND_ALLOW"] = LOCAL_RECEIVERS


@pytest.fixture
def channel(factory: Any) -> Any:
    def configure(tenant: Any, name: str, url: str, secret: str = "", **extra: Any) -> None:
        admit_local_receivers(factory.app)
        with factory.as_tenant(tenant) as s:
            notice_settings.save_channel(s, None, name, {"url": url, "secret": secret, **extra}, True)
            s.commit()

    return configure


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server of the test's own, so stopping it disturbs nobody else."""

    def __init__(self, tmp: Path):
        self.port = free_port()
        self.tmp = tmp
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.proc = subprocess.Popen(  # noqa: S603
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                client.close()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def worker_env(app: Any, redis_url: str) -> dict[str, str]:
    """The environment a real `rq worker` process needs to build the same app as the test."""
    return {
        **os.environ,
        "DATABASE_URL": app.config["DATABASE_URL"],
        "MIGRATE_DATABASE_URL": app.config["MIGRATE_DATABASE_URL"],
        "REDIS_URL": redis_url,
        "SECRET_KEY": app.config["SECRET_KEY"],
        "OUTBOUND_ALLOW": app.config.get("OUTBOUND_ALLOW") or "",
        "WGT_INSTANCE": str(config.INSTANCE),  # the test process's own (one per xdist worker)
        "PYTHONPATH": str(ROOT),
    }


def start_worker(app: Any, redis_url: str, *, burst: bool = True) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "rq.cli", "worker", "-w", "rq.worker.SimpleWorker", "--url", redis_url,
            "notify-urgent", "notify", "periodic"]
    if burst:
        args.append("--burst")
    return subprocess.Popen(args, env=worker_env(app, redis_url), cwd=ROOT,  # noqa: S603
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
