"""I/O-bound pipeline benchmark (issue 18): how many syncs one worker pod keeps in flight.

A stand-in provider (`bench/slow_server.py`, its own process) answers every request after
``BENCH_IO_DELAY`` s (0.2); each job fetches ``BENCH_IO_PAGES`` (3) pages through the
real runner (limiter, ledger page saves, attempt rows) with no limits configured;
``BENCH_IO_JOBS`` (5,000) jobs are drained by one pod: ``BENCH_IO_PROCESSES`` (2) x
``BENCH_IO_THREADS`` (64) threads sharing ``BENCH_IO_DB`` (5) PostgreSQL connections per
process. Reported: jobs/s, requests in flight at the provider (mean, max), the ideal
``mean in flight / (pages x delay)``, peak RSS of the pod's processes and peak PostgreSQL
connections (`pg_stat_activity`). Targets: ≥ 128 in flight, ≥ 190 jobs/s (≥ 90 % of
ideal), ≤ 400 MiB RSS, ≤ 10 PostgreSQL connections.

Run: `make bench` (or `python -m bench.bench_io`); writes bench/results/io.md.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psutil
import redis
from tributary_common import scheduling
from tributary_common.db import open_pool, transaction
from tributary_common.dispatch import Dispatcher
from tributary_common.migrate import migrate

from bench.bench_pipeline import _insert_connections, _start, _stop
from tools.localstack import services

ROOT = Path(__file__).resolve().parents[1]
JOBS = int(os.environ.get("BENCH_IO_JOBS", "5000"))
PAGES = int(os.environ.get("BENCH_IO_PAGES", "3"))
DELAY = float(os.environ.get("BENCH_IO_DELAY", "0.2"))
PROCESSES = int(os.environ.get("BENCH_IO_PROCESSES", "2"))
THREADS = int(os.environ.get("BENCH_IO_THREADS", "64"))
DB_CONNECTIONS = int(os.environ.get("BENCH_IO_DB", "5"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tree_rss(proc: psutil.Process) -> int:
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total


def run(database_url: str, db_name: str, redis_url: str) -> dict[str, float]:
    namespace = f"bench-io-{uuid.uuid4().hex[:6]}"
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "bench.slow_server", str(port), str(DELAY)])
    stats_url = f"http://127.0.0.1:{port}/_stats"
    for _ in range(100):
        try:
            httpx.get(stats_url, timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    pool = open_pool(database_url, max_size=2)
    client = redis.Redis.from_url(redis_url)
    _insert_connections(pool, JOBS, "io-")
    scheduling.enqueue_due(pool, Dispatcher(client, namespace), everything=True)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "TRIBUTARY_NAMESPACE": namespace,
        "TRIBUTARY_METRICS_PORT": "0",
        "TRIBUTARY_CONNECTORS_MODULE": "bench.io_connectors",
        "TRIBUTARY_GITHUB_BASE_URL": f"http://127.0.0.1:{port}",
        "TRIBUTARY_LIMITS_GITHUB": "provider=none;account=none",
        "TRIBUTARY_WORKER_PROCESSES": str(PROCESSES),
        "TRIBUTARY_WORKER_THREADS": str(THREADS),
        "TRIBUTARY_WORKER_DB_CONNECTIONS": str(DB_CONNECTIONS),
        "BENCH_IO_PAGES": str(PAGES),
        "LOG_LEVEL": "WARNING",
    }
    worker = _start([sys.executable, "-m", "tributary_worker"], env)
    rss_peak, pg_peak = 0, 0
    deadline = time.monotonic() + 600
    try:
        while time.monotonic() < deadline:
            rss_peak = max(rss_peak, _tree_rss(psutil.Process(worker.pid)))
            with transaction(pool) as conn:
                row = conn.execute(
                    "SELECT (SELECT count(*) FROM sync_jobs WHERE status = 'completed') AS done,"
                    " (SELECT count(*) FROM pg_stat_activity WHERE datname = %s) AS conns",
                    (db_name,),
                ).fetchone()
            # the bench's own pool holds up to 2 of them
            pg_peak = max(pg_peak, int(row["conns"]) - 2)
            if row["done"] >= JOBS:
                break
            time.sleep(0.5)
        with transaction(pool) as conn:
            span = conn.execute(
                "SELECT count(*) AS done,"
                " extract(epoch FROM max(completed_at) - min(started_at)) AS span"
                " FROM sync_jobs WHERE status = 'completed'"
            ).fetchone()
        stats = httpx.get(stats_url, timeout=5).json()
    finally:
        _stop(worker)
        server.terminate()
        server.wait(10)
        for key in client.scan_iter(f"{namespace}*"):
            client.delete(key)
        pool.close()
    seconds = float(span["span"])
    mean_in_flight = stats["in_flight_seconds"] / seconds
    return {
        "jobs": float(span["done"]),
        "seconds": seconds,
        "jobs_per_s": span["done"] / seconds,
        "mean_in_flight": mean_in_flight,
        "max_in_flight": float(stats["max_in_flight"]),
        "ideal": mean_in_flight / (PAGES * DELAY),
        "rss_mib": rss_peak / 2**20,
        "pg_connections": float(pg_peak),
    }


def main() -> int:
    found = services.ensure(ROOT / ".run")
    name = f"bench_{uuid.uuid4().hex[:8]}"
    database_url = services.create_database(found.postgres_admin_url, name)
    migrate(database_url)
    try:
        r = run(database_url, name, found.redis_url)
    finally:
        services.drop_database(found.postgres_admin_url, name)
    capacity = PROCESSES * THREADS
    lines = [
        "## I/O-bound jobs per pod",
        "",
        f"{int(r['jobs']):,} jobs × {PAGES} pages, provider answers after {DELAY * 1000:.0f} ms;"
        f" one pod of {PROCESSES} processes × {THREADS} threads ({capacity} slots),"
        f" {DB_CONNECTIONS} PostgreSQL connections per process.",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        f"| jobs/s | **{r['jobs_per_s']:.1f}** | ≥ 190 |",
        f"| requests in flight at the provider, mean / max | {r['mean_in_flight']:.1f} / "
        f"{r['max_in_flight']:.0f} | ≥ 128 |",
        f"| ideal for that mean (in flight / ({PAGES} × {DELAY} s)) | {r['ideal']:.1f} jobs/s"
        f" ({100 * r['jobs_per_s'] / r['ideal']:.0f} % reached) | ≥ 90 % |",
        f"| peak RSS of the pod's processes | {r['rss_mib']:.0f} MiB | ≤ 400 MiB |",
        f"| peak PostgreSQL connections of the pod | {r['pg_connections']:.0f} | ≤ 10 |",
        "",
    ]
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "io.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
