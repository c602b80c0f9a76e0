"""Outages that must cost nothing: each test breaks a real dependency of a running system
(private PostgreSQL and Redis, real worker processes, the simulator as the providers) and
asserts the ledger's counts afterwards, recording how many seconds the fault cost."""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from tributary_common.errors import LedgerUnavailable

from tests.e2e.stack import ROOT, Stack
from tests.faults.conftest import API_TOKEN, LiveApi, Private, record, redis_flushall
from tests.support.simulator import SimAdmin

pytestmark = pytest.mark.timeout(240)


def _outcomes(stack: Stack) -> dict[uuid.UUID, list[str]]:
    rows = stack.query("SELECT job_id, outcome FROM sync_attempts ORDER BY id")
    found: dict[uuid.UUID, list[str]] = {}
    for row in rows:
        found.setdefault(row["job_id"], []).append(row["outcome"])
    return found


def _count(stack: Stack, status: str, ids: list[uuid.UUID]) -> int:
    try:
        rows = stack.query(
            "SELECT count(*) AS n FROM sync_jobs WHERE id = ANY(%s) AND status = %s", ids, status
        )
    except LedgerUnavailable:
        return -1
    return int(rows[0]["n"])


def _wait_completed(stack: Stack, ids: list[uuid.UUID], timeout: float, what: str) -> float:
    """Seconds until every job in ``ids`` completed (fails after ``timeout``)."""
    started = time.monotonic()
    stack.wait_for(lambda: _count(stack, "completed", ids) == len(ids), timeout, what)
    return time.monotonic() - started


def _connections(stack: Stack, prefix: str, n: int, provider: str = "github") -> list[Any]:
    return [stack.connect(provider, f"{prefix}-{i}", user_id=f"{prefix}-{i}") for i in range(n)]


def _assert_each_completed_once(
    stack: Stack, ids: list[uuid.UUID], handed_back: bool = False
) -> None:
    """Each job has one completed attempt and nothing else but, with ``handed_back``,
    `interrupted` ones (a run handed back because the ledger could not be reached)."""
    outcomes = _outcomes(stack)
    allowed = {"interrupted"} if handed_back else set()
    wrong = {
        str(i): got
        for i in ids
        if (got := outcomes.get(i, []))[-1:] != ["completed"] or set(got[:-1]) - allowed
    }
    assert not wrong, f"jobs not completed exactly once, with nothing else: {wrong}"
    crashes = stack.query("SELECT count(*) AS n FROM sync_jobs WHERE crash_count > 0")[0]["n"]
    assert crashes == 0


def test_kill_9_mid_job_completes_once_within_15_s(stack: Stack, sim: SimAdmin) -> None:
    # Given a job whose first provider request hangs for 5 s, on a worker of its own
    sim.fault("github", "slow", account="kill-acct", count=1, delaySeconds=5)
    conn = stack.connect("github", "kill-acct")
    victim = stack.start_workers(processes=1, threads=1)
    job = stack.enqueue(conn["id"], sim.today).job
    stack.wait_for(lambda: stack.job(job["id"])["status"] == "processing", 30, "job processing")
    stack.start_workers(processes=1, threads=2)
    time.sleep(1.0)

    # When its worker is killed with SIGKILL mid-request
    os.killpg(victim.pid, signal.SIGKILL)
    killed = time.monotonic()
    victim.wait(5)
    stack.workers.remove(victim)

    # Then the other worker completes it within 15 s, once, the crash on record
    seconds = _wait_completed(stack, [job["id"]], 30, "the killed worker's job")
    seconds = time.monotonic() - killed
    record("kill_9_mid_job", seconds_to_complete=seconds)
    assert seconds <= 15
    row = stack.job(job["id"])
    assert row["crash_count"] == 1
    assert _outcomes(stack)[job["id"]] == ["crashed", "completed"]
    stored = stack.query(
        "SELECT count(*) AS n FROM synced_records WHERE connection_id = %s", conn["id"]
    )[0]["n"]
    assert stored == row["records_synced"] > 0


def test_flushall_mid_drain_then_reconcile_completes_all(
    stack: Stack, sim: SimAdmin, private: Private
) -> None:
    # Given 30 jobs draining slowly
    sim.fault("github", "slow", count=None, delaySeconds=0.3)
    ids = [
        stack.enqueue(c["id"], sim.today, trigger="scheduled").job["id"]
        for c in _connections(stack, "flush", 30)
    ]
    stack.start_workers(processes=1, threads=2)
    stack.wait_for(lambda: _count(stack, "completed", ids) >= 3, 60, "a few jobs completed")

    # When Redis loses every message, and reconcile runs
    redis_flushall(private.redis_url)
    flushed = time.monotonic()
    sim.clear_faults()
    time.sleep(1.2)  # past the reconcile grace (1 s in the stack's environment)
    result = stack.scheduler("reconcile")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["resent"] > 0

    # Then every job completes, each exactly once
    _wait_completed(stack, ids, 60, "all jobs after FLUSHALL")
    record("redis_flushall", seconds_to_all_complete=time.monotonic() - flushed, jobs=len(ids))
    _assert_each_completed_once(stack, ids)


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 2 else max(values)


