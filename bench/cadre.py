"""Cadre evaluation under a rush: 5,000 online raters submit at once on a campaign of 40 targets.

    .venv/bin/python -m bench.cadre [--raters 5000] [--targets 40] [--threads 8] [--owner-url ...]

On a database of its own (BENCH_OWNER_URL; never `test`), migrated, emptied, one district with the module on and
one open campaign. Each rater rates every target on the five dimensions (5,000 × 40 × 5 = 1,000,000 dimension
scores). Figures, each as a ratio to a ceiling measured in the same run:

- accepted ballots per second: `--threads` threads submit through the module's service as the rating page does
  (the ledger's and the waiting submission's transaction, then the shuffled mover's transaction), as the
  application's role under row-level security; the ceiling is the bare stack's work (bench/bare.py: one indexed
  select and one insert, committed) done by the same threads through the same driver, pool and role. The page's
  phone-code check, rendering and HTTP are left out of both sides (they are the kernel's, measured by bench/run.py).
- duplicates accepted (must be 0): every rater's second submission, sent from another thread at the same time as
  a first, must be refused by the ledger's unique key;
- the tally of the 1,000,000 scores (services.tally, the organiser's and the public results), as a multiple of the
  bare SQL floor: one grouped count over the same scores table.

Prints the figures and writes bench/out/cadre-<time>.json and bench/out/cadre-latest.json.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime as dt
import json
import os
import random
import threading
import time
from typing import Any

import sqlalchemy as sa

from bench import bare, common
from bench.notifications import checked_owner_url, empty_tables, ensure_database

DIMS = ("duty", "law", "service", "style", "integrity")
LEVELS = ("satisfied", "fair", "dissatisfied", "unknown")


def setup(app: Any, targets: int) -> tuple[int, int]:
    from blueprints.cadre_evaluation import services as ce
    from saas import db
    from saas.actors import Actor
    from tenants import services
    from tenants.models import User

    with app.app_context():
        with db.platform_context():  # a district is the platform's to make (row-level security on `tenants`)
            tenant = services.create_tenant(db.session(), None, "bench-cadre", "基准评议区", "Bench cadre")
            db.session.commit()
        with db.tenant_context(tenant.id) as s:
            services.set_module(s, app.extensions["saas.modules"], None, "cadre_evaluation", True)
            user = services.add_staff(s, None, name="组织者", phone="13700000001", username=None, password=None,
                                      audit_it=False)
            s.flush()
            from tenants.models import RoleGrant

            s.add(RoleGrant(user_id=user.id, role="district_admin", org_unit_id=services.district_root(s).id))
            s.commit()
            admin = Actor(s.scalars(sa.select(User).where(User.id == user.id)).one(),
                          app.extensions["saas.roles"], frozenset({"cadre_evaluation"}))
            campaign = ce.create_campaign(s, tenant, admin, {"name": "基准评议", "period_start": dt.date(2025, 7, 1),
                                                             "period_end": dt.date(2026, 6, 30), "min_ballots": 30})
            for i in range(targets):
                ce.add_target(s, tenant, admin, campaign.id, {"name": f"科长{i}", "department": f"单位{i % 8}",
                                                              "section": f"第{i}科", "area": ce.DEFAULT_AREAS[i % 15]})
            ce.transition(s, tenant, admin, campaign.id, "open")
            s.commit()
            return tenant.id, campaign.id


def ballots_per_second(app: Any, tenant_id: int, campaign_id: int, raters: int, threads: int,
                       target_ids: list[int]) -> dict[str, Any]:
    """Every rater submits twice, the two copies in different threads at about the same time."""
    from blueprints.cadre_evaluation import services as ce
    from saas import db
    from tenants.models import Tenant

    rng = random.Random(7)
    ratings = [{t: {d: rng.choice(LEVELS) for d in DIMS} for t in target_ids} for _ in range(raters)]
    jobs = [(i, copy) for i in range(raters) for copy in (0, 1)]
    accepted = refused = 0
    lock = threading.Lock()

    def one(job: tuple[int, int]) -> None:
        nonlocal accepted, refused
        i, _copy = job
        with app.app_context(), db.tenant_context(tenant_id) as s:
            tenant = s.get(Tenant, tenant_id)
            try:
                ce.submit_ballot(s, tenant, campaign_id, f"139{i:08d}", ratings[i])
                s.commit()
                ok = True
            except ce.Refused:
                s.rollback()
                ok = False
            ce.move_ballots(s, ce.get_campaign(s, campaign_id))
            s.commit()
        with lock:
            accepted += ok
            refused += not ok

    # a rater's two copies sit next to each other in the queue: two threads take them at once
    started = time.perf_counter()
    with cf.ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, jobs))
    seconds = time.perf_counter() - started
    return {"submissions": len(jobs), "accepted": accepted, "refused": refused, "seconds": seconds,
            "accepted_per_second": accepted / seconds}


def bare_per_second(url: str, operations: int, threads: int) -> dict[str, Any]:
    engine = sa.create_engine(url, pool_size=threads, max_overflow=0)
    factory = sa.orm.sessionmaker(bind=engine, expire_on_commit=False)

    def one(_i: int) -> None:
        with factory() as s:
            k = random.randint(1, bare.ROWS)
            found = s.scalars(sa.select(bare.Item).where(bare.Item.k == k).limit(1)).first()
            s.add(bare.Item(k=k, v=found.v if found else ""))
            s.commit()

    started = time.perf_counter()
    with cf.ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(operations)))
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"operations": operations, "seconds": seconds, "per_second": operations / seconds}


def tally_time(app: Any, tenant_id: int, campaign_id: int, owner_engine: Any) -> dict[str, Any]:
    from blueprints.cadre_evaluation import services as ce
    from blueprints.cadre_evaluation.models import Score
    from saas import db

    with app.app_context(), db.tenant_context(tenant_id) as s:
        campaign = ce.get_campaign(s, campaign_id)
        ce.move_ballots(s, campaign, everything=True)
        s.commit()
        scores = s.scalar(sa.select(sa.func.count()).select_from(Score)) or 0
        with owner_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE cadre_evaluation_scores")
        ce.tally(s, campaign)  # warm
        started = time.perf_counter()
        rows = ce.tally(s, campaign)
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        s.execute(sa.select(Score.target_id, Score.channel, Score.dimension, Score.level, sa.func.count())
                  .where(Score.campaign_id == campaign_id)
                  .group_by(Score.target_id, Score.channel, Score.dimension, Score.level)).all()
        floor = time.perf_counter() - started
        s.rollback()
    return {"scores": scores, "targets": len(rows), "seconds": seconds, "floor_seconds": floor,
            "ratio_to_floor": seconds / floor if floor else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--owner-url", default=os.environ.get("BENCH_OWNER_URL", common.OWNER_URL))
    parser.add_argument("--raters", type=int, default=5000)
    parser.add_argument("--targets", type=int, default=40)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    if not (1 <= args.raters <= 20000 and 1 <= args.targets <= 200 and 1 <= args.threads <= 32):
        parser.error("keep --raters 1..20000, --targets 1..200, --threads 1..32")

    owner = checked_owner_url(args.owner_url)
    ensure_database(owner)
    from saas import create_app, migrate
    from saas.db import make_engine

    app_url = common.app_url(owner)
    owner_url = owner.render_as_string(hide_password=False)
    app = create_app({"DATABASE_URL": app_url, "MIGRATE_DATABASE_URL": owner_url, "DATABASE_APP_ROLE": common.APP_ROLE,
                      "REDIS_URL": None, "SECRET_KEY": common.SECRET_KEY, "RATELIMIT_ENABLED": False})
    migrate.upgrade(app)
    owner_engine = make_engine(owner_url)
    empty_tables(owner_engine)
    bare.prepare(owner)
    tenant_id, campaign_id = setup(app, args.targets)
    from blueprints.cadre_evaluation.models import Target
    from saas import db

    with app.app_context(), db.tenant_context(tenant_id) as s:
        target_ids = list(s.scalars(sa.select(Target.id).order_by(Target.position)))
    print(f"{args.raters} raters × {args.targets} targets, {args.threads} threads …", flush=True)
    ours = ballots_per_second(app, tenant_id, campaign_id, args.raters, args.threads, target_ids)
    ceiling = bare_per_second(app_url, ours["submissions"], args.threads)
    tally = tally_time(app, tenant_id, campaign_id, owner_engine)
    result = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "machine": common.machine_facts(),
        "raters": args.raters, "targets": args.targets, "threads": args.threads, "ours": ours, "bare": ceiling,
        "accepted_ratio_to_bare": ours["accepted_per_second"] / ceiling["per_second"],
        "duplicates_accepted": ours["accepted"] - args.raters, "tally": tally,
    }
    print(f"accepted ballots/s: {ours['accepted_per_second']:.0f} = {result['accepted_ratio_to_bare']:.3f} × the bare "
          f"stack's {ceiling['per_second']:.0f} ops/s (each ballot: {args.targets} targets × 5 dimensions)")
    print(f"duplicates accepted: {result['duplicates_accepted']} (of {args.raters} second submissions; "
          f"{ours['refused']} refused)")
    print(f"tally of {tally['scores']:,} scores: {tally['seconds']:.2f} s = {tally['ratio_to_floor']:.2f} × the bare "
          f"grouped count ({tally['floor_seconds']:.2f} s)")
    common.OUT.mkdir(parents=True, exist_ok=True)
    body = json.dumps(result, ensure_ascii=False, indent=2, default=str)
    (common.OUT / f"cadre-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(body)
    (common.OUT / "cadre-latest.json").write_text(body)
    owner_engine.dispose()
    return 0 if result["duplicates_accepted"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
