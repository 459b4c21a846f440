"""Cadre evaluation over HTTP: raters submit online ballots to the running app at once, as the issue's rush asks.

    BENCH_OWNER_URL=postgresql+psycopg://postgres@127.0.0.1:5432/wgt_cadre_bench \\
      .venv/bin/python -m bench.cadre_http [--raters 5000] [--targets 40] [--clients 16]

`bench.cadre` measures the ballot's service in-process; this one measures the whole door. On a database of its
own (never `test`): one district with one open campaign of `--targets` targets (`bench.cadre.setup`), an online
rater group with an invitation per rater (the organiser's service, as the channels page makes them: a rater's
credential is their invitation code, so no SMS is involved), and an API token for the raters' app. Then gunicorn
serves `wsgi:app` and `bench.bare:app` with the same workers and threads (`bench.run.gunicorn`), and `--clients`
client threads, each with its own keep-alive connection, send every rater's ballot on all targets and all five
dimensions through `POST /api/v1/t/<slug>/cadre_evaluation/campaigns/<id>/ballots`, each after fetching and
solving its challenge (`GET .../challenge`), twice: the two copies go to two threads at the same moment.

Figures, as ratios to the bare stack measured right after by the same client threads over HTTP (`GET /bare`: one
indexed select and one insert, committed), as many requests as there were ballot submissions:
- accepted ballots per second (the challenge's request is on our side of the ratio, not the ceiling's);
- duplicates accepted (must be 0): of the two copies exactly one is taken (201), the other refused (409);
- every other answer is an error and the run says so.

What is set apart, and why: the district's `pow_bits` is set to `--pow-bits` (8 by default: the work is the
phone's, not the server's, and 16 bits would make the client threads the bottleneck on a 2-core machine), and the
rate limits are raised (`LOGIN_ADDRESS_RATE_LIMIT`, `BALLOT_BOX_RATE_LIMIT`: one address sends everything here; in
production the box's 50 per second is the cap, above what this machine takes). Writes bench/out/cadre-http-*.json.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime as dt
import http.client
import json
import os
import random
import threading
import time
from typing import Any

import sqlalchemy as sa

from bench import bare, common
from bench.cadre import DIMS, LEVELS, setup
from bench.notifications import checked_owner_url, empty_tables, ensure_database
from bench.run import free_port, gunicorn

UNLIMITED = "1000000 per second"


def prepare_raters(app: Any, tenant_id: int, campaign_id: int, raters: int, pow_bits: int) -> tuple[str, list[str]]:
    """An online group with one invitation per rater, the district's pow bits, and the raters' app's token."""
    from blueprints.cadre_evaluation import channels
    from blueprints.cadre_evaluation import services as ce
    from saas import auth, db
    from saas.actors import Actor
    from tenants import services
    from tenants.models import ModuleSwitch, RoleGrant, Tenant, User

    with app.app_context(), db.tenant_context(tenant_id) as s:
        tenant = s.get(Tenant, tenant_id)
        admin_id = s.scalars(sa.select(RoleGrant.user_id).where(RoleGrant.role == "district_admin")).first()
        admin = Actor(s.scalars(sa.select(User).where(User.id == admin_id)).one(), app.extensions["saas.roles"],
                      frozenset({"cadre_evaluation"}))
        group = channels.add_group(s, tenant, admin, campaign_id, {"name": "网民", "channel": "online", "cap": None})
        tokens: list[str] = []
        for start in range(0, raters, channels.MAX_BATCH):
            phones = [f"139{i:08d}" for i in range(start, min(start + channels.MAX_BATCH, raters))]
            tokens += [m["token"] for m in channels.issue_invitations(s, tenant, admin, campaign_id, group.id, phones)]
        switch = s.scalars(sa.select(ModuleSwitch).where(ModuleSwitch.module_key == "cadre_evaluation")).one()
        switch.settings = {**(switch.settings or {}), "pow_bits": pow_bits}
        app_user = services.add_staff(s, None, name="评议App", phone="13700000002", username=None, password=None,
                                      audit_it=False)
        s.flush()
        _row, plain = auth.create_token(app_user, "bench")
        s.commit()
        assert ce.settings(s)["pow_bits"] == pow_bits
    return plain, tokens


