"""Load figures for the kernel's pages and API, each as a ratio to the bare stack measured in the same run.

    .venv/bin/python -m bench.seed --tenants 100 --big-staff 2000 --big-audit 100000
    .venv/bin/python -m bench.run --duration 10

Starts gunicorn twice on free loopback ports with the same settings: the real app (`wsgi:app` as the app's
role on the bench database) and the bare stack (`bench.bare:app`). wrk, a separate C process, drives the
load. Each endpoint is measured right after a run of the bare stack of the same length (a paired
ceiling), so a machine that gets busier or quieter during the run moves both. Throughput is printed as a
fraction of the ceiling, latency percentiles as multiples of the ceiling's. Every request of every run
must answer as expected (200, or 302 for sign-in), or the run says so. Signing in (argon2id) is
reported apart. SQL statements per request come from bench/sqlcount.py, in the big and a small tenant.

Bounded: each endpoint costs 2 × (warm-up + duration) seconds, the servers are stopped at the end (or
on Ctrl-C), and only 127.0.0.1 is ever contacted. The result also goes to bench/out/run-<time>.json
and bench/out/latest.json.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench import common
from bench.endpoints import Endpoint, by_name
from bench.seed import read_state

HERE = Path(__file__).resolve().parent
LUA = HERE / "report.lua"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((common.LOOPBACK, 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(app: str, port: int, env: dict[str, str], args: argparse.Namespace, log: Path) -> Iterator[str]:
    """A gunicorn serving `app` on 127.0.0.1:port until the block ends; yields its base URL."""
    cmd = [sys.executable, "-m", "gunicorn", "--chdir", str(common.ROOT), "--bind", f"{common.LOOPBACK}:{port}",
           "--workers", str(args.workers), "--worker-class", "gthread", "--threads", str(args.threads),
           "--keep-alive", "5", "--timeout", "60", "--graceful-timeout", "5", "--no-control-socket",
           "--error-logfile", str(log), app]
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=common.ROOT)
    base = f"http://{common.LOOPBACK}:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"{app} exited with {proc.returncode}; see {log}")
            with contextlib.suppress(OSError):
                if request(base, "GET", "/healthz")[0] == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"{app} did not answer /healthz within 60 s; see {log}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def request(base: str, method: str, path: str, body: str | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, http.client.HTTPResponse, str]:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        hdrs = dict(headers or {})
        if body is not None:
            hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
        conn.request(method, path, body=body.encode() if body is not None else None, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, resp, resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


def session_cookie(resp: http.client.HTTPResponse) -> str | None:
    for header in resp.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        if name.strip() == "session":
            return "session=" + rest.split(";", 1)[0]
    return None


def login_form(base: str, slug: str, state: dict[str, Any]) -> tuple[str, str]:
    """A signed-out session cookie and the sign-in form's body with its CSRF token (valid for every POST)."""
    status, resp, html = request(base, "GET", f"/t/{slug}/login")
    cookie = session_cookie(resp)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    if status != 200 or cookie is None or match is None:
        raise SystemExit(f"GET /t/{slug}/login gave {status} without a session cookie or CSRF token")
    body = urlencode({"csrf_token": match.group(1), "login": state["login"], "password": state["password"]})
    return cookie, body


def sign_in(base: str, slug: str, state: dict[str, Any]) -> str:
    cookie, body = login_form(base, slug, state)
    status, resp, _ = request(base, "POST", f"/t/{slug}/login", body, {"Cookie": cookie})
    signed = session_cookie(resp)
    if status != 302 or signed is None or "/login" in (resp.getheader("Location") or ""):
        raise SystemExit(f"signing in to {slug} failed ({status})")
    return signed


def plan_request(ep: Endpoint, tenant: dict[str, Any], cookie: str, login: tuple[str, str]) -> dict[str, Any]:
    path = ep.url_path(tenant)
    if ep.kind == "page":
        return {"path": path, "headers": {"Cookie": cookie}}
    if ep.kind == "api" and ep.body:
        return {"path": path, "method": ep.method, "body": ep.json_body(tenant),
                "headers": {"Authorization": f"Bearer {tenant['token']}", "Content-Type": "application/json"}}
    if ep.kind == "api":
        return {"path": path, "headers": {"Authorization": f"Bearer {tenant['token']}"}}
    if ep.kind == "login":
        return {"path": path, "headers": {"Cookie": login[0]}, "method": "POST", "body": login[1]}
    return {"path": path, "headers": {}}


