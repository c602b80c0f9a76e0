"""Numbers that are true (#19): queue position and health, with the real api, worker
processes, scheduler CLI and simulator."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.conftest import Api, build_api, make_settings
from tests.e2e.stack import Stack
from tests.support.simulator import SimAdmin
from tools.localstack.run import DEMO_ACCOUNTS


@pytest.fixture
def api(stack: Stack, sim: SimAdmin) -> Api:
    settings = make_settings(stack.database_url, stack.redis_url, stack.namespace)
    urls = {p: sim.base_url(p) for p in settings.base_urls}
    return build_api(replace(settings, base_urls=urls), stack.pool, stack.redis)


def _deferred_jobs(stack: Stack, sim: SimAdmin, count: int, provider: str, trigger: str) -> None:
    """``count`` pending jobs that a rate limit deferred for an hour (their messages wait
    in the delayed set, as the runner leaves them)."""
    for i in range(count):
        conn = stack.connect(provider, f"deferred-{uuid.uuid4().hex[:6]}-{i}")
        job = stack.enqueue(conn["id"], sim.today, trigger=trigger, send=False).job
        stack.query(
            "UPDATE sync_jobs SET not_before = now() + interval '1 hour', deferrals = 1"
            " WHERE id = %s RETURNING id",
            job["id"],
        )
        stack.dispatcher.send(job["id"], job["queue"], job["message_id"], 3600)


def _started_within(stack: Stack, job_id: Any, seconds: float) -> None:
    stack.wait_for(
        lambda: stack.job(job_id)["started_at"] is not None, seconds, f"job started in {seconds}s"
    )


def test_deferred_manual_jobs_do_not_stand_in_front(stack: Stack, sim: SimAdmin, api: Api) -> None:
    _deferred_jobs(stack, sim, 25, "github", "manual")
    stack.connect("youtube", DEMO_ACCOUNTS["youtube"], user_id="yt-user")
    stack.start_workers(processes=1, threads=2)
    stack.wait_for(lambda: "worker.consuming" in stack.worker_log(), 60, "the worker polling")

    body = api.post("/api/sync/manual", json={"userId": "yt-user", "provider": "youtube"}).json

    assert body["queuePosition"] == 0, body
    assert body["dueAt"] is None
    _started_within(stack, uuid.UUID(body["jobId"]), 5)


def test_user_status_of_a_scheduled_job_behind_deferred_retries(
    stack: Stack, sim: SimAdmin, api: Api
) -> None:
    # 10 retries backing off for an hour are in a lower band; 4 deferred scheduled jobs
    # and 2 due scheduled jobs are in the same band, older: only the 2 stand in front
    _deferred_jobs(stack, sim, 10, "github", "retry")
    _deferred_jobs(stack, sim, 4, "github", "scheduled")
    for i in range(2):
        due = stack.connect("github", f"due-{i}")
        stack.enqueue(due["id"], sim.today, trigger="scheduled", send=False)
    conn = stack.connect("github", "status-user", user_id="status-user")
    stack.enqueue(conn["id"], sim.today, trigger="scheduled", send=False)

    queue = api.get(
        "/api/sync/status", params={"userId": "status-user", "provider": "github"}
    ).json["queue"]
    assert queue["queuePosition"] == 2, queue
    assert queue["dueAt"] is None

    # And a deferred job's own status says when it is due
    stack.query(
        "UPDATE sync_jobs SET not_before = now() + interval '10 minutes'"
        " WHERE connection_id = %s RETURNING id",
        conn["id"],
    )
    queue = api.get(
        "/api/sync/status", params={"userId": "status-user", "provider": "github"}
    ).json["queue"]
    due = datetime.fromisoformat(queue["dueAt"].replace("Z", "+00:00"))
    assert timedelta(minutes=9) < due - datetime.now(UTC) <= timedelta(minutes=10)


# Health --------------------------------------------------------------------------------


def _hourly(api: Api) -> dict[str, Any]:
    result = api.cron("/api/cron/sync-hourly", method="GET")
    assert result.status_code == 200, result.text
    body: dict[str, Any] = result.json
    return body


def _cli_health(stack: Stack) -> tuple[int, dict[str, Any]]:
    out = stack.scheduler("health")
    return out.returncode, json.loads(out.stdout)


def test_stalled_queue_is_unhealthy_for_sync_hourly_and_the_cli(
    stack: Stack, sim: SimAdmin, api: Api
) -> None:
    # 200 jobs waiting 3 hours, nothing finished in 24 h, no worker
    for i in range(200):
        conn = stack.connect("github", f"stalled-{i}")
        stack.enqueue(conn["id"], sim.today, trigger="scheduled", send=False)
    stack.query(
        "UPDATE sync_jobs SET created_at = now() - interval '3 hours',"
        " enqueued_at = now() - interval '3 hours' RETURNING id"
    )

    hourly = _hourly(api)
    code, cli = _cli_health(stack)

    assert hourly["healthy"] is False and hourly["failed"] == ["queue"], hourly
    assert code == 1 and cli["failed"] == ["queue"], cli
    assert hourly["checks"]["successRate"]["ok"] is True  # nothing to rate


def test_low_success_rate_is_unhealthy_for_the_cli_too(
    stack: Stack, sim: SimAdmin, api: Api
) -> None:
    # Jobs that failed for real (the provider rejects them), none completed
    sim.fault("github", "bad_request", count=None)
    stack.start_workers(processes=1, threads=2)
    ids = []
    for i in range(5):
        conn = stack.connect("github", f"failing-{i}")
        ids.append(stack.enqueue(conn["id"], sim.today).job["id"])
    stack.wait_status(ids, "failed", timeout=30)
    stack.stop_workers()

    hourly = _hourly(api)
    code, cli = _cli_health(stack)

    assert hourly["healthy"] is False and "successRate" in hourly["failed"], hourly
    assert code == 1 and "successRate" in cli["failed"], cli
    assert cli["checks"]["successRate"] == hourly["checks"]["successRate"]


# Kept counts -----------------------------------------------------------------------------


def _counted(stack: Stack) -> dict[str, int]:
    rows = stack.query("SELECT status, sum(n)::int AS n FROM job_counts GROUP BY status")
    return {r["status"]: r["n"] for r in rows if r["n"]}


def _scanned(stack: Stack) -> dict[str, int]:
    rows = stack.query("SELECT status, count(*)::int AS n FROM sync_jobs GROUP BY status")
    return {r["status"]: r["n"] for r in rows}


def test_kept_counts_and_positions_agree_with_the_ledger(
    stack: Stack, sim: SimAdmin, api: Api
) -> None:
    # Jobs that complete, fail, retry, get raised to manual and wait deferred, with workers
    sim.fault("github", "server_error", account="count-flaky", count=1)
    sim.fault("github", "bad_request", account="count-bad", count=1)
    for account in ("count-flaky", "count-bad", "count-ok-1", "count-ok-2"):
        stack.enqueue(stack.connect("github", account)["id"], sim.today)
    stack.start_workers(processes=1, threads=2)
    stack.wait_for(
        lambda: _scanned(stack).get("pending", 0) + _scanned(stack).get("processing", 0) == 0,
        60,
        "every job finished",
    )
    stack.stop_workers()
    _deferred_jobs(stack, sim, 3, "github", "scheduled")
    waiting = [stack.connect("github", f"count-wait-{i}") for i in range(6)]
    for c in waiting:
        stack.enqueue(c["id"], sim.today, trigger="scheduled", send=False)
    stack.enqueue(waiting[4]["id"], sim.today, trigger="manual", send=False)  # raised

    assert _counted(stack) == _scanned(stack)
    # Each waiting job's position is the brute-force count of due jobs ahead of it
    for c in waiting:
        job = stack.query("SELECT * FROM sync_jobs WHERE connection_id = %s", c["id"])[0]
        expected = stack.query(
            "SELECT count(*)::int AS n FROM sync_jobs WHERE status = 'pending'"
            " AND (priority, seq) < (%s, %s) AND (not_before IS NULL OR not_before <= now())",
            job["priority"],
            job["seq"],
        )[0]["n"]
        queue = api.get(
            "/api/sync/status", params={"userId": c["user_id"], "provider": "github"}
        ).json["queue"]
        assert queue["queuePosition"] == expected, (c["user_id"], queue)

    # Cleanup deletes old finished jobs and folds the counts' shards: still equal
    stack.query(
        "UPDATE sync_jobs SET completed_at = now() - interval '40 days'"
        " WHERE status = 'completed' RETURNING id"
    )
    assert stack.scheduler("cleanup").returncode == 0
    assert _counted(stack) == _scanned(stack)
    assert stack.query("SELECT count(*)::int AS n FROM job_counts WHERE shard <> 0")[0]["n"] == 0