def test_postgres_down_30_s_work_resumes_without_reconcile(
    stack: Stack, sim: SimAdmin, private: Private, api: LiveApi
) -> None:
    # Given 40 jobs draining slowly through 2 worker processes, and clients on the api
    sim.fault("github", "slow", count=None, delaySeconds=0.4)
    conns = _connections(stack, "pgdown", 40)
    ids = [stack.enqueue(c["id"], sim.today, trigger="scheduled").job["id"] for c in conns]
    stack.start_workers(processes=2, threads=2)
    stack.wait_for(lambda: _count(stack, "completed", ids) >= 2, 60, "the drain under way")

    # When PostgreSQL is down for 30 s (every session cut), while clients keep calling
    # the api (from a process of their own, so their timings are the api's)
    out = stack.tmp / "probe.json"
    prober = subprocess.Popen(
        [sys.executable, "-m", "tests.faults.prober", api.url, API_TOKEN, "36", str(out)],
        env=stack.env,
        cwd=ROOT,
    )
    time.sleep(4.0)  # a baseline of the machine's own latency first
    private.pg.stop("fast")
    down = time.monotonic()
    time.sleep(30)
    up_at = time.monotonic()
    private.pg.start()
    returned = time.monotonic()
    sim.clear_faults()

    # Then every job completes within 20 s of its return, no reconcile run, no crash
    stack.wait_for(lambda: _count(stack, "completed", ids) == len(ids), 60, "all jobs")
    seconds = time.monotonic() - returned
    assert prober.wait(60) == 0
    probe = json.loads(out.read_text())
    # the api knows within a second (each gunicorn worker's first call finds out)
    outage = [c for c in probe["calls"] if down + 1.0 <= c[0] and c[0] + c[1] <= up_at]
    health = [h for h in probe["health"] if down <= h[0] <= up_at]
    api_p99 = _p99([c[1] for c in outage])
    health_p99 = _p99([h[1] for h in health])
    # The target is 100 ms; on a machine busier than the api (other processes queueing
    # for the same cores) `/healthz` alone is slower than that before the outage, so the
    # bound is that target or 3x the healthy `/healthz` p99 just before, whichever is
    # larger. The failure this guards against costs seconds (the 5 s pool timeout, a
    # starved probe), far beyond either.
    before = [h[1] for h in probe["health"] if down - 3.5 <= h[0] < down]
    baseline = _p99(before)
    bound = max(0.100, 3 * baseline)
    record(
        "postgres_down_30s",
        seconds_to_all_complete_after_return=seconds,
        jobs=len(ids),
        api_requests_during_outage=len(outage),
        api_503_p99_ms=api_p99 * 1000,
        api_max_ms=max(c[1] for c in outage) * 1000,
        healthz_probes=len(health),
        healthz_p99_ms=health_p99 * 1000,
        healthz_max_ms=max(h[1] for h in health) * 1000,
        healthz_p99_ms_before_outage=baseline * 1000,
    )
    assert seconds <= 20, f"jobs completed {seconds:.1f} s after PostgreSQL came back"
    _assert_each_completed_once(stack, ids, handed_back=True)
    assert "reconcile" not in {r["command"] for r in stack.query("SELECT * FROM scheduler_runs")}
    # the api said so fast, and stayed alive for its liveness probe
    assert outage and {(c[2], c[3]) for c in outage} == {(503, "database_unavailable")}
    assert api_p99 <= bound, f"api p99 {api_p99 * 1000:.0f} ms during the outage"
    assert health and all(h[2] == 200 for h in health)
    assert health_p99 <= bound, f"/healthz p99 {health_p99 * 1000:.0f} ms during the outage"


def test_redis_down_during_manual_and_sync_all(
    stack: Stack, sim: SimAdmin, private: Private, api: LiveApi
) -> None:
    # Given 20 connections, and Redis gone
    conns = _connections(stack, "rdown", 20)
    private.stop_redis()
    try:
        # When a manual sync and a sync-all are asked for
        manual = httpx.post(
            f"{api.url}/api/sync/manual",
            json={"userId": "rdown-0", "provider": "github"},
            headers=api.headers,
            timeout=30,
        )
        sync_all = httpx.post(f"{api.url}/api/cron/sync-all", headers=api.cron, timeout=60)
        # and reconcile runs, which cannot do its job without Redis
        reconcile_down = stack.scheduler("reconcile")
    finally:
        private.start_redis()
    back = time.monotonic()

    # Then both were accepted, the report saying what was left for reconcile
    assert manual.status_code == 202, manual.text
    assert manual.json()["dispatched"] is False
    assert sync_all.status_code == 200, sync_all.text
    report = sync_all.json()
    assert report["enqueued"] == 19 and report["skipped"] == 1
    assert report["dispatched"] == 0 and report["leftForReconcile"] == 19
    assert reconcile_down.returncode == 1, reconcile_down.stdout + reconcile_down.stderr

    # and once Redis is back, reconcile sends them all and each completes once
    stack.start_workers(processes=1, threads=4)
    time.sleep(1.2)  # past the reconcile grace
    result = stack.scheduler("reconcile")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["resent"] == 20
    ids = [r["id"] for r in stack.query("SELECT id FROM sync_jobs")]
    assert len(ids) == 20 and {c["id"] for c in conns} == {
        r["connection_id"] for r in stack.query("SELECT connection_id FROM sync_jobs")
    }
    _wait_completed(stack, ids, 60, "jobs enqueued while Redis was down")
    record("redis_down_manual_and_sync_all", seconds_to_all_complete=time.monotonic() - back)
    _assert_each_completed_once(stack, ids)


