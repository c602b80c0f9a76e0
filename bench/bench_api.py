"""Load test of the api on loopback: `GET /api/sync/status?userId=…` and `POST /api/sync/manual`.

Starts a real gunicorn (``GUNICORN_WORKERS``, default 4 sync workers) on a private,
migrated database (dropped after) holding 2,000 connections, 20,000 pending and 50,000
finished jobs, so queue positions count a real backlog. The load generator is a small
asyncio HTTP/1.1 client of our own (no wrk needed); it shares the 2 cores with the server,
and runs each phase with its cyclic GC paused so its own collections are not counted.

Phases (``PHASE_SECONDS`` each):
1. status, closed loop, ``CONCURRENCY`` connections: maximum throughput, p50/p99;
2. status, open loop at 500 requests/s: latency at the target rate (measured from the
   scheduled send time, so queueing delay counts);
3. manual, closed loop: throughput, p50/p99; afterwards every accepted job id must be in
   the ledger.

Writes a Markdown table to ``bench/results/api.md``. Targets: status p99 <= 25 ms at
>= 500 requests/s; manual >= 300 requests/s with no accepted job missing.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import random
import socket
import subprocess
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import redis
from tributary_common.migrate import migrate

from tools.localstack import services as localstack
from tools.localstack.processes import API_COMMAND, wait_ready

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "api.md"
TOKEN = "bench-token"
USERS = 2000
PHASE_SECONDS = float(os.environ.get("BENCH_PHASE_SECONDS", "8"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
TARGET_RPS = 500

SEED = [
    f"""INSERT INTO connections (id, user_id, provider, account_id, access_token)
    SELECT gen_random_uuid(), 'bench-u' || i, 'github', 'acct' || i, 'token'
    FROM generate_series(1, {USERS}) AS i""",
    """INSERT INTO connections (id, user_id, provider, account_id, access_token)
    SELECT gen_random_uuid(), 'backlog-' || i, 'youtube', 'a' || i, 't'
    FROM generate_series(1, 20000) AS i""",
    """INSERT INTO sync_jobs (id, user_id, platform, connection_id, sync_date, trigger, priority,
                           queue, created_at)
    SELECT gen_random_uuid(), c.user_id, c.provider, c.id, date '2024-01-01',
           'scheduled', 5, 'sync.scheduled', now() - random() * interval '1 hour'
    FROM connections c WHERE c.provider = 'youtube'""",
    """INSERT INTO sync_jobs (id, user_id, platform, connection_id, sync_date, trigger, priority,
                           queue, status, completed_at)
    SELECT gen_random_uuid(), c.user_id, c.provider, c.id, date '2023-01-01' + d,
           'scheduled', 5, 'sync.scheduled', 'completed', now() - d * interval '1 minute'
    FROM connections c, generate_series(1, 25) AS d WHERE c.provider = 'github'""",
    "VACUUM ANALYZE",
]


@dataclass
class Phase:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0
    job_ids: set[str] = field(default_factory=set)

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0


class Conn:
    """One keep-alive HTTP/1.1 connection; reconnects when the server closes it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {
            k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)
        }
        body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            self.writer.close()
            self.reader = self.writer = None
        return status, body


def build(method: str, path: str, host: str, body: dict[str, object] | None = None) -> bytes:
    payload = b"" if body is None else json.dumps(body).encode()
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


def status_request(host: str) -> bytes:
    return build(
        "GET", f"/api/sync/status?userId=bench-u{random.randint(1, USERS)}&provider=github", host
    )


def manual_request(host: str) -> bytes:
    day = datetime.now(UTC).date() - timedelta(days=random.randint(0, 300))
    body = {
        "userId": f"bench-u{random.randint(1, USERS)}",
        "provider": "github",
        "syncDate": day.isoformat(),
    }
    return build("POST", "/api/sync/manual", host, body)


async def closed_loop(host: str, port: int, make: object, phase: Phase) -> None:
    deadline = time.perf_counter() + PHASE_SECONDS

    async def one() -> None:
        conn = Conn(host, port)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            status, body = await conn.request(make(f"{host}:{port}"))  # type: ignore[operator]
            phase.latencies_ms.append((time.perf_counter() - started) * 1000)
            phase.statuses[status] = phase.statuses.get(status, 0) + 1
            if status == 202:
                phase.job_ids.add(json.loads(body)["jobId"])

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(CONCURRENCY)))
    phase.seconds = time.perf_counter() - started


