"""Pipeline benchmarks (issue: the sync pipeline):

1. no-op pipeline throughput (claim, complete, attempt row) vs raw Dramatiq draining no-op
   messages, same processes and threads, alternating for ``BENCH_ROUNDS`` rounds (median)
   — target ratio ≥ 0.6;
2. `enqueue-due` for 100,000 due connections — target ≥ 20,000 jobs/s, ledger rows included;
3. manual-job pickup latency with 50,000 scheduled jobs waiting — target p99 ≤ 100 ms;
4. worker RSS per process.

Run: `make bench` (or `python -m bench.bench_pipeline`); writes bench/results/pipeline.md.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.message import Message
from tributary_common import scheduling
from tributary_common.db import open_pool, transaction
from tributary_common.dispatch import Dispatcher
from tributary_common.ledger import jobs
from tributary_common.migrate import migrate

from tools.localstack import services

ROOT = Path(__file__).resolve().parents[1]
PROCESSES, THREADS = 2, 4
NOOP_JOBS = int(os.environ.get("BENCH_NOOP_JOBS", "4000"))
DUE_CONNECTIONS = int(os.environ.get("BENCH_DUE_CONNECTIONS", "100000"))
WAITING = int(os.environ.get("BENCH_WAITING", "50000"))
MANUAL_SAMPLES = int(os.environ.get("BENCH_MANUAL_SAMPLES", "200"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _env(database_url: str, redis_url: str, namespace: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "TRIBUTARY_NAMESPACE": namespace,
        "BENCH_NAMESPACE": namespace,
        "TRIBUTARY_METRICS_PORT": "0",
        "TRIBUTARY_CONNECTORS_MODULE": "bench.noop_connectors",
        "TRIBUTARY_WORKER_PROCESSES": str(PROCESSES),
        "TRIBUTARY_WORKER_THREADS": str(THREADS),
        "LOG_LEVEL": "WARNING",
        "dramatiq_queue_prefetch": str(THREADS),
    }


def _start(cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _insert_connections(pool, n: int, prefix: str) -> None:
    with transaction(pool) as conn:
        conn.execute(
            "INSERT INTO connections (id, user_id, provider, account_id, access_token, next_due_at)"
            " SELECT gen_random_uuid(), %s || g, 'github', %s || g, 't', now() - interval '1 minute'"
            " FROM generate_series(1, %s) g",
            (prefix, prefix, n),
        )


def raw_dramatiq(redis_url: str) -> float:
    namespace = f"bench-raw-{uuid.uuid4().hex[:6]}"
    client = redis.Redis.from_url(redis_url)
    broker = RedisBroker(client=client, namespace=namespace)
    broker.declare_queue("bench.raw")
    for i in range(NOOP_JOBS):
        broker.enqueue(
            Message(
                queue_name="bench.raw", actor_name="noop", args=(str(i),), kwargs={}, options={}
            )
        )
    env = _env("postgresql://unused/none", redis_url, namespace)
    proc = _start(
        [
            sys.executable,
            "-m",
            "dramatiq",
            "bench.raw_dramatiq",
            "--processes",
            str(PROCESSES),
            "--threads",
            str(THREADS),
        ],
        env,
    )
    try:
        while int(client.get(f"{namespace}:done") or 0) < NOOP_JOBS:
            time.sleep(0.2)
    finally:
        _stop(proc)
    first, last = float(client.get(f"{namespace}:first")), float(client.get(f"{namespace}:last"))
    for key in client.scan_iter(f"{namespace}*"):
        client.delete(key)
    return (NOOP_JOBS - 1) / (last - first)


def noop_pipeline(database_url: str, redis_url: str) -> float:
    namespace = f"bench-pipe-{uuid.uuid4().hex[:6]}"
    pool = open_pool(database_url, max_size=4)
    client = redis.Redis.from_url(redis_url)
    _insert_connections(pool, NOOP_JOBS, "noop-")
    scheduling.enqueue_due(pool, Dispatcher(client, namespace), everything=True)
    proc = _start(
        [sys.executable, "-m", "tributary_worker"], _env(database_url, redis_url, namespace)
    )
    try:
        while True:
            with transaction(pool) as conn:
                row = conn.execute(
                    "SELECT count(*) FILTER (WHERE status = 'completed') AS done,"
                    " extract(epoch FROM max(completed_at) - min(started_at)) AS span FROM sync_jobs"
                ).fetchone()
            if row["done"] >= NOOP_JOBS:
                break
            time.sleep(0.5)
    finally:
        _stop(proc)
        with transaction(pool) as conn:
            conn.execute("TRUNCATE connections CASCADE")
        pool.close()
    return NOOP_JOBS / float(row["span"])


def enqueue_due_rate(database_url: str, redis_url: str) -> tuple[float, int]:
    namespace = f"bench-due-{uuid.uuid4().hex[:6]}"
    pool = open_pool(database_url, max_size=2)
    client = redis.Redis.from_url(redis_url)
    _insert_connections(pool, DUE_CONNECTIONS, "due-")
    with transaction(pool) as conn:
        conn.execute("ANALYZE connections")
    started = time.perf_counter()
    report = scheduling.enqueue_due(pool, Dispatcher(client, namespace))
    seconds = time.perf_counter() - started
    sent = client.llen(f"{namespace}:sync.scheduled")
    assert report.enqueued == DUE_CONNECTIONS == sent, (report, sent)
    client.delete(f"{namespace}:sync.scheduled", f"{namespace}:sync.scheduled.msgs")
    with transaction(pool) as conn:
        conn.execute("TRUNCATE connections CASCADE")
    pool.close()
    return report.enqueued / seconds, report.enqueued


def _wait_until_draining(pool, jobs_done: int = 200) -> None:
    """Return once the workers have booted and are working through the backlog."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with transaction(pool) as conn:
            done = conn.execute(
                "SELECT count(*) AS n FROM sync_jobs WHERE status = 'completed'"
            ).fetchone()["n"]
        if done >= jobs_done:
            return
        time.sleep(0.2)
    raise RuntimeError("workers did not start draining the backlog within 60 s")


