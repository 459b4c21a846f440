"""The real app in its own process, and the one Playwright set-up shared by the journeys and the screenshots.

`live_server()` runs what an operator runs: `flask db upgrade` and `flask demo seed` on a fresh database,
then gunicorn with two workers, and waits for `/healthz`. The browser is Debian's chromium (Playwright's
own download is not available on these machines).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
CHROMIUM = os.environ.get("WGT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DEVICES: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True,
              "device_scale_factor": 2},
}
# the demo account that holds each role (tenants/demo.py)
DEMO_ACCOUNTS = {
    "district_admin": "admin",
    "grid_worker": "gw1",
    "street_officer": "street1",
    "dept_handler": "dept-water-handler",
    # in 万柏林区 only: 晋祠路社区's first cadre and the leader of its first grid (gw1's grid there)
    "community_cadre": "cadre1",
    "grid_leader": "leader1",
}


def launch_chromium(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as resp:  # noqa: S310 - our own server
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url}/healthz did not answer in {timeout:.0f}s:\n{log.read_text()[-3000:]}")


def server_env(workdir: Path, database_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "MIGRATE_DATABASE_URL")}
    env.update(
        DATABASE_URL=database_url or f"sqlite:///{workdir / 'wanggetong.sqlite'}",
        WGT_INSTANCE=str(workdir),
        SECRET_KEY="browser-tests-" + os.urandom(8).hex(),
        # journeys sign in many times from one address; the limit itself is tested elsewhere
        LOGIN_RATE_LIMIT="1000 per minute",
        PHONE_CODE_RATE_LIMIT="1000 per minute",
        PYTHONUNBUFFERED="1",
    )
    return env


@dataclass(frozen=True)
class LiveServer:
    url: str
    env: dict[str, str]
    log: Path

    def flask(self, *args: str) -> str:
        """Run an operator command (`flask --app wsgi ...`) against the served database."""
        done = subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=self.env,  # noqa: S603
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout


@contextlib.contextmanager
def live_server(workdir: Path, database_url: str | None = None) -> Iterator[LiveServer]:
    """Migrate and seed a fresh database, serve it with gunicorn, yield the server, stop it."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = server_env(workdir, database_url)
    log = workdir / "server.log"
    for args in (["db", "upgrade"], ["demo", "seed"]):
        with log.open("ab") as out:
            done = subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env,  # noqa: S603
                                  stdout=out, stderr=subprocess.STDOUT, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed ({log}):\n{log.read_text()[-3000:]}")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        proc = subprocess.Popen(  # noqa: S603
            [str(VENV_BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "--no-control-socket",
             "--access-logfile", "-", "wsgi:app"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        _wait_healthy(url, proc, log)
        yield LiveServer(url, env, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