def preflight(base: str, ep: Endpoint, req: dict[str, Any]) -> None:
    status, resp, _ = request(base, req.get("method", "GET"), req["path"], req.get("body"), req["headers"])
    expected = ep.expected
    location = resp.getheader("Location") or ""
    if status != expected or (ep.kind == "login" and "/login" in location):
        raise SystemExit(f"{ep.name}: {req['path']} answered {status} {location}, expected {expected}")


def wrk(url: str, req: dict[str, Any], seconds: int, args: argparse.Namespace) -> dict[str, Any]:
    cmd = ["wrk", "-t", str(args.wrk_threads), "-c", str(args.connections), "-d", f"{seconds}s", "--timeout", "10s",
           "-s", str(LUA)]
    for name, value in req["headers"].items():
        cmd += ["-H", f"{name}: {value}"]
    env = {**os.environ, "BENCH_METHOD": req.get("method", "GET")}
    if req.get("body"):
        env["BENCH_BODY"] = req["body"]
    proc = subprocess.run([*cmd, url + req["path"]], env=env, capture_output=True, text=True,
                          timeout=seconds + 60, check=False)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({proc.returncode}): {proc.stderr or proc.stdout}")
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    lat = raw["latency_us"]
    errors = sum(raw["errors"].values())
    if raw["requests"] == 0:
        # nothing finished inside the window: no percentiles to speak of, and the run says so
        lat = dict.fromkeys(lat, float("nan"))
        errors = max(errors, 1)
    return {
        "requests": raw["requests"],
        "rps": raw["requests"] / (raw["duration_us"] / 1e6),
        "p50_ms": lat["p50"] / 1000, "p90_ms": lat["p90"] / 1000, "p95_ms": lat["p95"] / 1000,
        "p99_ms": lat["p99"] / 1000, "max_ms": lat["max"] / 1000, "mean_ms": lat["mean"] / 1000,
        "errors": errors, "error_kinds": {k: v for k, v in raw["errors"].items() if v},
        "kib_per_request": raw["bytes"] / max(raw["requests"], 1) / 1024,
    }


def measure(url: str, req: dict[str, Any], args: argparse.Namespace, at_least: int = 0) -> dict[str, Any]:
    if args.warmup > 0:
        wrk(url, req, args.warmup, args)
    return wrk(url, req, max(args.duration, at_least), args)


def ratios(result: dict[str, Any], ceiling: dict[str, Any]) -> dict[str, float]:
    if not (ceiling["rps"] and ceiling["p50_ms"] > 0):
        return dict.fromkeys(("throughput", "p50", "p95", "p99"), float("nan"))
    return {
        "throughput": result["rps"] / ceiling["rps"],
        "p50": result["p50_ms"] / ceiling["p50_ms"],
        "p95": result["p95_ms"] / ceiling["p95_ms"],
        "p99": result["p99_ms"] / ceiling["p99_ms"],
    }


def bare_alone_ms(owner: Any, repeat: int = 11) -> float:
    """The bare stack's one request in this process, as `bench.sqlcount` times the app's."""
    from bench import bare

    client = bare.create_app(common.app_url(owner)).test_client()
    client.get("/bare")
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get("/bare")
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def pg_version(owner: Any) -> str:
    import psycopg

    with psycopg.connect(common.libpq_url(owner)) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return row[0] if row else "?"