def manual_pickup(database_url: str, redis_url: str) -> tuple[list[float], list[int]]:
    namespace = f"bench-manual-{uuid.uuid4().hex[:6]}"
    pool = open_pool(database_url, max_size=4)
    client = redis.Redis.from_url(redis_url)
    dispatcher = Dispatcher(client, namespace)
    _insert_connections(pool, WAITING, "wait-")
    scheduling.enqueue_due(pool, dispatcher, everything=True)
    _insert_connections(pool, MANUAL_SAMPLES, "vip-")
    with transaction(pool) as conn:
        vips = [
            r["id"] for r in conn.execute("SELECT id FROM connections WHERE user_id LIKE 'vip-%%'")
        ]
    proc = _start(
        [sys.executable, "-m", "tributary_worker"], _env(database_url, redis_url, namespace)
    )
    rss: list[int] = []
    try:
        _wait_until_draining(pool)
        job_ids = []
        for conn_id in vips:
            result = jobs.enqueue(
                pool, connection_id=conn_id, sync_date=scheduling.today_utc(), trigger="manual"
            )
            dispatcher.send(result.job["id"], result.job["queue"], result.job["message_id"])
            job_ids.append(result.job["id"])
            time.sleep(0.05)
        parent = psutil.Process(proc.pid)
        rss = [p.memory_info().rss for p in parent.children(recursive=True)]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with transaction(pool) as conn:
                rows = conn.execute(
                    "SELECT extract(epoch FROM started_at - created_at) AS wait, status FROM sync_jobs"
                    " WHERE id = ANY(%s)",
                    (job_ids,),
                ).fetchall()
            if all(r["status"] == "completed" for r in rows):
                break
            time.sleep(0.5)
        waiting_left = client.llen(f"{namespace}:sync.scheduled")
        print(f"scheduled still waiting when the last manual job finished: {waiting_left}")
        assert waiting_left > 0, "the scheduled backlog drained before the samples ended"
    finally:
        _stop(proc)
        for key in client.scan_iter(f"{namespace}*"):
            client.delete(key)
        with transaction(pool) as conn:
            conn.execute("TRUNCATE connections CASCADE")
        pool.close()
    return [float(r["wait"]) for r in rows if r["wait"] is not None], rss


def _verdict(what: str, met: bool) -> str:
    return f"- {what}: {'met' if met else 'NOT met'}"


def main() -> int:
    found = services.ensure(ROOT / ".run")
    name = f"bench_{uuid.uuid4().hex[:8]}"
    database_url = services.create_database(found.postgres_admin_url, name)
    migrate(database_url)
    lines = ["## Pipeline", "", f"Processes × threads: {PROCESSES} × {THREADS}.", ""]
    try:
        # Alternate the two, several rounds: the machine's noise then hits both alike.
        pairs = []
        for _ in range(ROUNDS):
            pairs.append(
                (raw_dramatiq(found.redis_url), noop_pipeline(database_url, found.redis_url))
            )
        ratios = [ours / raw for raw, ours in pairs]
        ratio = statistics.median(ratios)
        raw = statistics.median(r for r, _ in pairs)
        ours = statistics.median(o for _, o in pairs)
        rate, n = enqueue_due_rate(database_url, found.redis_url)
        waits, rss = manual_pickup(database_url, found.redis_url)
    finally:
        services.drop_database(found.postgres_admin_url, name)
    p50, p99 = _percentile(waits, 0.5) * 1000, _percentile(waits, 0.99) * 1000
    lines += [
        "| measure | result | target |",
        "|---|---|---|",
        f"| raw Dramatiq, no-op messages ({NOOP_JOBS}), median of {ROUNDS} | {raw:,.0f} msg/s | baseline |",
        f"| Tributary no-op jobs (claim, complete, attempt row), median | {ours:,.0f} jobs/s | |",
        "| ratio Tributary / raw Dramatiq, median (rounds: "
        + ", ".join(f"{r:.2f}" for r in ratios)
        + f") | **{ratio:.2f}** | ≥ 0.6 |",
        f"| enqueue-due, {n:,} due connections (rows + messages) | **{rate:,.0f} jobs/s** | ≥ 20,000 |",
        f"| manual pickup with {WAITING:,} scheduled waiting, p50 | {p50:.1f} ms | |",
        f"| manual pickup, p99 ({len(waits)} samples) | **{p99:.1f} ms** | ≤ 100 ms |",
        f"| worker RSS per process (parent + {PROCESSES} workers) | "
        + ", ".join(f"{r / 2**20:.0f} MiB" for r in rss)
        + " | |",
        "",
        _verdict("ratio", ratio >= 0.6),
        _verdict("enqueue-due rate", rate >= 20_000),
        _verdict("manual pickup p99", p99 <= 100),
        "",
    ]
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "pipeline.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