class Client(threading.local):
    """One keep-alive connection per client thread."""

    def __init__(self, base: str):
        host, port = base.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=60)

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, str]:
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {**(headers or {}), **({"Content-Type": "application/json"} if data is not None else {})}
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=data, headers=hdrs)
                resp = self.conn.getresponse()
                return resp.status, resp.read().decode("utf-8", "replace")
            except (http.client.HTTPException, OSError):
                self.conn.close()  # the server closed an idle keep-alive connection: once more on a new one
                if attempt:
                    raise
        raise AssertionError("unreachable")


def submit_all(base: str, slug: str, campaign_id: int, api_token: str, tokens: list[str], target_ids: list[int],
               clients: int) -> dict[str, Any]:
    from saas import pow

    rng = random.Random(7)
    ratings = [{str(t): {d: rng.choice(LEVELS) for d in DIMS} for t in target_ids} for _ in tokens]
    api = f"/api/v1/t/{slug}/cadre_evaluation/campaigns/{campaign_id}"
    auth = {"Authorization": f"Bearer {api_token}"}
    local = Client(base)
    counts = {"accepted": 0, "refused": 0, "errors": 0, "requests": 0}
    per_rater: dict[int, list[int]] = {}
    lock = threading.Lock()
    first_error: list[str] = []

    def one(job: tuple[int, int]) -> None:
        i, _copy = job
        status, text = local.call("GET", f"{api}/challenge", headers=auth)
        answer = None
        if status == 200:
            challenge = json.loads(text)
            proof = {"pow_challenge": challenge["challenge"], "pow": pow.solve(challenge["challenge"],
                                                                                challenge["bits"])}
            answer = local.call("POST", f"{api}/ballots", {"invitation": tokens[i], "ratings": ratings[i], **proof},
                                auth)
        with lock:
            counts["requests"] += 1 + (answer is not None)
            code = answer[0] if answer else status
            per_rater.setdefault(i, []).append(code)
            if code == 201:
                counts["accepted"] += 1
            elif code == 409:
                counts["refused"] += 1
            else:
                counts["errors"] += 1
                if not first_error:
                    first_error.append(f"{code}: {(answer or (status, text))[1][:300]}")

    jobs = [(i, copy) for i in range(len(tokens)) for copy in (0, 1)]
    started = time.perf_counter()
    with cf.ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, jobs))
    seconds = time.perf_counter() - started
    both_taken = sum(1 for codes in per_rater.values() if codes.count(201) > 1)
    neither = sum(1 for codes in per_rater.values() if 201 not in codes)
    return {**counts, "submissions": len(jobs), "seconds": seconds, "accepted_per_second": counts["accepted"] / seconds,
            "raters_with_two_accepted": both_taken, "raters_with_none_accepted": neither,
            "first_error": first_error[0] if first_error else None}