def argon2_ms(samples: int = 20) -> float:
    """One argon2id check with the app's parameters, in this process: what every sign-in pays at least."""
    from saas.auth import hash_password, hasher

    h = hash_password(common.BENCH_PASSWORD)
    started = time.perf_counter()
    for _ in range(samples):
        hasher.verify(h, common.BENCH_PASSWORD)
    return (time.perf_counter() - started) / samples * 1000


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Several rounds of one endpoint: the median of each figure and of each round's ratio to its own ceiling."""
    keys = ("rps", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms", "mean_ms", "kib_per_request")
    out: dict[str, Any] = {k: statistics.median(r[k] for r in runs) for k in keys}
    out["requests"] = sum(r["requests"] for r in runs)
    out["errors"] = sum(r["errors"] for r in runs)
    out["ratio"] = {k: statistics.median(r["ratio"][k] for r in runs) for k in runs[0]["ratio"]}
    return out


def render_table(results: dict[str, Any], bare: list[dict[str, Any]], sql: dict[str, Any],
                 bare_alone: float | None) -> str:
    head = ("| endpoint | SQL big/small | alone ms | alone × | req/s | × ceiling | p50 ms | p95 ms | p99 ms | p50 × "
            "| p95 × | p99 × | errors |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rps = [b["rps"] for b in bare]
    alone = f"{bare_alone:.1f}" if bare_alone else "?"
    lines = [head, (f"| **bare stack (ceiling)** | 2 | {alone} | 1 | {statistics.median(rps):,.0f} (min "
                    f"{min(rps):,.0f}, max {max(rps):,.0f}) | 1 | {statistics.median(b['p50_ms'] for b in bare):.1f} | "
                    f"{statistics.median(b['p95_ms'] for b in bare):.1f} | "
                    f"{statistics.median(b['p99_ms'] for b in bare):.1f} | 1 | 1 | 1 | "
                    f"{sum(b['errors'] for b in bare)} |")]
    login_lines = []
    for name, r in results.items():
        s = sql.get(name, {})
        count = f"{s.get('big', '?')}/{s.get('small', '?')}" + (" GROWS" if s.get("grows") else "")
        x = r["ratio"]
        ms = s.get("alone_ms")
        alone = (f"{ms:.1f} | {ms / bare_alone:.1f}" if ms and bare_alone else "? | ?")
        line = (f"| {name} | {count} | {alone} | {r['rps']:,.0f} | {x['throughput']:.2f} | {r['p50_ms']:.1f} | "
                f"{r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {x['p50']:.1f} | {x['p95']:.1f} | {x['p99']:.1f} | "
                f"{r['errors']} |")
        (login_lines if r["kind"] == "login" else lines).append(line)
    out = "\n".join(lines)
    if login_lines:
        out += "\n\nSign-in, apart (argon2id dominates):\n\n" + head + "\n" + "\n".join(login_lines)
    return out


def main(argv: list[str] | None = None) -> None:
    cpus = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds measured per endpoint (and per ceiling)")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of unmeasured load before each measurement")
    parser.add_argument("--workers", type=int, default=cpus, help="gunicorn workers, for both stacks")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn gthread threads per worker, for both stacks")
    parser.add_argument("--connections", type=int, default=0, help="wrk connections (default workers × threads)")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (one keeps the load generator small)")
    parser.add_argument("--rounds", type=int, default=1, help="measure every endpoint this many times, in turn, "
                        "and report medians (steadier on a busy machine)")
    parser.add_argument("--endpoints", nargs="*", help="only these endpoints (default: all)")
    parser.add_argument("--no-sql", action="store_true", help="skip the SQL statement counts")
    args = parser.parse_args(argv)
    args.connections = args.connections or args.workers * args.threads
    if not (0 < args.duration <= 120 and 0 <= args.warmup <= 30 and 1 <= args.rounds <= 5):
        parser.error("--duration must be in (0, 120], --warmup in [0, 30], --rounds in [1, 5]")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    state = read_state()
    if state is None:
        raise SystemExit("no bench/out/seed.json: run `.venv/bin/python -m bench.seed` first")
    owner = common.checked_owner_url()
    if state.get("database") != owner.database:
        raise SystemExit(f"bench/out/seed.json describes {state.get('database')}, not {owner.database}: seed again")
    endpoints = by_name(args.endpoints)
    budget = args.rounds * sum(2 * (args.warmup + max(args.duration, ep.seconds)) for ep in endpoints)
    print(f"{len(endpoints)} endpoints, about {budget / 60:.1f} minutes of load "
          f"({args.workers} workers × {args.threads} threads, {args.connections} connections)", flush=True)

    from bench import bare

    common.OUT.mkdir(parents=True, exist_ok=True)
    bare.prepare(owner)
    sql = {} if args.no_sql else count_sql(endpoints, state)
    bare_alone = None if args.no_sql else bare_alone_ms(owner)  # timed beside the app's, before the load
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    base_env = {k: v for k, v in os.environ.items()
                if k not in ("REDIS_URL", "DATABASE_URL", "MIGRATE_DATABASE_URL", "SEED_DEMO")}
    app_env = {**base_env, **{
        "DATABASE_URL": common.app_url(owner),
        "MIGRATE_DATABASE_URL": owner.render_as_string(hide_password=False),
        "SECRET_KEY": common.SECRET_KEY,
        "LOGIN_RATE_LIMIT": "1000000 per minute",
        "LOGIN_ADDRESS_RATE_LIMIT": "1000000 per minute",
        "WGT_INSTANCE": str(common.OUT / "instance"),
    }}
    bare_env = {**base_env, "BENCH_BARE_URL": common.app_url(owner)}
    load_before = os.getloadavg()
    results: dict[str, Any] = {}
    ceilings: list[dict[str, Any]] = []
    started = time.monotonic()
    with (gunicorn("wsgi:app", free_port(), app_env, args, common.OUT / f"gunicorn-app-{stamp}.log") as app_url,
          gunicorn("bench.bare:app", free_port(), bare_env, args, common.OUT / f"gunicorn-bare-{stamp}.log")
          as bare_url):
        big = state["tenants"]["big"]
        cookie = sign_in(app_url, big["slug"], state)
        login = login_form(app_url, big["slug"], state)
        bare_req = {"path": "/bare", "headers": {}}
        preflight(bare_url, Endpoint("bare", "anon", "/bare"), bare_req)
        reqs = {ep.name: plan_request(ep, big, cookie, login) for ep in endpoints}
        for ep in endpoints:
            preflight(app_url, ep, reqs[ep.name])
        rounds: dict[str, list[dict[str, Any]]] = {ep.name: [] for ep in endpoints}
        for r in range(args.rounds):
            if args.rounds > 1:
                print(f" round {r + 1} of {args.rounds}", flush=True)
            for ep in endpoints:
                ceiling = measure(bare_url, bare_req, args, ep.seconds)
                result = measure(app_url, reqs[ep.name], args, ep.seconds)
                ceilings.append(ceiling)
                rounds[ep.name].append({**result, "ceiling": ceiling, "ratio": ratios(result, ceiling)})
                print(f"  {ep.name:<18} {result['rps']:>8,.0f} req/s  p50 {result['p50_ms']:6.1f} ms   "
                      f"ceiling {ceiling['rps']:>8,.0f} req/s  p50 {ceiling['p50_ms']:5.1f} ms"
                      + (f"   {result['errors']} ERRORS {result['error_kinds']}" if result["errors"] else ""),
                      flush=True)
        for ep in endpoints:
            results[ep.name] = {**combine(rounds[ep.name]), "kind": ep.kind, "path": reqs[ep.name]["path"],
                                "note": ep.note, "rounds": rounds[ep.name]}
    elapsed = time.monotonic() - started
    argon2 = argon2_ms()
    table = render_table(results, ceilings, sql, bare_alone)
    print()
    print(table)
    print(f"\nargon2id check alone (app parameters, in-process): {argon2:.1f} ms")
    load_after = os.getloadavg()
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} on {os.cpu_count()} CPUs; "
          f"{elapsed / 60:.1f} minutes of load")
    errors = sum(r["errors"] for r in results.values()) + sum(c["errors"] for c in ceilings)
    grows = [name for name, s in sql.items() if s.get("grows")]
    if errors:
        print(f"WARNING: {errors} requests failed (see errors column); the figures above are not valid")
    if grows:
        print(f"WARNING: SQL statements grow with the rows shown on: {', '.join(grows)}")
    record = {
        "when": stamp,
        "command": "python -m bench.run " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": {**common.machine_facts(), "postgresql": pg_version(owner)},
        "load_average": {"before": load_before, "after": load_after},
        "settings": {k: getattr(args, k) for k in ("duration", "warmup", "rounds", "workers", "threads",
                                                   "connections", "wrk_threads")},
        "seed": {k: state[k] for k in ("database", "plan", "rows", "seconds", "notes")},
        "argon2_ms": argon2,
        "bare_alone_ms": bare_alone,
        "ceiling_runs": ceilings,
        "endpoints": results,
        "sql": sql,
        "table": table,
    }
    text = json.dumps(_no_nan(record), ensure_ascii=False, indent=2)
    (common.OUT / f"run-{stamp}.json").write_text(text)
    (common.OUT / "latest.json").write_text(text)
    print(f"wrote {common.OUT / f'run-{stamp}.json'}")
    if errors:
        raise SystemExit(1)


def _no_nan(value: Any) -> Any:
    """JSON has no NaN: a figure that does not exist is null."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nan(v) for v in value]
    return value


def count_sql(endpoints: list[Endpoint], state: dict[str, Any]) -> dict[str, Any]:
    from bench import sqlcount

    return sqlcount.count_all(endpoints, state)


if __name__ == "__main__":
    main()