async def open_loop(host: str, port: int, rate: float, phase: Phase) -> None:
    """Send at a fixed rate; latency counts from each request's scheduled time."""
    idle: list[Conn] = [Conn(host, port) for _ in range(64)]
    start = time.perf_counter()
    total = int(rate * PHASE_SECONDS)

    async def one(at: float) -> None:
        conn = idle.pop() if idle else Conn(host, port)
        status, _ = await conn.request(status_request(f"{host}:{port}"))
        phase.latencies_ms.append((time.perf_counter() - at) * 1000)
        phase.statuses[status] = phase.statuses.get(status, 0) + 1
        idle.append(conn)

    # Each request is started at its time (not all created up front, which would make the
    # first ones late while the event loop set up thousands of tasks).
    tasks = []
    for i in range(total):
        at = start + i / rate
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        tasks.append(asyncio.create_task(one(at)))
    await asyncio.gather(*tasks)
    phase.seconds = time.perf_counter() - start


def measure(load: Coroutine[Any, Any, None]) -> None:
    """Run one phase with the load generator's cyclic GC paused: its collections (tens of
    ms with thousands of live tasks) would otherwise count as server latency. wrk, in C,
    has no such pauses."""
    gc.collect()
    gc.disable()
    try:
        asyncio.run(load)
    finally:
        gc.enable()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    database_url: str, redis_url: str, namespace: str, port: int
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "TRIBUTARY_NAMESPACE": namespace,
        "API_TOKEN": TOKEN,
        "CRON_SECRET": "bench-cron",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": os.environ.get("GUNICORN_WORKERS", "4"),
        "LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        API_COMMAND,
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", proc=proc)
    except RuntimeError:
        proc.terminate()
        raise
    return proc


def report(phases: list[Phase], missing: int, workers: str) -> str:
    rows = [
        "| phase | requests | requests/s | p50 ms | p99 ms | statuses |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for p in phases:
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(p.statuses.items()))
        cells = [p.name, str(len(p.latencies_ms)), f"{p.rps:.0f}", f"{p.pct(0.5):.1f}"]
        rows.append("| " + " | ".join([*cells, f"{p.pct(0.99):.1f}", codes]) + " |")
    fixed, manual = phases[1], phases[2]
    status_met = fixed.pct(0.99) <= 25 and fixed.rps >= TARGET_RPS * 0.97
    verdict = [
        f"- status at {TARGET_RPS} requests/s: p99 {fixed.pct(0.99):.1f} ms (target <= 25 ms): "
        + ("met" if status_met else "NOT met"),
        f"- manual: {manual.rps:.0f} requests/s (target >= 300): "
        + ("met" if manual.rps >= 300 else "NOT met")
        + f"; accepted jobs missing from the ledger: {missing}",
    ]
    header = (
        f"# API load test\n\ngunicorn, {workers} sync workers, load generator on the same host "
        f"(`bench/bench_api.py`, GC paused during phases, {CONCURRENCY} connections closed loop, "
        f"{PHASE_SECONDS:.0f} s per phase), {os.cpu_count()} CPUs, "
        f"{datetime.now(UTC):%Y-%m-%d}.\n\n"
    )
    return header + "\n".join(rows) + "\n\n" + "\n".join(verdict) + "\n"


def main() -> None:
    found = localstack.ensure()
    name = f"trt_bench_api_{uuid.uuid4().hex[:8]}"
    database_url = localstack.create_database(found.postgres_admin_url, name)
    namespace = f"bench-api-{uuid.uuid4().hex[:6]}"
    proc = None
    try:
        migrate(database_url)
        with psycopg.connect(database_url, autocommit=True) as conn:
            for statement in SEED:
                conn.execute(statement.encode())
        port = free_port()
        proc = start_server(database_url, found.redis_url, namespace, port)
        phases = [
            Phase("GET /api/sync/status, closed loop"),
            Phase(f"GET /api/sync/status at {TARGET_RPS}/s"),
            Phase("POST /api/sync/manual, closed loop"),
        ]
        measure(closed_loop("127.0.0.1", port, status_request, phases[0]))
        measure(open_loop("127.0.0.1", port, TARGET_RPS, phases[1]))
        measure(closed_loop("127.0.0.1", port, manual_request, phases[2]))
        with psycopg.connect(database_url) as conn:
            ids = list(phases[2].job_ids)
            present = conn.execute(
                "SELECT count(*) FROM sync_jobs WHERE id = ANY(%s::uuid[])", (ids,)
            ).fetchone()
        missing = len(ids) - (present[0] if present else 0)
        text = report(phases, missing, os.environ.get("GUNICORN_WORKERS", "4"))
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
