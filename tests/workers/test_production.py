"""The production topology started exactly as the README's Production section says, so its commands cannot rot:
`gunicorn -c gunicorn.conf.py wsgi:app`, `rq worker -w rq.worker.SimpleWorker --url $REDIS_URL notify-urgent
notify periodic` and `rq cron workers.cron --url $REDIS_URL`, on PostgreSQL as the app role and a Redis of the
test's own. A resident signs in by phone code through it: the code goes out through the outbox, relayed by the
cron, delivered by the worker to the SMS gateway (a local receiver), and the resident types it in."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from saas import notice_settings
from tests.plugin import Factory
from tests.workers.conftest import ROOT, admit_local_receivers, free_port, worker_env

pytestmark = pytest.mark.one_backend

BIN = Path(sys.executable).parent
PHONE = "13912340077"
README = (ROOT / "README.md").read_text()


def wait_until(check, seconds: float = 60, every: float = 0.2):
    """Poll a process from outside (there is no event to wait on across processes), up to a deadline."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            found = check()
        except requests.RequestException:  # not listening yet, or still starting its workers
            found = None
        if found or time.monotonic() > deadline:
            return found
        time.sleep(every)


def stop(proc: subprocess.Popen[bytes]) -> str:
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    return out.decode(errors="replace")


def test_the_documented_topology_signs_a_resident_in_by_phone_code(pg_app, redis_server, receiver, tmp_path):
    # the commands are the README's, word for word
    assert "gunicorn -c gunicorn.conf.py wsgi:app" in README
    assert "rq worker -w rq.worker.SimpleWorker --url $REDIS_URL notify-urgent notify periodic" in README
    assert "rq cron workers.cron --url $REDIS_URL" in README

    app = pg_app
    app.config["REDIS_URL"] = redis_server.url
    admit_local_receivers(app)
    factory = Factory(app)
    tenant = factory.tenant("alpha", "甲区")
    with factory.as_tenant(tenant) as s:
        notice_settings.save_channel(s, None, "sms", {"url": receiver.url + "/sms"}, True)
        s.commit()

    port = free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_stale.db").write_bytes(b"left from the last run")
    env = {**worker_env(app, redis_server.url), "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2",
           "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "METRICS_TOKEN": "scrape-token-0123456789"}
    url = redis_server.url

    def start(*args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.PIPE,  # noqa: S603
                                stderr=subprocess.STDOUT)

    web = start(str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app")
    worker = start(str(BIN / "rq"), "worker", "-w", "rq.worker.SimpleWorker", "--url", url,
                   "notify-urgent", "notify", "periodic")
    cron = start(str(BIN / "rq"), "cron", "workers.cron", "--url", url)
    base = f"http://127.0.0.1:{port}"
    outputs: dict[str, str] = {}
    try:
        assert wait_until(lambda: requests.get(f"{base}/healthz", timeout=5).ok), "gunicorn did not answer"
        assert not (metrics_dir / "counter_stale.db").exists()  # emptied as gunicorn started
        ready = wait_until(lambda: requests.get(f"{base}/readyz", timeout=5).ok)
        assert ready, requests.get(f"{base}/readyz", timeout=5).json()  # database, migrations, redis, worker, cron

        browser = requests.Session()
        page = browser.get(f"{base}/t/alpha/citizen", timeout=10)
        assert page.status_code == 200
        assert page.headers["X-Request-ID"]
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        asked = browser.post(f"{base}/t/alpha/citizen", data={"csrf_token": token, "phone": PHONE, "next": ""},
                             timeout=10)
        assert asked.status_code == 200
        receiver.wait_for(lambda: len(receiver.delivered) == 1, timeout=60)  # cron relays, the worker sends
        [sms] = receiver.delivered.values()
        code = re.search(r"(?<!\d)(\d{6})(?!\d)", sms["body"]["text"]).group(1)
        token = re.search(r'name="csrf_token" value="([^"]+)"', asked.text).group(1)
        signed = browser.post(f"{base}/t/alpha/citizen/verify", allow_redirects=False, timeout=10,
                              data={"csrf_token": token, "phone": PHONE, "code": code, "next": ""})
        assert signed.status_code == 302, signed.text[-500:]
        home = browser.get(f"{base}/t/alpha/", timeout=10)
        assert home.status_code == 200
        assert "退出登录" in home.text  # signed in, as a resident

        metrics = requests.get(f"{base}/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"},
                               timeout=10)
        assert metrics.status_code == 200
        assert 'wgt_outbox_dead_letters{tenant="alpha"} 0.0' in metrics.text
    finally:
        outputs = {"web": stop(web), "worker": stop(worker), "cron": stop(cron)}
    assert code not in outputs["web"] + outputs["worker"] + outputs["cron"], "a phone code reached a log"
    assert PHONE not in outputs["web"] + outputs["worker"], "a phone number reached a log"
