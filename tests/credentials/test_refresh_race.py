"""Single flight across processes: one connection with single-use rotating refresh tokens
(X) whose access token expires during a run of 2 worker processes x 4 threads, 100 jobs on
it and 100 on other connections. Exactly one refresh, no invalid_grant, no needs_reauth,
every job completed — also when the worker holding the refresh lock is killed (SIGKILL)."""

from __future__ import annotations

import os
import signal
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psutil
from tributary_common.credentials import store
from tributary_common.ledger import connections
from tributary_simulator.oauth import oauth_env

from tests.e2e.stack import Stack
from tests.support.keys import local_box
from tests.support.simulator import SimAdmin
from tools.localstack.run import DEMO_ACCOUNTS

JOBS_ON_IT, JOBS_ON_OTHERS = 100, 100


def _configure(stack: Stack, sim: SimAdmin, lock_seconds: str) -> None:
    stack.env_overrides.update(
        {
            **oauth_env(sim.url),
            "TRIBUTARY_REFRESH_MARGIN_SECONDS": "1",
            "TRIBUTARY_REFRESH_LOCK_SECONDS": lock_seconds,
            "TRIBUTARY_JOB_LEASE_SECONDS": "3",
            "TRIBUTARY_HEARTBEAT_TIMEOUT_MS": "3000",
        }
    )
    sim.clear_limit("x")
    sim.clear_limit("github")
    sim.oauth("x", accessTtlSeconds=3600)  # the refreshed token outlives the test


def _expiring_connection(
    stack: Stack, sim: SimAdmin, seconds: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    tokens = sim.grant("x", expiresIn=seconds, account=DEMO_ACCOUNTS["x"])
    conn = connections.create(
        stack.pool,
        box=local_box(),
        user_id="race-user",
        provider="x",
        account_id=DEMO_ACCOUNTS["x"],
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        token_expires_at=datetime.now(UTC) + timedelta(seconds=seconds),
    )
    return conn, tokens


def _stream_jobs(stack: Stack, sim: SimAdmin, target: uuid.UUID, seconds: float) -> list[uuid.UUID]:
    """Enqueue 100 jobs on ``target`` and 100 on ten other connections, spread over
    ``seconds`` so jobs run before, across and after the expiry."""
    others = [stack.connect("github", f"other{i}") for i in range(10)]
    ids: list[uuid.UUID] = []
    gap = seconds / JOBS_ON_IT
    for i in range(JOBS_ON_IT):
        day = sim.today - timedelta(days=i)
        ids.append(stack.enqueue(target, day).job["id"])
        ids.append(stack.enqueue(others[i % 10]["id"], day).job["id"])
        time.sleep(gap)
    return ids


def _assert_single_flight(
    stack: Stack, sim: SimAdmin, conn: dict[str, Any], ids: list[uuid.UUID]
) -> None:
    stack.wait_status(ids, "completed", timeout=180)
    counters = sim.oauth_counters("x")
    assert counters.get("refreshed") == 1, counters
    assert not [k for k in counters if k.startswith("invalid_grant")], counters
    assert stack.connection_status(conn["id"]) == "active"
    assert stack.query("SELECT count(*) AS n FROM dead_letters")[0]["n"] == 0
    credential = store.load(stack.pool, local_box(), conn["id"])
    assert credential.version == 2
    assert counters.get("api_accepted", 0) >= JOBS_ON_IT  # every job did call the API
    assert "credential.refreshed" in stack.worker_log()


def test_one_refresh_per_expiry_across_two_workers(stack: Stack, sim: SimAdmin) -> None:
    _configure(stack, sim, lock_seconds="10")
    conn, _ = _expiring_connection(stack, sim, seconds=4)
    stack.start_workers(processes=1, threads=4)
    stack.start_workers(processes=1, threads=4)

    ids = _stream_jobs(stack, sim, conn["id"], seconds=8)

    _assert_single_flight(stack, sim, conn, ids)


def test_one_refresh_when_the_lock_holder_is_killed(stack: Stack, sim: SimAdmin) -> None:
    # Given a slow token endpoint (3 s) and a refresh lock that lapses after 4 s
    _configure(stack, sim, lock_seconds="4")
    sim.oauth("x", delaySeconds=3)
    conn, _ = _expiring_connection(stack, sim, seconds=3)
    workers = [stack.start_workers(processes=1, threads=4) for _ in range(2)]
    lock_key = f"{stack.namespace}:credential-lock:{conn['id']}"

    ids = _stream_jobs(stack, sim, conn["id"], seconds=2)

    # When the worker process holding the lock is killed mid-refresh
    stack.wait_for(lambda: stack.redis.get(lock_key) is not None, 60, "a refresh lock holder")
    holder_pid = int(stack.redis.get(lock_key).decode().split("|")[0].split(":")[1])
    time.sleep(0.5)
    victim = next(w for w in workers if holder_pid in _tree(w.pid))
    sim.oauth("x", delaySeconds=0)
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(5)
    stack.workers.remove(victim)

    # Then the lock lapses, one other process refreshes, and every job completes
    _assert_single_flight(stack, sim, conn, ids)
    assert sim.oauth_counters("x")["dropped_client_gone"] == 1


def _tree(pid: int) -> set[int]:
    try:
        process = psutil.Process(pid)
        return {pid, *(c.pid for c in process.children(recursive=True))}
    except psutil.NoSuchProcess:
        return set()