def bare_over_http(base: str, requests: int, clients: int) -> dict[str, Any]:
    local = Client(base)
    errors = 0
    lock = threading.Lock()

    def one(_i: int) -> None:
        nonlocal errors
        status, _text = local.call("GET", "/bare")
        if status != 200:
            with lock:
                errors += 1

    started = time.perf_counter()
    with cf.ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(requests)))
    seconds = time.perf_counter() - started
    return {"requests": requests, "seconds": seconds, "per_second": requests / seconds, "errors": errors}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--owner-url", default=os.environ.get("BENCH_OWNER_URL", common.OWNER_URL))
    parser.add_argument("--raters", type=int, default=5000)
    parser.add_argument("--targets", type=int, default=40)
    parser.add_argument("--clients", type=int, default=16, help="client threads, each with its own connection")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers, for the app and the bare stack")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--pow-bits", type=int, default=8)
    args = parser.parse_args()
    if not (1 <= args.raters <= 20000 and 1 <= args.targets <= 200 and 1 <= args.clients <= 64
            and 0 <= args.pow_bits <= 20):
        parser.error("keep --raters 1..20000, --targets 1..200, --clients 1..64, --pow-bits 0..20")

    owner = checked_owner_url(args.owner_url)
    ensure_database(owner)
    from saas import create_app, migrate
    from saas.db import make_engine

    owner_url = owner.render_as_string(hide_password=False)
    app = create_app(common.app_config(owner, RATELIMIT_ENABLED=False))
    migrate.upgrade(app)
    owner_engine = make_engine(owner_url)
    empty_tables(owner_engine)
    owner_engine.dispose()
    bare.prepare(owner)
    tenant_id, campaign_id = setup(app, args.targets)
    api_token, tokens = prepare_raters(app, tenant_id, campaign_id, args.raters, args.pow_bits)
    from blueprints.cadre_evaluation.models import Target
    from saas import db
    from tenants.models import Tenant

    with app.app_context(), db.tenant_context(tenant_id) as s:
        target_ids = list(s.scalars(sa.select(Target.id).order_by(Target.position)))
        slug = s.get(Tenant, tenant_id).slug

    common.OUT.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    base_env = {k: v for k, v in os.environ.items()
                if k not in ("REDIS_URL", "DATABASE_URL", "MIGRATE_DATABASE_URL", "SEED_DEMO")}
    app_env = {**base_env, "DATABASE_URL": common.app_url(owner), "MIGRATE_DATABASE_URL": owner_url,
               "SECRET_KEY": common.SECRET_KEY, "WGT_INSTANCE": str(common.OUT / "instance"),
               "LOGIN_RATE_LIMIT": UNLIMITED, "LOGIN_ADDRESS_RATE_LIMIT": UNLIMITED,
               "BALLOT_BOX_RATE_LIMIT": UNLIMITED}
    bare_env = {**base_env, "BENCH_BARE_URL": common.app_url(owner)}
    print(f"{args.raters} raters × {args.targets} targets over HTTP, {args.clients} clients, "
          f"{args.workers} workers × {args.threads} threads …", flush=True)
    load_before = os.getloadavg()
    with gunicorn("wsgi:app", free_port(), app_env, args, common.OUT / f"gunicorn-cadre-{stamp}.log") as app_base:
        ours = submit_all(app_base, slug, campaign_id, api_token, tokens, target_ids, args.clients)
    with gunicorn("bench.bare:app", free_port(), bare_env, args, common.OUT / f"gunicorn-bare-{stamp}.log") as bb:
        ceiling = bare_over_http(bb, ours["submissions"], args.clients)
    result = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "machine": common.machine_facts(),
        "load_before": load_before, "load_after": os.getloadavg(),
        "raters": args.raters, "targets": args.targets, "clients": args.clients, "workers": args.workers,
        "threads": args.threads, "pow_bits": args.pow_bits, "ours": ours, "bare": ceiling,
        "accepted_ratio_to_bare": ours["accepted_per_second"] / ceiling["per_second"],
        "duplicates_accepted": ours["raters_with_two_accepted"],
    }
    print(f"accepted ballots/s: {ours['accepted_per_second']:.1f} = {result['accepted_ratio_to_bare']:.3f} × the "
          f"bare stack's {ceiling['per_second']:.0f} requests/s over HTTP (each ballot: {args.targets} targets × 5 "
          f"dimensions, after its challenge)")
    print(f"duplicates accepted: {result['duplicates_accepted']} (of {args.raters} second copies sent at the same "
          f"moment; {ours['refused']} refused; raters with no ballot taken: {ours['raters_with_none_accepted']})")
    print(f"errors: {ours['errors']} ours, {ceiling['errors']} bare" +
          (f" (first: {ours['first_error']})" if ours["first_error"] else ""))
    body = json.dumps(result, ensure_ascii=False, indent=2, default=str)
    (common.OUT / f"cadre-http-{stamp}.json").write_text(body)
    (common.OUT / "cadre-http-latest.json").write_text(body)
    ok = (result["duplicates_accepted"] == 0 and ours["errors"] == 0 and ceiling["errors"] == 0
          and ours["raters_with_none_accepted"] == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
