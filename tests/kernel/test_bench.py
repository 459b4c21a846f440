"""The bench's own tools work: a small seed through the real COPY path, then every endpoint once in-process.

The load figures themselves are never asserted (docs/performance.md); this only keeps `bench.seed` and
`bench.sqlcount` from rotting while the models move under them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.plugin import PG_BASE_OWNER_URL, worker_database_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bench_env(tmp_path):
    # a database of this run's own (the person's and the worker's name, and the process), dropped afterwards,
    # so two people or two workers never seed over each other
    owner = worker_database_url(PG_BASE_OWNER_URL, f"bench{os.getpid()}")
    yield {**os.environ, "BENCH_OWNER_URL": owner, "BENCH_OUT": str(tmp_path)}
    name = sa.make_url(owner).database
    engine = sa.create_engine(sa.make_url(owner).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


def _run(env, *args):
    proc = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True,  # noqa: S603
                          text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def test_the_bench_seeds_a_plan_and_every_endpoint_answers_with_the_same_statements(bench_env, tmp_path):
    # the small districts get enough recent cases for one grid's open list to have rows, as the big one has
    _run(bench_env, "bench.seed", "--tenants", "3", "--big-staff", "60", "--big-grids", "12", "--big-audit", "300",
         "--big-cases", "3000", "--small-cases", "400", "--small-staff", "6", "--reset")
    state = json.loads((tmp_path / "seed.json").read_text())
    assert state["rows"]["grid_cases_cases"] == 3000 + 2 * 400
    assert state["rows"]["grid_cases_events"] == 3000 + 2 * 400
    # the case counters continue where the seeded numbers stop: one row per local day with cases
    assert state["rows"]["grid_cases_counters"] >= 395
    for size in ("big", "small"):
        assert state["tenants"][size]["case_id"]
        assert state["tenants"][size]["case_deep_before"]
    out = _run(bench_env, "bench.sqlcount")
    from bench.endpoints import ENDPOINTS

    assert {line.split()[0] for line in out.splitlines() if line.strip()} >= {ep.name for ep in ENDPOINTS}, out
    assert "GROWS" not in out, out


def test_the_cadre_benches_run_small_in_process_and_over_http(bench_env, tmp_path):
    """bench.cadre and bench.cadre_http on a handful of raters: they set up as the platform and the organiser do,
    every rater's second copy is refused, and nothing answers an error (the figures are docs/performance.md's)."""
    _run(bench_env, "bench.cadre", "--raters", "12", "--targets", "3", "--threads", "2")
    inproc = json.loads((tmp_path / "cadre-latest.json").read_text())
    assert (inproc["ours"]["accepted"], inproc["ours"]["refused"], inproc["duplicates_accepted"]) == (12, 12, 0)
    assert inproc["tally"]["scores"] == 12 * 3 * 5
    _run(bench_env, "bench.cadre_http", "--raters", "8", "--targets", "3", "--clients", "4", "--workers", "1",
         "--threads", "2")
    http = json.loads((tmp_path / "cadre-http-latest.json").read_text())
    assert (http["ours"]["accepted"], http["ours"]["refused"], http["ours"]["errors"]) == (8, 8, 0)
    assert http["duplicates_accepted"] == 0
    assert http["bare"]["errors"] == 0
