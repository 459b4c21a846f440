"""Liveness and readiness as an operator's probes see them: /healthz touches nothing, /readyz names what is
missing (a stopped RQ worker, a silent cron scheduler, migrations not run), and the CLI says what to run on an
empty database instead of a traceback."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa

from saas import create_app, health, migrate
from tests.workers.conftest import ROOT, start_worker

pytestmark = pytest.mark.one_backend


def checks_until(client: Any, name: str, wanted: str, seconds: float = 30) -> dict[str, str]:
    """The readiness answer once check `name` says `wanted` (a worker takes a moment to register or leave)."""
    deadline = time.monotonic() + seconds
    while True:
        answer = client.get("/readyz").json["checks"]
        if answer[name] == wanted or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def stop(worker: subprocess.Popen[bytes]) -> None:
    """Stop an `rq worker` as an operator's Ctrl-C does: a first signal asks it to finish (it may be waiting on
    the queue), a second stops it at once; either way it leaves RQ's registry."""
    worker.send_signal(signal.SIGINT)
    try:
        worker.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        worker.send_signal(signal.SIGINT)
        worker.communicate(timeout=60)


def test_readiness_names_a_stopped_worker_and_a_silent_scheduler(app, client, redis_server):
    app.config["REDIS_URL"] = redis_server.url
    conn = redis.Redis.from_url(redis_server.url)
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json["checks"] == {
        "database": "ok", "migrations": "ok", "redis": "ok",
        "worker": "error: no RQ worker is running; start `rq worker`",
        "scheduler": "error: the cron scheduler has never run; start `rq cron workers.cron`"}

    worker = start_worker(app, redis_server.url, burst=False)  # a real `rq worker` process
    try:
        assert checks_until(client, "worker", "ok")["worker"] == "ok"
        from workers.periodic import beat

        with app.app_context():
            beat()  # what the cron scheduler runs every HEARTBEAT_SECONDS
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.json
        assert set(ready.json["checks"].values()) == {"ok"}
    finally:
        stop(worker)
    stopped = checks_until(client, "worker", "error: no RQ worker is running; start `rq worker`")
    assert stopped["worker"] == "error: no RQ worker is running; start `rq worker`"
    assert client.get("/readyz").status_code == 503

    # a scheduler that stopped five minutes ago is named with how long it has been silent
    health.record_beat(conn, dt.datetime.now(dt.UTC) - dt.timedelta(seconds=300))
    scheduler = client.get("/readyz").json["checks"]["scheduler"]
    assert scheduler.startswith("error: the cron scheduler has not run a job for 30")
    assert "rq cron workers.cron" in scheduler


def test_healthz_touches_nothing_and_readyz_names_an_unmigrated_database(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    app = create_app({"DATABASE_URL": url, "MIGRATE_DATABASE_URL": url, "REDIS_URL": None, "TESTING": True})
    client = app.test_client()
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json["checks"]["migrations"] == "error: not migrated; run `flask --app wsgi db upgrade`"
    assert ready.json["checks"]["worker"] == "not configured (jobs run in-process)"

    migrate.upgrade(app)
    assert client.get("/readyz").status_code == 200
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # one branch behind its head: a module's migration not run
        conn.execute(sa.text("DELETE FROM alembic_version WHERE version_num = "
                             "(SELECT max(version_num) FROM alembic_version)"))
        assert migrate.schema_state(app, conn) == "behind"
    engine.dispose()
    assert client.get("/readyz").json["checks"]["migrations"] == (
        "error: migrations pending; run `flask --app wsgi db upgrade`")


def test_the_cli_on_an_empty_database_says_what_to_run_in_chinese(tmp_path: Path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite'}", "PYTHONPATH": str(ROOT)}
    env.pop("MIGRATE_DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "tenants", "list"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert "数据库为空，请先运行 `flask --app wsgi db upgrade`。" in done.stderr
    assert "Traceback" not in done.stderr
    assert "INFO" not in done.stderr + done.stdout, "quiet by default"
    upgraded = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120, check=False)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "数据库已是最新。" in upgraded.stdout
    assert "INFO" not in upgraded.stderr
    listed = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "tenants", "list"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert listed.returncode == 0, listed.stderr
