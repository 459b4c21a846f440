"""SQL statements per page and per API call, in the big tenant and in a small one (in-process, no load).

    .venv/bin/python -m bench.sqlcount [--show NAME]

A page's count must not grow with the number of rows it shows: the big tenant shows 500 staff where a
small one shows 21, yet both pages must cost the same number of statements. Counts are deterministic,
which is why tests/kernel/test_query_counts.py asserts them while the load figures are only printed.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from bench import common
from bench.endpoints import Endpoint, by_name
from bench.seed import read_state
from saas.db import statements


def make_app() -> Flask:
    from saas import create_app

    owner = common.checked_owner_url()
    return create_app(common.app_config(owner, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False))


def _request(client: FlaskClient, ep: Endpoint, tenant: dict[str, Any], state: dict[str, Any]) -> int:
    path = ep.url_path(tenant)
    if ep.kind == "login":
        resp = client.post(path, data={"login": state["login"], "password": state["password"]})
        return resp.status_code
    headers = {"Authorization": f"Bearer {tenant['token']}"} if ep.kind == "api" else {}
    if ep.body:
        return client.open(path, method=ep.method, data=ep.json_body(tenant), headers=headers,
                           content_type="application/json").status_code
    return client.get(path, headers=headers).status_code


def count(app: Flask, ep: Endpoint, tenant: dict[str, Any], state: dict[str, Any]) -> tuple[int, list[str], int]:
    """(statements, their text, status) of one request, after one unmeasured request warmed the caches."""
    client = app.test_client()
    if ep.kind == "page":
        resp = client.post(f"/t/{tenant['slug']}/login", data={"login": state["login"], "password": state["password"]})
        if resp.status_code != 302:
            raise SystemExit(f"sign-in to {tenant['slug']} failed with {resp.status_code}")
    _request(client, ep, tenant, state)
    if ep.kind == "login":
        client = app.test_client()  # signed out again, as every sign-in of the load run is
    with statements() as seen:
        status = _request(client, ep, tenant, state)
    return len(seen), list(seen), status


def alone_ms(app: Flask, ep: Endpoint, tenant: dict[str, Any], state: dict[str, Any], repeat: int = 11) -> float:
    """The median time of one request with nothing else running in this process: service time, no queueing."""
    client = app.test_client()
    if ep.kind == "page":
        client.post(f"/t/{tenant['slug']}/login", data={"login": state["login"], "password": state["password"]})
    _request(client, ep, tenant, state)
    times = []
    for _ in range(repeat):
        if ep.kind == "login":
            client = app.test_client()
        started = time.perf_counter()
        _request(client, ep, tenant, state)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def count_all(endpoints: list[Endpoint], state: dict[str, Any], repeat: int = 11) -> dict[str, dict[str, Any]]:
    app = make_app()
    out: dict[str, dict[str, Any]] = {}
    for ep in endpoints:
        row: dict[str, Any] = {}
        for size in ("big", "small"):
            n, _seen, status = count(app, ep, state["tenants"][size], state)
            if status != ep.expected:
                raise SystemExit(f"{ep.name} in the {size} tenant answered {status}")
            row[size] = n
            row[f"{size}_status"] = status
        row["grows"] = row["big"] > row["small"]
        row["alone_ms"] = alone_ms(app, ep, state["tenants"]["big"], state, repeat)
        out[ep.name] = row
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", nargs="*", help="only these (default: all)")
    parser.add_argument("--show", help="print the statements of this endpoint in the big tenant")
    args = parser.parse_args(argv)
    state = read_state()
    if state is None:
        raise SystemExit("no bench/out/seed.json: run `.venv/bin/python -m bench.seed` first")
    if args.show:
        n, seen, status = count(make_app(), by_name([args.show])[0], state["tenants"]["big"], state)
        print(f"{args.show}: {n} statements, status {status}")
        for i, text in enumerate(seen, 1):
            print(f"--- {i}\n{' '.join(text.split())}")
        return
    counts = count_all(by_name(args.endpoints), state)
    print(f"{'endpoint':<20} {'big':>5} {'small':>6}  status   alone ms (big)")
    for name, row in counts.items():
        flag = "  GROWS WITH ROWS" if row["grows"] else ""
        print(f"{name:<20} {row['big']:>5} {row['small']:>6}  {row['big_status']}/{row['small_status']}  "
              f"{row['alone_ms']:8.1f}{flag}")


if __name__ == "__main__":
    main()