def test_sigterm_during_a_long_page_hands_the_job_back(stack: Stack, sim: SimAdmin) -> None:
    # Given a job 20 days back (several pages) whose second page takes 12 s, on a worker
    # with a 2 s shutdown grace (Dramatiq stops it 5 s after the grace)
    sim.fault("github", "slow", account="term-acct", after=1, count=1, delaySeconds=12)
    conn = stack.connect("github", "term-acct")
    worker = stack.start_workers(processes=1, threads=1, TRIBUTARY_SHUTDOWN_GRACE_SECONDS="2")
    job = stack.enqueue(conn["id"], sim.today - timedelta(days=20)).job
    stack.wait_for(
        lambda: bool(
            stack.query("SELECT 1 FROM sync_cursors WHERE connection_id = %s", conn["id"])
        ),
        30,
        "the first page stored with its cursor",
    )
    time.sleep(0.5)  # inside the slow second page

    # When the worker is asked to stop
    os.kill(worker.pid, signal.SIGTERM)
    asked = time.monotonic()
    stack.wait_for(lambda: stack.job(job["id"])["status"] == "pending", 15, "job handed back")
    handed_back = time.monotonic() - asked
    worker.wait(30)
    stack.workers.remove(worker)

    # Then before the hard stop (grace + 5 s) it was handed back as interrupted, its
    # cursor kept, no crash; a new worker finishes it
    assert handed_back < 2 + 5, f"handed back {handed_back:.1f} s after SIGTERM"
    row = stack.job(job["id"])
    assert row["crash_count"] == 0
    assert _outcomes(stack)[job["id"]] == ["interrupted"]
    assert stack.query("SELECT 1 FROM sync_cursors WHERE connection_id = %s", conn["id"])
    stack.start_workers(processes=1, threads=1)
    _wait_completed(stack, [job["id"]], 60, "the handed-back job")
    record("sigterm_long_page", seconds_to_hand_back=handed_back, page_seconds=12.0)
    row = stack.job(job["id"])
    assert _outcomes(stack)[job["id"]] == ["interrupted", "completed"]
    assert row["crash_count"] == 0 and row["attempts"] == 1
    stored = stack.query(
        "SELECT count(*) AS n FROM synced_records WHERE connection_id = %s", conn["id"]
    )[0]["n"]
    assert stored == row["records_synced"]


def _server_log_deadlocks(private: Private, offset: int) -> list[str]:
    log = private.pg.pgdata / "log"
    text = log.read_bytes()[offset:].decode(errors="replace") if log.exists() else ""
    return [line for line in text.splitlines() if "deadlock detected" in line]


def test_concurrent_enqueue_due_all_during_a_drain(
    stack: Stack, sim: SimAdmin, private: Private
) -> None:
    # Given 150 connections with a scheduled job each, draining through 2 processes
    stack.query(
        "INSERT INTO connections (id, user_id, provider, account_id, access_token)"
        " SELECT gen_random_uuid(), 'drain-' || g, 'github', 'drain' || g, 't'"
        " FROM generate_series(1, 150) g RETURNING 1"
    )
    log = private.pg.pgdata / "log"
    offset = log.stat().st_size if log.exists() else 0
    first = stack.scheduler("enqueue-due", "--all")
    assert first.returncode == 0, first.stderr
    stack.start_workers(processes=2, threads=4)

    # When `enqueue-due --all` runs 8 times, two at a time, while jobs complete
    with concurrent.futures.ThreadPoolExecutor(2) as runs:
        results = list(runs.map(lambda _: stack.scheduler("enqueue-due", "--all"), range(8)))
    ids = [r["id"] for r in stack.query("SELECT id FROM sync_jobs")]
    _wait_completed(stack, ids, 120, "every job of the drain")
    time.sleep(1.0)

    # Then no deadlock happened, every run succeeded, and no job ran twice
    assert all(r.returncode == 0 for r in results), [r.stderr[-500:] for r in results]
    deadlocks = _server_log_deadlocks(private, offset)
    stats = stack.query(
        "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
    )[0]["deadlocks"]
    record("enqueue_due_during_drain", runs=len(results), jobs=len(ids), deadlocks=len(deadlocks))
    assert deadlocks == [] and stats == 0
    _assert_each_completed_once(stack, ids)
    assert "PostgreSQL unavailable" not in stack.worker_log()
