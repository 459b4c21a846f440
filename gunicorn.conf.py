"""gunicorn's configuration for production: `gunicorn -c gunicorn.conf.py wsgi:app` (the README's Production).

Settings come from the environment so that one file serves every deployment: `GUNICORN_BIND` (0.0.0.0:8000),
`WEB_CONCURRENCY` (workers; twice the cores plus one), `GUNICORN_TIMEOUT` (30 s). With
`PROMETHEUS_MULTIPROC_DIR` set, the folder is emptied as gunicorn starts and a worker's figures are dropped when
it exits, as prometheus_client's multiprocess mode asks (the README's Metrics).
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
from pathlib import Path
from typing import Any

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
# the app writes its own line per request (saas/logs.py), with the request id; gunicorn's would repeat it
accesslog = None
errorlog = "-"
control_socket_disable = True  # gunicorn 25's control socket: nothing here uses it
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server: Any) -> None:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
