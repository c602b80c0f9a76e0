"""Recovery and scheduling: Redis losing everything, concurrent schedulers, migrations."""

from __future__ import annotations

import concurrent.futures
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from tributary_common import scheduling

from tests.e2e.stack import Stack
from tests.support.simulator import SimAdmin
from tools.localstack import services as localstack


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[str]:
    """A Redis server of this test's own, so FLUSHALL touches nobody else's keys."""
    url, proc = localstack.start_redis(tmp_path)
    yield url
    localstack.stop_process(proc)


def test_flushall_mid_run_then_reconcile_completes_every_job(
    stack: Stack, sim: SimAdmin, private_redis: str
) -> None:
    # Given 30 jobs flowing through workers on a Redis of our own
    stack.redis_url = private_redis
    sim.fault("github", "slow", count=None, delaySeconds=0.2)
    job_ids = []
    for i in range(30):
        conn = stack.connect("github", f"flush-{i}")
        job_ids.append(stack.enqueue(conn["id"], sim.today, trigger="scheduled").job["id"])
    stack.start_workers(processes=1, threads=2)
    stack.wait_for(
        lambda: (
            stack.query("SELECT count(*) AS n FROM sync_jobs WHERE status = 'completed'")[0]["n"]
            >= 3
        ),
        40,
        "a few jobs completed",
    )

    # When Redis loses every message, and reconcile runs once the grace has passed
    redis.Redis.from_url(private_redis).flushall()
    sim.clear_faults()
    result = stack.scheduler("reconcile")
    assert result.returncode == 0, result.stderr
    if json.loads(result.stdout)["resent"] == 0:  # the grace (1 s) had not passed for all yet
        result = stack.scheduler("reconcile")

    # Then every job completes, each exactly once
    stack.wait_status(job_ids, "completed", timeout=60)
    completed = stack.query(
        "SELECT job_id, count(*) AS n FROM sync_attempts WHERE outcome = 'completed' GROUP BY job_id"
    )
    assert len(completed) == 30 and all(r["n"] == 1 for r in completed)


def test_concurrent_enqueue_due_never_enqueues_twice(stack: Stack, sim: SimAdmin) -> None:
    # Given 3,000 connections all due, created in one go
    stack.query(
        "INSERT INTO connections (id, user_id, provider, account_id, access_token, next_due_at)"
        " SELECT gen_random_uuid(), 'due-' || g, 'github', 'due' || g, 't', now() - interval '1 minute'"
        " FROM generate_series(1, 3000) g RETURNING 1"
    )

    # When two schedulers run enqueue-due at the same moment
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: stack.scheduler("enqueue-due"), range(2)))

    # Then every connection got exactly one job, and one message each
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    reports = [json.loads(r.stdout) for r in results]
    assert sum(r["enqueued"] for r in reports) == 3000
    assert stack.query("SELECT count(DISTINCT connection_id) AS n, count(*) AS t FROM sync_jobs")[
        0
    ] == {"n": 3000, "t": 3000}
    assert stack.dispatcher.depth()["scheduled"]["waiting"] == 3000
    # and each connection's next due time moved one interval on, keeping its phase
    late = stack.query("SELECT count(*) AS n FROM connections WHERE next_due_at <= now()")[0]["n"]
    assert late == 0


def test_sync_all_enqueues_every_active_connection_across_batches(stack: Stack) -> None:
    # Given 1,050 active connections, most of them not due, and one paused
    stack.query(
        "INSERT INTO connections (id, user_id, provider, account_id, access_token, next_due_at)"
        " SELECT gen_random_uuid(), 'all-' || g, 'github', 'all' || g, 't',"
        " now() + mod(g, 7) * interval '1 minute' FROM generate_series(1, 1050) g RETURNING 1"
    )
    stack.query("UPDATE connections SET status = 'paused' WHERE user_id = 'all-1' RETURNING 1")

    # When every connection is enqueued (the cron sync-all) in batches of 100
    report = scheduling.enqueue_due(stack.pool, stack.dispatcher, everything=True, batch=100)

    # Then each active connection got one job and one message, none twice
    assert (report.enqueued, report.skipped) == (1049, 0)
    assert stack.query("SELECT count(DISTINCT connection_id) AS n FROM sync_jobs")[0]["n"] == 1049
    assert stack.dispatcher.depth()["scheduled"]["waiting"] == 1049
    # and a second run finds every one of them already queued
    again = scheduling.enqueue_due(stack.pool, stack.dispatcher, everything=True, batch=100)
    assert (again.enqueued, again.skipped) == (0, 1049)


def test_new_connections_come_due_spread_over_the_interval(stack: Stack) -> None:
    for i in range(200):
        stack.connect("github", f"spread-{i}", sync_interval_minutes=60)
    minutes = stack.query(
        "SELECT count(DISTINCT date_trunc('minute', next_due_at)) AS n,"
        " extract(epoch FROM max(next_due_at) - min(next_due_at)) AS span FROM connections"
    )[0]
    # 200 connections over 60 minutes: nearly every minute has some, none bunch up
    assert minutes["n"] >= 45
    assert float(minutes["span"]) >= 50 * 60


def test_migrate_is_safe_twice_and_concurrently(
    stack: Stack, services: localstack.Services
) -> None:
    name = "trt_migrate_" + stack.namespace.replace("-", "_")
    url = localstack.create_database(services.postgres_admin_url, name)
    try:
        env = {**stack.env, "DATABASE_URL": url}
        cmd = [sys.executable, "-m", "tributary_scheduler", "migrate"]
        procs = [
            subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True) for _ in range(3)
        ]
        outputs = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
        assert all(p.returncode == 0 for p in procs)
        applied = [v for o in outputs for v in o["applied"]]
        assert applied.count("0001_initial") == 1
        again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, check=True)
        assert json.loads(again.stdout)["applied"] == []
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] >= 1
    finally:
        localstack.drop_database(services.postgres_admin_url, name)


def test_cli_exit_codes(stack: Stack) -> None:
    assert stack.scheduler("no-such-command").returncode == 2
    bad_env = {**stack.env, "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"}
    health = subprocess.run(
        [sys.executable, "-m", "tributary_scheduler", "health"],
        env=bad_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert health.returncode == 1
    assert json.loads(health.stdout)["healthy"] is False
    ok = stack.scheduler("health")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad_config = {**stack.env, "TRIBUTARY_MAX_RETRIES": "many"}
    result = subprocess.run(
        [sys.executable, "-m", "tributary_scheduler", "reconcile"],
        env=bad_config,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "tributary-scheduler: TRIBUTARY_MAX_RETRIES must be an integer, got 'many'"
    ]
