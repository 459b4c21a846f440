"""Notification throughput: the outbox, the relay and RQ workers against a bare RQ job doing the same HTTP post.

    .venv/bin/python -m bench.notifications --notices 10000 --tenants 3 --workers 2

What it does, all on 127.0.0.1 and in a database of its own (`wgt_bench_notify`, created and migrated if
missing, emptied at the start of every run):

1. starts its own redis-server (no persistence) and the local receiver (`python -m tests.workers.receiver`,
   which honours Idempotency-Key), each on a free port;
2. creates the districts and their staff, points each district's SMS channel at the receiver
   (`save_channel`) and writes the notices with `notify` (timed: notices written per second);
3. starts the RQ workers (`rq worker -w rq.worker.SimpleWorker`, as production does), warms them up,
   then runs the relay (`relay_tenant` for each district, in a loop, from this process) and measures from
   the first enqueue until the receiver has every notice;
4. the bare baseline in the same run: the very same posts (same phones, texts and keys) as plain RQ jobs
   (`bare_post` below: urllib and nothing else), enqueued with `Queue.enqueue_many`, to a fresh receiver,
   by the same number of fresh SimpleWorkers;
5. prints the table, writes bench/results/notifications.json, and exits 1 if a notice was lost, one was
   delivered twice, or an outbox row is not 'sent'.

Every phase is bounded by --timeout; every process it started is stopped at the end, even on failure.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
# the receiver listens on loopback: admitted as an operator admits an intranet gateway (saas.outbound)
LOCAL_RECEIVER = "127.0.0.1"
OWNER_URL = os.environ.get("BENCH_NOTIFY_OWNER_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/wgt_bench_notify")
APP_ROLE = "wgt_app"
SECRET_KEY = "bench-notify-only-secret"  # noqa: S105 - a throwaway key for a throwaway database on loopback
FORBIDDEN_DATABASES = {"test", "postgres", "template0", "template1"}  # other people's: never touched
QUEUES = ("notify-urgent", "notify", "periodic")
KIND = "bench.notice"
JOBS = "bench.notifications"  # the workers import the jobs by this name (this file may run as __main__)
TITLE = "【网格通】{{ grid }}网格事件{{ no }}已派单"
BODY = "请于{{ deadline }}前到现场处理并回复办理结果，逾期将按规定督办。详情请登录网格通查看。"


# --- jobs the workers import: plain functions, no app -----------------------------------------------------


def bare_post(url: str, phone: str, text: str, key: str) -> int:
    """The baseline: the SMS adapter's HTTP post and nothing else (same JSON, same headers)."""
    payload = {"phone": phone, "text": text, "idempotency_key": key}
    request = urllib.request.Request(  # noqa: S310 - loopback URL built by this script
        url, data=json.dumps(payload, ensure_ascii=False).encode(), method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": key},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        json.loads(response.read() or b"{}")
        return response.status


def warm_up(build_app: bool, seconds: float) -> int:
    """Run once per worker before timing: builds the app and opens a database connection (ours), then holds
    the worker for `seconds` so the next warm-up job goes to the other worker."""
    if build_app:
        import sqlalchemy as sa

        from saas import db
        from workers.app import get_app

        with get_app().app_context():
            db.session.execute(sa.text("SELECT 1"))
            db.session.rollback()
    time.sleep(seconds)
    return os.getpid()


# --- processes --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Processes:
    """Every process this script starts, stopped (by pid) at the end whatever happens."""

    def __init__(self, logs: Path):
        self.logs = logs
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.running.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if proc in self.running:
            self.running.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self.running)):
            self.stop(proc)

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.logs / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def wait_until(check: Any, timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            value = check()
            if value:
                return value
        time.sleep(interval)
    raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")


def start_redis(procs: Processes, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    proc = procs.start("redis", [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                          "--dir", str(tmp)])
    url = f"redis://127.0.0.1:{port}/0"
    import redis

    client = redis.Redis.from_url(url)
    wait_until(client.ping, 10, "redis-server")
    client.close()
    return proc, url


def start_receiver(procs: Processes, name: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = procs.start(name, [sys.executable, "-m", "tests.workers.receiver", str(port)])
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: receiver_stats(url) is not None, 15, f"the receiver on port {port}")
    return proc, url


def receiver_stats(url: str) -> dict[str, int]:
    with urllib.request.urlopen(url + "/", timeout=5) as response:  # noqa: S310 - loopback
        return json.loads(response.read())


def worker_env(owner_url: str, app_url: str, redis_url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": app_url, "MIGRATE_DATABASE_URL": owner_url, "REDIS_URL": redis_url,
            "SECRET_KEY": SECRET_KEY, "WGT_INSTANCE": str(ROOT / "instance"), "PYTHONPATH": str(ROOT),
            "OUTBOUND_ALLOW": LOCAL_RECEIVER}


def start_workers(procs: Processes, n: int, redis_url: str, env: dict[str, str], label: str, *,
                  build_app: bool) -> list[subprocess.Popen[bytes]]:
    """n real `rq worker` processes, each warmed up (imports done, app built, connection open) before timing."""
    from redis import Redis
    from rq import Queue, Worker

    args = [sys.executable, "-m", "rq.cli", "worker", "-w", "rq.worker.SimpleWorker", "--url", redis_url, *QUEUES]
    workers = [procs.start(f"{label}-worker-{i + 1}", args, env) for i in range(n)]
    conn = Redis.from_url(redis_url)
    wait_until(lambda: len(Worker.all(connection=conn)) >= n, 60, f"{n} {label} workers to register")
    queue = Queue("notify", connection=conn)
    seen: set[int] = set()
    for _ in range(4):  # each idle worker takes one warm-up job; a second round if one took two
        jobs = [queue.enqueue(f"{JOBS}.warm_up", build_app, 1.0, result_ttl=60) for _ in range(n)]
        for job in jobs:
            wait_until(lambda job=job: job.get_status(refresh=True) in ("finished", "failed"), 120,
                       f"{label} warm-up job")
            if job.get_status() == "failed":
                raise SystemExit(f"{label} warm-up failed:\n{procs.tail(f'{label}-worker-1')}")
            seen.add(int(job.return_value()))
        if len(seen) >= n:
            break
    conn.close()
    return workers


# --- CPU accounting ---------------------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime


def self_cpu() -> float:
    t = os.times()
    return t.user + t.system


def pg_backends(owner_engine: Any) -> dict[int, float]:
    """CPU so far of the PostgreSQL backends connected to the bench database."""
    import sqlalchemy as sa

    with owner_engine.connect() as conn:
        pids = list(conn.scalars(sa.text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")))
    return {pid: cpu_seconds(pid) for pid in pids}


def pg_cpu_since(owner_engine: Any, before: dict[int, float]) -> float:
    after = pg_backends(owner_engine)
    return sum(v - before.get(pid, 0.0) for pid, v in after.items())


class Cpu:
    """CPU seconds used by each part during one phase."""

    def __init__(self, owner_engine: Any, parts: dict[str, list[int]]):
        self.engine = owner_engine
        self.parts = parts
        self.start = {name: sum(cpu_seconds(p) for p in pids) for name, pids in parts.items()}
        self.start_self = self_cpu()
        self.start_pg = pg_backends(owner_engine)

    def done(self) -> dict[str, float]:
        out = {name: sum(cpu_seconds(p) for p in pids) - self.start[name] for name, pids in self.parts.items()}
        out["bench process (relay)"] = self_cpu() - self.start_self
        out["postgres backends"] = pg_cpu_since(self.engine, self.start_pg)
        return {k: round(v, 2) for k, v in out.items()}


# --- the database -----------------------------------------------------------------------------------------


def checked_owner_url(url: str) -> Any:
    import sqlalchemy as sa

    parsed = sa.make_url(url)
    if not parsed.database or parsed.database in FORBIDDEN_DATABASES:
        raise SystemExit(f"refusing database {parsed.database!r}: the benchmark needs a database of its own")
    if parsed.host not in ("127.0.0.1", "localhost"):
        raise SystemExit(f"refusing host {parsed.host!r}: the benchmark talks to 127.0.0.1 only")
    return parsed


def ensure_database(owner: Any) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(owner.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": owner.database}) is None:
                conn.exec_driver_sql(f'CREATE DATABASE "{owner.database}" OWNER "{owner.username}"')
    finally:
        admin.dispose()


def empty_tables(owner_engine: Any) -> None:
    from saas.db import Base

    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with owner_engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {names} CASCADE")


def bench_spec() -> Any:
    from saas.modules import ModuleSpec
    from saas.notify import NoticeTemplate

    template = NoticeTemplate(KIND, "Bench", TITLE, BODY, channels=("sms",))
    return ModuleSpec(key="benchnotify", name_zh="基准", name_en="Bench", version="1", notices=(template,))


def setup_districts(app: Any, n_tenants: int, users_per_tenant: int) -> list[tuple[int, list[int]]]:
    from saas import db
    from tenants import services

    out = []
    with app.app_context():
        for t in range(n_tenants):
            with db.platform_context():  # a district is the platform's to make (row-level security on `tenants`)
                tenant = services.create_tenant(db.session(), None, f"bench-notify-{t + 1}", f"基准{t + 1}区",
                                                f"Bench {t + 1}")
                db.session.commit()
            tenant_id = tenant.id
            with db.tenant_context(tenant_id) as s:
                users = [services.add_staff(s, None, name=f"网格员{i}", phone=f"13{5 + t % 5}{i:08d}", username=None,
                                            password=None, audit_it=False).id for i in range(users_per_tenant)]
                s.commit()
            out.append((tenant_id, users))
    return out


def point_sms_at(app: Any, tenant_ids: list[int], url: str) -> None:
    from saas import db, notice_settings

    with app.app_context():
        for tenant_id in tenant_ids:
            with db.tenant_context(tenant_id) as s:
                notice_settings.save_channel(s, None, "sms", {"url": url + "/sms"}, True)
                s.commit()


def write_notices(app: Any, districts: list[tuple[int, list[int]]], total: int, per_tx: int) -> float:
    """`notify` for each notice, `per_tx` notices per transaction, the districts in turn; returns seconds."""
    from saas import db
    from saas.notify import notify

    registry = [bench_spec()]
    counts = [total // len(districts) + (1 if i < total % len(districts) else 0) for i in range(len(districts))]
    start = time.perf_counter()
    with app.app_context():
        for d, ((tenant_id, users), count) in enumerate(zip(districts, counts, strict=True)):
            with db.tenant_context(tenant_id) as s:
                for i in range(count):
                    context = {"grid": f"{d + 1:02d}-{i % 97:02d}", "no": f"{i:06d}",
                               "deadline": "2026-11-25 17:00"}
                    notify(s, users[i % len(users)], KIND, context, registry=registry, event_key=f"bench-{d}-{i}")
                    if (i + 1) % per_tx == 0:
                        s.commit()
                s.commit()
    return time.perf_counter() - start


def outbox_counts(app: Any, tenant_ids: list[int]) -> dict[str, int]:
    from saas import db, notice_settings

    total: dict[str, int] = {}
    with app.app_context():
        for tenant_id in tenant_ids:
            with db.tenant_context(tenant_id) as s:
                for status, n in notice_settings.outbox_counts(s).items():
                    total[status] = total.get(status, 0) + n
                s.rollback()
    return total


def deliveries(app: Any, tenant_ids: list[int]) -> list[tuple[str, str, str]]:
    """(phone, text, key) of every SMS delivery, as the adapter posts them."""
    import sqlalchemy as sa

    from saas import db
    from saas.notify import Delivery

    out = []
    with app.app_context():
        for tenant_id in tenant_ids:
            with db.tenant_context(tenant_id) as s:
                rows = s.execute(sa.select(Delivery.address, Delivery.title, Delivery.body, Delivery.idempotency_key)
                                 .where(Delivery.channel == "sms").order_by(Delivery.id)).all()
                out += [(r.address, f"{r.title}\n{r.body}".strip(), r.idempotency_key) for r in rows]
                s.rollback()
    return out


# --- the two timed phases ---------------------------------------------------------------------------------


def run_ours(app: Any, tenant_ids: list[int], receiver_url: str, expected: int, batch: int,
             timeout: float, interval: float) -> dict[str, Any]:
    """Relay (`relay_tenant` for each district in turn, back to back) until the receiver has every notice.
    With `interval` > 0, `relay_all` every `interval` seconds instead, as the RQ cron relay does."""
    from workers.delivery import relay_all, relay_tenant

    start = time.perf_counter()
    deadline = start + timeout
    moved_total = cycles = 0
    relay_seconds = None
    stats: dict[str, int] = {"delivered": 0, "requests": 0, "duplicates": 0}
    next_poll = next_cycle = 0.0
    with app.app_context():
        while True:
            moved = 0
            if time.perf_counter() >= next_cycle:
                next_cycle = time.perf_counter() + interval
                if interval > 0:
                    moved = relay_all(app, batch=batch)
                else:
                    moved = sum(relay_tenant(app, tenant_id, batch=batch) for tenant_id in tenant_ids)
                cycles += 1
                moved_total += moved
                if relay_seconds is None and moved_total >= expected:
                    relay_seconds = time.perf_counter() - start
            now = time.perf_counter()
            if moved == 0 or now >= next_poll:
                stats = receiver_stats(receiver_url)
                next_poll = now + 0.1
                if stats["delivered"] >= expected:
                    break
            if now > deadline:
                break
            if moved == 0:
                time.sleep(0.1)
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 3), "relay_seconds": round(relay_seconds, 3) if relay_seconds else None,
            "relay_cycles": cycles, "relayed": moved_total, **stats,
            "per_second": round(stats["delivered"] / seconds, 1), "timed_out": stats["delivered"] < expected}


def run_bare(redis_url: str, receiver_url: str, posts: list[tuple[str, str, str]], timeout: float) -> dict[str, Any]:
    from redis import Redis
    from rq import Queue

    conn = Redis.from_url(redis_url)
    queue = Queue("notify", connection=conn)
    url = receiver_url + "/sms"
    start = time.perf_counter()
    for i in range(0, len(posts), 1000):
        chunk = [Queue.prepare_data(f"{JOBS}.bare_post", args=(url, *post), result_ttl=60,
                                    failure_ttl=24 * 3600, timeout=60) for post in posts[i:i + 1000]]
        with conn.pipeline() as pipe:
            queue.enqueue_many(chunk, pipeline=pipe)
            pipe.execute()
    enqueue_seconds = time.perf_counter() - start
    deadline = start + timeout
    while True:
        stats = receiver_stats(receiver_url)
        if stats["delivered"] >= len(posts) or time.perf_counter() > deadline:
            break
        time.sleep(0.02)
    seconds = time.perf_counter() - start
    failed = queue.failed_job_registry.count
    conn.close()
    return {"seconds": round(seconds, 3), "enqueue_seconds": round(enqueue_seconds, 3), **stats,
            "per_second": round(stats["delivered"] / seconds, 1), "failed_jobs": failed,
            "timed_out": stats["delivered"] < len(posts)}


# --- statements per operation (counted in this process, after the timed phases) ----------------------------


@contextlib.contextmanager
def statement_counter(engine: Any) -> Iterator[list[int]]:
    import sqlalchemy as sa

    counter = [0]

    def count(*_a: Any, **_k: Any) -> None:
        counter[0] += 1

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield counter
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def count_statements(app: Any, tenant_id: int, users: list[int], n: int = 20) -> dict[str, float]:
    """SQL statements for one notice written, one relay batch of n, one delivery sent."""
    import sqlalchemy as sa

    from saas import db
    from saas.notify import Delivery, Recipients, notify
    from workers.delivery import deliver, relay_tenant

    engine = db._engines[app.config["DATABASE_URL"]]
    registry = [bench_spec()]
    with app.app_context():
        with db.tenant_context(tenant_id) as s, statement_counter(engine) as written:
            for i in range(n):
                notify(s, users[i % len(users)], KIND, {"grid": "x", "no": i, "deadline": "-"}, registry=registry,
                       event_key=f"probe-{i}")
                s.commit()
        with statement_counter(engine) as relayed:
            moved = relay_tenant(app, tenant_id, batch=n)
        with db.tenant_context(tenant_id) as s:
            ids = list(s.scalars(sa.select(Delivery.id).where(Delivery.status == "queued")))
            s.rollback()
        with statement_counter(engine) as delivered:
            outcomes = [deliver(tenant_id, i, app=app) for i in ids]
        people = tuple(users[:100])
        with db.tenant_context(tenant_id) as s, statement_counter(engine) as fanned:
            notify(s, Recipients(user_ids=people), KIND, {"grid": "x", "no": "all", "deadline": "-"},
                   registry=registry, event_key="probe-fan-out")
            s.commit()
    return {"per_notice_written": round(written[0] / n, 1), "per_relay_batch": relayed[0], "relay_batch_rows": moved,
            "per_delivery": round(delivered[0] / max(len(ids), 1), 1),
            "one_notice_to_people": len(people), "one_notice_to_people_statements": fanned[0],
            "probe_outcomes": {o: outcomes.count(o) for o in set(outcomes)}}


# --- report -----------------------------------------------------------------------------------------------


def per_delivery(phase: dict[str, Any], part: str | None = None) -> float:
    """CPU milliseconds per delivered notice, of one part or of all: a figure a busy machine moves less."""
    cpu = phase["cpu_seconds"]
    used = cpu[part] if part else sum(cpu.values())
    return 1000 * used / max(phase["delivered"], 1)


def table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"| {k.ljust(width)} | {v} |" for k, v in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notices", type=int, default=10000)
    parser.add_argument("--tenants", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--users-per-tenant", type=int, default=500, help="staff per district; notices cycle over them")
    parser.add_argument("--per-transaction", type=int, default=1,
                        help="notices per committed transaction when writing (1: each its own, as a request)")
    parser.add_argument("--batch", type=int, default=200, help="relay_tenant's batch per district and cycle")
    parser.add_argument("--relay-interval", type=float, default=0.0,
                        help="0: relay_tenant back to back; >0: relay_all every so many seconds (the cron relay: 5)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed to each delivery phase")
    parser.add_argument("--owner-url", default=OWNER_URL, help="the bench database, as its owner")
    parser.add_argument("--output", type=Path, default=RESULTS / "notifications.json")
    args = parser.parse_args(argv)
    if not (1 <= args.tenants <= 50 and 1 <= args.workers <= 16 and 1 <= args.notices <= 200_000):
        parser.error("keep --tenants 1..50, --workers 1..16, --notices 1..200000")

    owner = checked_owner_url(args.owner_url)
    app_url = owner.set(username=APP_ROLE, password=None).render_as_string(hide_password=False)
    owner_url = owner.render_as_string(hide_password=False)
    ensure_database(owner)

    tmp = Path(tempfile.mkdtemp(prefix="wgt-bench-notify-"))
    procs = Processes(tmp)
    load_before = os.getloadavg()
    try:
        return _run(args, owner_url, app_url, tmp, procs, load_before)
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


def _run(args: argparse.Namespace, owner_url: str, app_url: str, tmp: Path, procs: Processes,
         load_before: tuple[float, float, float]) -> int:
    from saas import create_app, migrate
    from saas.db import make_engine

    redis_server, redis_url = start_redis(procs, tmp)
    app = create_app({"DATABASE_URL": app_url, "MIGRATE_DATABASE_URL": owner_url, "DATABASE_APP_ROLE": APP_ROLE,
                      "REDIS_URL": redis_url, "SECRET_KEY": SECRET_KEY, "RATELIMIT_ENABLED": False,
                      "OUTBOUND_ALLOW": LOCAL_RECEIVER})
    migrate.upgrade(app)
    owner_engine = make_engine(owner_url)
    empty_tables(owner_engine)

    print(f"setting up {args.tenants} districts × {args.users_per_tenant} staff …", flush=True)
    districts = setup_districts(app, args.tenants, args.users_per_tenant)
    tenant_ids = [t for t, _ in districts]
    receiver, receiver_url = start_receiver(procs, "receiver-ours")
    point_sms_at(app, tenant_ids, receiver_url)

    print(f"writing {args.notices} notices with notify() …", flush=True)
    write_seconds = write_notices(app, districts, args.notices, args.per_transaction)
    before = outbox_counts(app, tenant_ids)
    if before.get("pending") != args.notices:
        raise SystemExit(f"expected {args.notices} pending deliveries after writing, found {before}")
    posts = deliveries(app, tenant_ids)

    env = worker_env(owner_url, app_url, redis_url)
    print(f"delivering through the outbox: relay here, {args.workers} rq workers …", flush=True)
    workers = start_workers(procs, args.workers, redis_url, env, "ours", build_app=True)
    cpu = Cpu(owner_engine, {"rq workers": [w.pid for w in workers], "receiver": [receiver.pid],
                             "redis": [redis_server.pid]})
    ours = run_ours(app, tenant_ids, receiver_url, args.notices, args.batch, args.timeout, args.relay_interval)
    ours["cpu_seconds"] = cpu.done()
    wait_until(lambda: outbox_counts(app, tenant_ids).get("sent", 0) >= ours["delivered"], 30,
               "the last deliveries to be recorded as sent")
    counts = outbox_counts(app, tenant_ids)
    from redis import Redis
    from rq import Queue

    conn = Redis.from_url(redis_url)
    ours["failed_jobs"] = sum(Queue(q, connection=conn).failed_job_registry.count for q in QUEUES)
    ours["left_in_queues"] = sum(Queue(q, connection=conn).count for q in QUEUES)
    conn.flushdb()
    conn.close()
    for w in workers:
        procs.stop(w)
    procs.stop(receiver)

    print(f"bare baseline: the same {len(posts)} posts as plain RQ jobs, {args.workers} workers …", flush=True)
    receiver2, receiver2_url = start_receiver(procs, "receiver-bare")
    bare_workers = start_workers(procs, args.workers, redis_url, env, "bare", build_app=False)
    cpu = Cpu(owner_engine, {"rq workers": [w.pid for w in bare_workers], "receiver": [receiver2.pid],
                             "redis": [redis_server.pid]})
    bare = run_bare(redis_url, receiver2_url, posts, args.timeout)
    bare["cpu_seconds"] = cpu.done()
    for w in bare_workers:
        procs.stop(w)

    point_sms_at(app, tenant_ids, receiver2_url)  # the probe's few posts go to the running receiver
    statements = count_statements(app, districts[0][0], districts[0][1])
    load_after = os.getloadavg()

    lost = args.notices - ours["delivered"]
    duplicates = ours["duplicates"]
    ratio = ours["per_second"] / bare["per_second"] if bare["per_second"] else 0.0
    cpu_ratio = per_delivery(bare) / per_delivery(ours) if per_delivery(ours) else 0.0
    write_rate = args.notices / write_seconds
    all_sent = set(counts) == {"sent"}
    rows = [
        ("notices", f"{args.notices} over {args.tenants} districts, {args.workers} SimpleWorkers"),
        ("relay", f"relay_all every {args.relay_interval:g} s (as RQ cron)" if args.relay_interval > 0
         else f"relay_tenant per district back to back, batch {args.batch}"),
        ("notices written/s (notify, commit each "
         f"{args.per_transaction})", f"{write_rate:.0f}  ({write_seconds:.1f} s)"),
        ("deliveries/s, ours (outbox → relay → RQ → SMS adapter)",
         f"{ours['per_second']:.0f}  ({ours['seconds']:.1f} s; relay done after {ours['relay_seconds']} s)"),
        ("deliveries/s, bare RQ + HTTP post", f"{bare['per_second']:.0f}  ({bare['seconds']:.1f} s)"),
        ("ratio ours / bare", f"{ratio:.2f}"),
        ("ratio by CPU per delivery, bare / ours (all parts)", f"{cpu_ratio:.2f}"),
        ("lost (notices − delivered)", str(lost)),
        ("duplicates (repeated keys at the receiver)", f"{duplicates}  ({ours['requests']} requests)"),
        ("outbox status counts", ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))),
        ("failed RQ jobs (ours / bare)", f"{ours['failed_jobs']} / {bare['failed_jobs']}"),
        ("SQL statements: per notice / per relay batch / per delivery",
         f"{statements['per_notice_written']} / {statements['per_relay_batch']} (of {statements['relay_batch_rows']})"
         f" / {statements['per_delivery']}"),
        ("SQL statements: one notice to N people (N)",
         f"{statements['one_notice_to_people_statements']} ({statements['one_notice_to_people']})"),
        ("CPU ms per delivery: rq workers / all parts, ours",
         f"{per_delivery(ours, 'rq workers'):.1f} / {per_delivery(ours):.1f}"),
        ("CPU ms per delivery: rq workers / all parts, bare",
         f"{per_delivery(bare, 'rq workers'):.1f} / {per_delivery(bare):.1f}"),
        ("CPU s, ours", ", ".join(f"{k} {v}" for k, v in ours["cpu_seconds"].items())),
        ("CPU s, bare", ", ".join(f"{k} {v}" for k, v in bare["cpu_seconds"].items())),
        ("machine", f"{os.cpu_count()} CPUs, load average {load_before[0]:.1f} before, {load_after[0]:.1f} after"),
    ]
    print()
    print(table(rows))
    result = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python -m bench.notifications", *sys.argv[1:]]),
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k != "owner_url"},
        "database": owner_url.rsplit("/", 1)[-1],
        "written_per_second": round(write_rate, 1), "write_seconds": round(write_seconds, 3),
        "ours": ours, "bare": bare, "ratio": round(ratio, 3), "cpu_ratio": round(cpu_ratio, 3),
        "lost": lost, "duplicates": duplicates,
        "outbox_status": counts, "sql_statements": statements,
        "machine": {"cpus": os.cpu_count(), "load_before": load_before, "load_after": load_after,
                    "python": sys.version.split()[0]},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(f"\nwritten to {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}")
    ok = lost == 0 and duplicates == 0 and all_sent and bare["delivered"] == len(posts)
    if not ok:
        print("FAILED: every notice must be delivered exactly once and every outbox row be 'sent'", file=sys.stderr)
        for name in ("ours-worker-1", "receiver-ours"):
            print(f"--- {name} ---\n{procs.tail(name)}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
