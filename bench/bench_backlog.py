"""Big backlogs: the routes and commands that count jobs, at 1,000,000 pending jobs.

A private, migrated database holds ``BENCH_PENDING`` pending jobs (default 1,000,000; 10,000
connections x 100 windows) and ``BENCH_FINISHED`` finished ones of the last 24 h (default
1,000,000; ``BENCH_FINISHED=10000000`` for the issue's 10M, which takes minutes to seed),
then ``BACK_USERS`` users whose pending jobs were enqueued last: the back of the queue, the
slowest position to count. A real gunicorn (``GUNICORN_WORKERS``, default 4) serves:

1. ``GET /api/sync/status?userId=&provider=`` for users at the back, open loop at 500
   requests/s for ``BENCH_PHASE_SECONDS`` (latency from each request's scheduled time);
2. ``GET /api/sync/status`` (queue statistics), ``QUEUE_REQUESTS`` requests one at a time;
3. ``GET /api/cron/sync-hourly`` (enqueue-due, cleanup and health), ``HOURLY_REQUESTS``
   one at a time.

Budgets (p99): user status 25 ms at 500 requests/s (the issue's); queue statistics 100 ms
and sync-hourly 250 ms (ours: an operator's page and a cron call, each well under the
1.1 s and 0.66 s the full scans took). Writes ``bench/results/backlog.md``.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import redis
from tributary_common.migrate import migrate

from bench.bench_api import Conn, Phase, build, free_port, measure, start_server
from tools.localstack import services as localstack

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "backlog.md"
PENDING = int(os.environ.get("BENCH_PENDING", "1000000"))
FINISHED = int(os.environ.get("BENCH_FINISHED", "1000000"))
PHASE_SECONDS = float(os.environ.get("BENCH_PHASE_SECONDS", "8"))
QUEUE_REQUESTS = int(os.environ.get("QUEUE_REQUESTS", "40"))
HOURLY_REQUESTS = int(os.environ.get("HOURLY_REQUESTS", "20"))
BACK_USERS = 2000
CONNECTIONS = 10_000
TARGET_RPS = 500
BUDGETS_MS = {"user status": 25.0, "queue statistics": 100.0, "sync-hourly": 250.0}
CRON = "bench-cron"


def seed(database_url: str) -> None:
    windows = max(1, PENDING // CONNECTIONS)
    finished_windows = max(1, FINISHED // CONNECTIONS)
    statements = [
        # Connections due in an hour or more: sync-hourly's enqueue-due finds none due.
        f"""INSERT INTO connections (id, user_id, provider, account_id, access_token, next_due_at)
        SELECT gen_random_uuid(), 'backlog-' || i, 'youtube', 'a' || i, 't',
               now() + interval '1 hour'
        FROM generate_series(1, {CONNECTIONS}) AS i""",
        f"""INSERT INTO sync_jobs (id, user_id, platform, connection_id, sync_date, trigger,
                                   priority, queue, status, completed_at, created_at)
        SELECT gen_random_uuid(), c.user_id, c.provider, c.id, date '2000-01-01' + d,
               'scheduled', 5, 'sync.scheduled',
               CASE WHEN d % 20 = 0 THEN 'failed' ELSE 'completed' END,
               now() - random() * interval '23 hours', now() - interval '1 day'
        FROM connections c, generate_series(1, {finished_windows}) AS d""",
        f"""INSERT INTO sync_jobs (id, user_id, platform, connection_id, sync_date, trigger,
                                   priority, queue, created_at)
        SELECT gen_random_uuid(), c.user_id, c.provider, c.id, date '2024-01-01' + d,
               'scheduled', 5, 'sync.scheduled', now() - interval '10 minutes'
        FROM connections c, generate_series(1, {windows}) AS d""",
        f"""INSERT INTO connections (id, user_id, provider, account_id, access_token, next_due_at)
        SELECT gen_random_uuid(), 'back-u' || i, 'github', 'b' || i, 't', now() + interval '1 hour'
        FROM generate_series(1, {BACK_USERS}) AS i""",
        """INSERT INTO sync_jobs (id, user_id, platform, connection_id, sync_date, trigger,
                                  priority, queue)
        SELECT gen_random_uuid(), c.user_id, c.provider, c.id, date '2024-01-01', 'scheduled',
               5, 'sync.scheduled'
        FROM connections c WHERE c.provider = 'github'""",
        "VACUUM ANALYZE",
    ]
    with psycopg.connect(database_url, autocommit=True) as conn:
        for sql in statements:
            started = time.perf_counter()
            conn.execute(sql.encode())
            print(
                f"seed: {' '.join(sql.split()[:3])} {time.perf_counter() - started:.1f} s",
                flush=True,
            )


async def status_at_rate(host: str, port: int, phase: Phase) -> None:
    idle = [Conn(host, port) for _ in range(64)]
    start = time.perf_counter()
    total = int(TARGET_RPS * PHASE_SECONDS)

    async def one(at: float) -> None:
        conn = idle.pop() if idle else Conn(host, port)
        path = f"/api/sync/status?userId=back-u{random.randint(1, BACK_USERS)}&provider=github"
        try:
            status, _ = await conn.request(build("GET", path, f"{host}:{port}"))
        except (ConnectionError, asyncio.IncompleteReadError):
            status, conn = 0, Conn(host, port)  # counted as an error (status 0), not hidden
        phase.latencies_ms.append((time.perf_counter() - at) * 1000)
        phase.statuses[status] = phase.statuses.get(status, 0) + 1
        idle.append(conn)

    tasks = []
    for i in range(total):
        at = start + i / TARGET_RPS
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        tasks.append(asyncio.create_task(one(at)))
    await asyncio.gather(*tasks)
    phase.seconds = time.perf_counter() - start


async def one_at_a_time(host: str, port: int, path: str, count: int, phase: Phase) -> None:
    conn = Conn(host, port)
    start = time.perf_counter()
    for _ in range(count):
        raw = build("GET", path, f"{host}:{port}")
        if "cron" in path:
            raw = raw.replace(b"Bearer bench-token", f"Bearer {CRON}".encode())
        at = time.perf_counter()
        status, _ = await conn.request(raw)
        phase.latencies_ms.append((time.perf_counter() - at) * 1000)
        phase.statuses[status] = phase.statuses.get(status, 0) + 1
    phase.seconds = time.perf_counter() - start


def report(phases: dict[str, Phase], pending: int, finished: int) -> str:
    rows = [
        "| route | requests | requests/s | p50 ms | p99 ms | budget p99 ms | statuses | verdict |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for name, p in phases.items():
        budget = BUDGETS_MS[name]
        met = p.pct(0.99) <= budget and set(p.statuses) == {200}
        if name == "user status":
            met = met and p.rps >= TARGET_RPS * 0.97
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(p.statuses.items()))
        rows.append(
            f"| {name} | {len(p.latencies_ms)} | {p.rps:.0f} | {p.pct(0.5):.1f} |"
            f" {p.pct(0.99):.1f} | {budget:.0f} | {codes} | {'met' if met else 'NOT met'} |"
        )
    header = (
        f"# Big backlogs\n\n`bench/bench_backlog.py`: {pending:,} pending and {finished:,}"
        f" finished jobs (24 h), gunicorn {os.environ.get('GUNICORN_WORKERS', '4')} sync"
        f" workers, load generator on the same host; user status for users at the back of the"
        f" queue at {TARGET_RPS} requests/s for {PHASE_SECONDS:.0f} s, queue statistics and"
        f" sync-hourly one request at a time; {os.cpu_count()} CPUs,"
        f" {datetime.now(UTC):%Y-%m-%d}.\n\n"
    )
    return header + "\n".join(rows) + "\n"


def main() -> None:
    found = localstack.ensure()
    name = f"trt_bench_backlog_{uuid.uuid4().hex[:8]}"
    database_url = localstack.create_database(found.postgres_admin_url, name)
    namespace = f"bench-backlog-{uuid.uuid4().hex[:6]}"
    proc = None
    try:
        migrate(database_url)
        seed(database_url)
        with psycopg.connect(database_url) as conn:
            counts = dict(
                conn.execute("SELECT status, count(*) FROM sync_jobs GROUP BY status").fetchall()
            )
        port = free_port()
        proc = start_server(database_url, found.redis_url, namespace, port)
        phases = {n: Phase(n) for n in BUDGETS_MS}
        host = "127.0.0.1"
        measure(status_at_rate(host, port, phases["user status"]))
        measure(
            one_at_a_time(
                host, port, "/api/sync/status", QUEUE_REQUESTS, phases["queue statistics"]
            )
        )
        measure(
            one_at_a_time(
                host, port, "/api/cron/sync-hourly", HOURLY_REQUESTS, phases["sync-hourly"]
            )
        )
        text = report(
            phases,
            int(counts.get("pending", 0)),
            int(counts.get("completed", 0)) + int(counts.get("failed", 0)),
        )
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text)
        print(text)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
        localstack.drop_database(found.postgres_admin_url, name)
        client = redis.Redis.from_url(found.redis_url)
        keys = list(client.scan_iter(match=f"{namespace}*"))
        if keys:
            client.delete(*keys)


if __name__ == "__main__":
    main()
