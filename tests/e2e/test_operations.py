"""Operations on work in flight (#19), with the real api, worker processes and simulator:
pause holds jobs, delete cancels them, replay follows a reconnect and walks past what it
cannot replay."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from tributary_common.ledger import jobs

from tests.api.conftest import Api, build_api, make_settings
from tests.e2e.stack import Stack
from tests.support.simulator import SimAdmin


@pytest.fixture
def api(stack: Stack, sim: SimAdmin) -> Api:
    settings = make_settings(stack.database_url, stack.redis_url, stack.namespace)
    urls = {p: sim.base_url(p) for p in settings.base_urls}
    return build_api(replace(settings, base_urls=urls), stack.pool, stack.redis)


def _attempt_outcomes(stack: Stack, job_id: object) -> list[str]:
    rows = stack.query("SELECT outcome FROM sync_attempts WHERE job_id = %s ORDER BY id", job_id)
    return [r["outcome"] for r in rows]


def _count(stack: Stack, sql: str, *params: Any) -> int:
    return int(stack.query(sql, *params)[0]["n"])


def _pause(api: Api, connection_id: object, paused: bool) -> None:
    result = api.patch(f"/api/connections/{connection_id}", json={"paused": paused})
    assert result.status_code == 200, result.text


def _queue_empty(stack: Stack) -> bool:
    return all(v["waiting"] == 0 for v in stack.dispatcher.depth().values())


# Pause ---------------------------------------------------------------------------------


def test_pause_holds_queued_jobs_and_resume_runs_them(
    stack: Stack, sim: SimAdmin, api: Api
) -> None:
    # Given 20 connections with queued jobs, paused before any worker runs
    conns = [stack.connect("github", f"pause-{i}") for i in range(20)]
    job_ids = [stack.enqueue(c["id"], sim.today).job["id"] for c in conns]
    for c in conns:
        _pause(api, c["id"], True)

    # When a worker starts and takes their messages
    stack.start_workers(processes=1, threads=2)
    stack.wait_for(lambda: _queue_empty(stack), 30, "the queue drained")
    stack.wait_for(
        lambda: stack.redis.hlen(stack.dispatcher.key("sync.manual", ".msgs")) == 0,
        30,
        "every message acknowledged",
    )

    # Then nothing failed: the jobs are held, no dead letter, sync-hourly stays healthy
    assert _count(stack, "SELECT count(*) AS n FROM dead_letters") == 0
    statuses = stack.query("SELECT DISTINCT status FROM sync_jobs WHERE id = ANY(%s)", job_ids)
    assert [r["status"] for r in statuses] == ["held"]
    hourly = api.cron("/api/cron/sync-hourly", method="GET").json
    assert hourly["healthy"] is True, hourly
    assert hourly["stats"]["syncs24h"]["failed"] == 0

    # And after resuming, every job runs
    for c in conns:
        _pause(api, c["id"], False)
    stack.wait_status(job_ids, "completed", timeout=60)
    assert _count(stack, "SELECT count(*) AS n FROM dead_letters") == 0


def test_pause_during_a_running_job_finishes_its_page_and_holds_it(
    stack: Stack, sim: SimAdmin, api: Api
) -> None:
    # Given a multi-page job whose pages are slow, running
    sim.fault("github", "slow", account="pause-running", count=None, delaySeconds=1.0)
    conn = stack.connect("github", "pause-running")
    stack.start_workers(processes=1, threads=1)
    job = stack.enqueue(conn["id"], sim.today - timedelta(days=20)).job
    stack.wait_for(lambda: stack.job(job["id"])["status"] == "processing", 20, "job processing")

    # When the connection is paused mid-run
    _pause(api, conn["id"], True)

    # Then the job stops after its page and waits, held, without failing
    stack.wait_for(lambda: stack.job(job["id"])["status"] == "held", 20, "job held")
    assert _attempt_outcomes(stack, job["id"]) == ["held"]
    held = stack.job(job["id"])
    assert held["attempts"] == 0 and held["error"] is None
    assert _count(stack, "SELECT count(*) AS n FROM dead_letters") == 0

    # And resuming finishes it, keeping the pages already saved
    sim.clear_faults()
    _pause(api, conn["id"], False)
    stack.wait_status([job["id"]], "completed", timeout=30)
    assert stack.job(job["id"])["records_synced"] >= held["records_synced"]


# Delete --------------------------------------------------------------------------------


def _no_error_events(stack: Stack) -> None:
    log = stack.worker_log()
    assert "job.unexpected_error" not in log
    assert "job.retried" not in log
    assert "job.failed" not in log
    assert "ForeignKeyViolation" not in log


def test_delete_while_the_job_runs_cancels_it(stack: Stack, sim: SimAdmin, api: Api) -> None:
    sim.fault("github", "slow", account="delete-running", count=None, delaySeconds=1.0)
    conn = stack.connect("github", "delete-running")
    stack.start_workers(processes=1, threads=1)
    job = stack.enqueue(conn["id"], sim.today - timedelta(days=20)).job
    stack.wait_for(lambda: stack.job(job["id"])["status"] == "processing", 20, "job processing")

    assert api.delete(f"/api/connections/{conn['id']}").status_code == 204

    stack.wait_for(lambda: "job.cancelled" in stack.worker_log(), 20, "the run cancelled")
    _no_error_events(stack)
    assert _count(stack, "SELECT count(*) AS n FROM dead_letters") == 0


def test_delete_during_a_failing_request_cancels_instead_of_retrying(
    stack: Stack, sim: SimAdmin, api: Api
) -> None:
    # The provider answers slowly and then with a 500: the failure arrives after the delete
    sim.fault("github", "slow", account="delete-failing", count=1, delaySeconds=2.0)
    sim.fault("github", "server_error", account="delete-failing", count=None)
    conn = stack.connect("github", "delete-failing")
    stack.start_workers(processes=1, threads=1)
    job = stack.enqueue(conn["id"], sim.today).job
    stack.wait_for(lambda: stack.job(job["id"])["status"] == "processing", 20, "job processing")

    assert api.delete(f"/api/connections/{conn['id']}").status_code == 204

    stack.wait_for(lambda: "job.cancelled" in stack.worker_log(), 30, "the run cancelled")
    _no_error_events(stack)
    assert _count(stack, "SELECT count(*) AS n FROM dead_letters") == 0


# Reconnect and replay ------------------------------------------------------------------


def _dead_letter(stack: Stack, sim: SimAdmin, provider: str, account: str, user: str) -> Any:
    """A dead letter made the real way: the provider rejects the request (validation)."""
    sim.fault(provider, "bad_request", account=account, count=1)
    conn = stack.connect(provider, account, user_id=user)
    job = stack.enqueue(conn["id"], sim.today).job
    stack.wait_status([job["id"]], "failed", timeout=30)
    return conn, stack.query("SELECT * FROM dead_letters WHERE job_id = %s", job["id"])[0]


def test_replay_after_reconnect_goes_to_the_new_connection(
    stack: Stack, sim: SimAdmin, api: Api
) -> None:
    stack.start_workers(processes=1, threads=2)
    old, letter = _dead_letter(stack, sim, "github", "recon-acct", "recon-user")
    # The user deletes the connection and connects the same account again
    assert api.delete(f"/api/connections/{old['id']}").status_code == 204
    new = stack.connect("github", "recon-acct", user_id="recon-user")

    result = api.post("/api/dead-letters/replay", json={"ids": [str(letter["id"])]}).json

    assert result["errors"] == []
    [replayed] = result["replayed"]
    assert replayed["connectionId"] == str(new["id"])
    stack.wait_status([uuid.UUID(replayed["jobId"])], "completed", timeout=30)


def test_filter_replay_after_reconnect_goes_to_the_new_connection(
    stack: Stack, sim: SimAdmin, api: Api
) -> None:
    stack.start_workers(processes=1, threads=2)
    old, _ = _dead_letter(stack, sim, "github", "recon-filter", "recon-yt-user")
    assert api.delete(f"/api/connections/{old['id']}").status_code == 204
    new = stack.connect("github", "recon-filter", user_id="recon-yt-user")

    result = api.post("/api/dead-letters/replay", json={"filter": {"userId": "recon-yt-user"}}).json

    assert result["errors"] == []
    assert [r["connectionId"] for r in result["replayed"]] == [str(new["id"])]
    stack.wait_status([uuid.UUID(result["replayed"][0]["jobId"])], "completed", timeout=30)


def _letters(stack: Stack, sim: SimAdmin, count: int, prefix: str) -> list[Any]:
    """``count`` connections, each with a failed (dead-lettered) job."""
    conns = [stack.connect("github", f"{prefix}-{i}") for i in range(count)]
    for c in conns:
        job = stack.enqueue(c["id"], sim.today, send=False).job
        end = jobs.AttemptEnd("test", job["created_at"], "failed", 0, 0, "validation", "bad")
        jobs.fail(stack.pool, job["id"], end, owner=None, attempted=False)
    return conns


def test_bulk_replay_walks_past_letters_of_deleted_connections(
    stack: Stack, sim: SimAdmin, api: Api
) -> None:
    # Given 100 dead letters of deleted connections, older than 3 good ones
    gone = _letters(stack, sim, 100, "gone")
    for c in gone:
        assert api.delete(f"/api/connections/{c['id']}").status_code == 204
    _letters(stack, sim, 3, "good")
    stack.start_workers(processes=1, threads=2)

    # When the operator replays by filter, twice
    first = api.post("/api/dead-letters/replay", json={"filter": {"provider": "github"}}).json
    second = api.post("/api/dead-letters/replay", json={"filter": {"provider": "github"}}).json

    # Then the first call replays the 3 and reports (and marks) the 100; the second is done
    assert len(first["replayed"]) == 3
    assert len(first["errors"]) == 100 and all(e["marked"] for e in first["errors"])
    assert second == {"replayed": [], "errors": []}
    stack.wait_status([uuid.UUID(r["jobId"]) for r in first["replayed"]], "completed", 30)
    marked = api.get("/api/dead-letters", params={"provider": "github", "limit": 200}).json
    assert sum(1 for d in marked["deadLetters"] if d["replayError"]) == 100


def test_cli_bulk_replay_converges_with_a_small_limit(stack: Stack, sim: SimAdmin) -> None:
    # 30 unreplayable letters ahead of 2 good ones, replayed 10 at a time from the CLI
    gone = _letters(stack, sim, 30, "cli-gone")
    for c in gone:
        stack.query("DELETE FROM connections WHERE id = %s RETURNING id", c["id"])
    _letters(stack, sim, 2, "cli-good")

    out = stack.scheduler("dead-letters", "replay", "--provider", "github", "--limit", "10")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)

    assert len(report["replayed"]) == 2
    again = json.loads(stack.scheduler("dead-letters", "replay", "--provider", "github").stdout)
    assert again["replayed"] == [] and again["errors"] == []
