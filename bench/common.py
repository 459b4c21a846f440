"""What the bench scripts share: database URLs, the output folder, the guard on the database name, machine facts."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(os.environ.get("BENCH_OUT", ROOT / "bench" / "out"))
STATE = OUT / "seed.json"

OWNER_URL = os.environ.get("BENCH_OWNER_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/wgt_bench")
APP_ROLE = os.environ.get("BENCH_APP_ROLE", "wgt_app")
# the database the other developers' tests use: the bench never touches it
FORBIDDEN_DATABASES = {"test", "postgres", "template0", "template1"}
BENCH_PASSWORD = "wgt-bench-2026"  # noqa: S105 - a throwaway account in a throwaway database on loopback
SECRET_KEY = "bench-only-secret-key"  # noqa: S105 - the same reason
LOOPBACK = "127.0.0.1"


def checked_owner_url(url: str = OWNER_URL) -> sa.URL:
    """The owner's URL, refused unless it points at a dedicated database on the loopback interface."""
    parsed = sa.make_url(url)
    if parsed.database in FORBIDDEN_DATABASES or not parsed.database:
        raise SystemExit(f"refusing to use database {parsed.database!r}: give the bench a database of its own")
    if parsed.host not in (LOOPBACK, "localhost"):
        raise SystemExit(f"refusing host {parsed.host!r}: the bench talks to 127.0.0.1 only")
    return parsed


def app_url(owner: sa.URL, role: str = APP_ROLE) -> str:
    """The same database as the application's role (no owner, no BYPASSRLS)."""
    return owner.set(username=role, password=None).render_as_string(hide_password=False)


def libpq_url(url: sa.URL) -> str:
    """A SQLAlchemy URL as psycopg's own connection string."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def app_config(owner: sa.URL, **extra: Any) -> dict[str, Any]:
    return {
        "DATABASE_URL": app_url(owner),
        "MIGRATE_DATABASE_URL": owner.render_as_string(hide_password=False),
        "DATABASE_APP_ROLE": APP_ROLE,
        "REDIS_URL": None,
        "SECRET_KEY": SECRET_KEY,
        **extra,
    }


def machine_facts() -> dict[str, Any]:
    facts: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }
    try:
        meminfo = Path("/proc/meminfo").read_text()
        kb = int(next(line.split()[1] for line in meminfo.splitlines() if line.startswith("MemTotal:")))
        facts["memory_gib"] = round(kb / 1024 / 1024, 1)
    except (OSError, StopIteration, ValueError):
        pass
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        facts["cpu"] = next(line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                            if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    with contextlib.suppress(OSError, IndexError, subprocess.SubprocessError):
        facts["wrk"] = subprocess.run(["wrk", "--version"], capture_output=True, text=True, timeout=5,
                                      check=False).stdout.splitlines()[0].strip()
    return facts
