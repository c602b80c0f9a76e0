"""End-to-end behaviour of the pipeline: dedup, priority, retries, dead letters, re-auth,
duplicate delivery, crash recovery, lost messages, retention."""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import timedelta

from tributary_common import scheduling

from tests.e2e.stack import Stack
from tests.support.simulator import SimAdmin


def _attempts(stack: Stack, job_id: object) -> list[dict]:
    return stack.query(
        "SELECT outcome, error_category, started_at, finished_at FROM sync_attempts"
        " WHERE job_id = %s ORDER BY id",
        job_id,
    )


def test_dedup_and_manual_raises_pending_scheduled_job(stack: Stack, sim: SimAdmin) -> None:
    # Given a pending scheduled job for a connection's window
    conn = stack.connect("github", "dedup-user")
    first = stack.enqueue(conn["id"], sim.today, trigger="scheduled")
    assert not first.deduplicated and first.job["priority"] == 5

    # When the scheduler asks again, and then the user asks for a manual sync
    again = stack.enqueue(conn["id"], sim.today, trigger="scheduled")
    manual = stack.enqueue(conn["id"], sim.today, trigger="manual")

    # Then both return the same job; the manual request raised it to the manual band
    assert again.deduplicated and again.job["id"] == first.job["id"] and not again.raised
    assert manual.deduplicated and manual.raised and manual.job["id"] == first.job["id"]
    assert (manual.job["priority"], manual.job["queue"]) == (1, "sync.manual")
    assert stack.dispatcher.live([("sync.manual", manual.job["message_id"])]) == [True]
    assert stack.query("SELECT count(*) AS n FROM sync_jobs")[0]["n"] == 1


def test_manual_job_starts_before_5000_scheduled(stack: Stack, sim: SimAdmin) -> None:
    # Given 5,000 scheduled jobs waiting, then one manual job
    stack.query(
        "INSERT INTO connections (id, user_id, provider, account_id, access_token)"
        " SELECT gen_random_uuid(), 'bulk-' || g, 'github', 'bulk' || g, 't'"
        " FROM generate_series(1, 5000) g RETURNING 1"
    )
    report = scheduling.enqueue_due(
        stack.pool, stack.dispatcher, sync_date=sim.today, everything=True
    )
    assert report.enqueued == 5000
    vip = stack.connect("github", "vip-user")
    manual = stack.enqueue(vip["id"], sim.today).job

    # When workers start
    stack.start_workers(processes=2, threads=2)

    # Then the manual job is done while nearly all scheduled jobs still wait: at most the
    # jobs the workers had already taken (processes × threads, plus prefetch) went first
    stack.wait_status([manual["id"]], "completed", timeout=60)
    started = stack.query(
        "SELECT count(*) AS n FROM sync_jobs WHERE trigger = 'scheduled' AND started_at IS NOT NULL"
        " AND started_at < (SELECT started_at FROM sync_jobs WHERE id = %s)",
        manual["id"],
    )[0]["n"]
    assert started <= 2 * 2 * 2, f"{started} scheduled jobs started before the manual one"


def test_worker_processes_prefetch_one_per_thread_and_poll_every_100ms(stack: Stack) -> None:
    # When the worker starts its processes (forked from the main one)
    stack.start_workers(processes=2, threads=3)

    # Then each consumes with a prefetch of one message per thread and polls an idle
    # queue at least every 100 ms (Dramatiq's own defaults would be 6 and 1,000 ms)
    def booted() -> list[dict]:
        lines = [line for line in stack.worker_log().splitlines() if "worker.consuming" in line]
        return [json.loads(line) for line in lines]

    stack.wait_for(lambda: len(booted()) == 2, what="both worker processes consuming")
    assert {(b["threads"], b["queue_prefetch"], b["poll_timeout_ms"]) for b in booted()} == {
        (3, 3, 100)
    }


def test_retry_backoff_then_success(stack: Stack, sim: SimAdmin) -> None:
    # Given a provider that fails twice with HTTP 500 (UNKNOWN, retryable)
    sim.fault("github", "server_error", account="flaky-user", count=2)
    conn = stack.connect("github", "flaky-user")
    stack.start_workers(processes=1, threads=2)

    # When the job runs
    job = stack.enqueue(conn["id"], sim.today).job
    stack.wait_status([job["id"]], "completed", timeout=40)

    # Then it was retried after ~2 s and ~4 s (bounded jitter) on the retry band
    attempts = _attempts(stack, job["id"])
    assert [a["outcome"] for a in attempts] == ["retried", "retried", "completed"]
    assert [a["error_category"] for a in attempts[:2]] == ["UNKNOWN", "UNKNOWN"]
    gap1 = (attempts[1]["started_at"] - attempts[0]["finished_at"]).total_seconds()
    gap2 = (attempts[2]["started_at"] - attempts[1]["finished_at"]).total_seconds()
    assert 1.9 <= gap1 <= 2.5 + 1.0, gap1
    assert 3.9 <= gap2 <= 5.0 + 1.0, gap2
    row = stack.job(job["id"])
    assert (row["attempts"], row["retry_count"], row["queue"]) == (3, 2, "sync.retry")


def test_exhausted_network_errors_are_dead_lettered(stack: Stack, sim: SimAdmin) -> None:
    # Given a provider that answers 503 on every request (NETWORK_ERROR)
    sim.fault("github", "unavailable", account="down-user", count=None)
    conn = stack.connect("github", "down-user")
    stack.start_workers(processes=1, threads=2)

    # When the job runs out of retries (2 s + 4 s + 8 s)
    job = stack.enqueue(conn["id"], sim.today).job
    stack.wait_status([job["id"]], "failed", timeout=45)

    # Then it was tried 4 times and dead-lettered as NETWORK_ERROR with its payload
    outcomes = [a["outcome"] for a in _attempts(stack, job["id"])]
    assert outcomes == ["retried", "retried", "retried", "failed"]
    letters = stack.query("SELECT * FROM dead_letters WHERE job_id = %s", job["id"])
    assert len(letters) == 1
    assert letters[0]["category"] == "NETWORK_ERROR" and letters[0]["attempts"] == 4
    assert letters[0]["payload"]["connectionId"] == str(conn["id"])
    assert stack.connection_status(conn["id"]) == "active"


def test_401_marks_connection_needs_reauth_without_retry(stack: Stack, sim: SimAdmin) -> None:
    sim.fault("github", "auth", account="revoked-user", count=None)
    conn = stack.connect("github", "revoked-user")
    stack.start_workers(processes=1, threads=2)

    job = stack.enqueue(conn["id"], sim.today).job
    stack.wait_status([job["id"]], "failed", timeout=30)

    assert [a["outcome"] for a in _attempts(stack, job["id"])] == ["failed"]
    assert stack.dead_letter_category(job["id"]) == "API_ERROR"
    assert stack.connection_status(conn["id"]) == "needs_reauth"


def test_validation_error_dead_letters_at_once(stack: Stack, sim: SimAdmin) -> None:
    sim.fault("github", "bad_request", account="bad-user", count=None)
    conn = stack.connect("github", "bad-user")
    stack.start_workers(processes=1, threads=2)

    job = stack.enqueue(conn["id"], sim.today).job
    stack.wait_status([job["id"]], "failed", timeout=30)

    assert [a["outcome"] for a in _attempts(stack, job["id"])] == ["failed"]
    assert stack.dead_letter_category(job["id"]) == "VALIDATION_ERROR"


def test_throttle_defers_for_the_provider_wait(stack: Stack, sim: SimAdmin) -> None:
    # Given a secondary-limit 429 whose Retry-After is 5 s (too long to sleep through)
    sim.fault(
        "github",
        "rate_limit",
        account="busy-user",
        count=1,
        retryAfterSeconds=5,
        variant="secondary",
    )
    conn = stack.connect("github", "busy-user")
    stack.start_workers(processes=1, threads=2)

    job = stack.enqueue(conn["id"], sim.today).job
    stack.wait_status([job["id"]], "completed", timeout=40)

    # Then the throttle was a deferral (no attempt used), and the provider saw the next
    # request only after the 5 s it asked for
    attempts = _attempts(stack, job["id"])
    assert [(a["outcome"], a["error_category"]) for a in attempts] == [
        ("deferred", "RATE_LIMIT"),
        ("completed", None),
    ]
    assert stack.job(job["id"])["retry_count"] == 0
    times = [r["time"] for r in sim.requests("github", "busy-user")]
    assert times[1] - times[0] >= 4.9, times


def test_duplicate_delivery_runs_connector_once(stack: Stack, sim: SimAdmin) -> None:
    # Given a job whose message is delivered four times, and a control job delivered once
    dup = stack.connect("github", "dup-user")
    control = stack.connect("github", "control-user")
    job = stack.enqueue(dup["id"], sim.today).job
    for _ in range(3):
        stack.dispatcher.send(job["id"], "sync.manual", f"extra-{time.monotonic_ns()}")
    control_job = stack.enqueue(control["id"], sim.today).job

    # When workers drain them
    stack.start_workers(processes=2, threads=2)
    stack.wait_status([job["id"], control_job["id"]], "completed", timeout=40)
    time.sleep(1.0)  # let the extra deliveries arrive and be acknowledged

    # Then the provider saw one sync's worth of requests, like the control
    assert len(sim.requests("github", "dup-user")) == len(sim.requests("github", "control-user"))
    assert [a["outcome"] for a in _attempts(stack, job["id"])] == ["completed"]


def test_kill_9_mid_job_completes_exactly_once(stack: Stack, sim: SimAdmin) -> None:
    # Given a job whose first provider request hangs for 4 s
    sim.fault("github", "slow", account="crash-user", count=1, delaySeconds=4)
    conn = stack.connect("github", "crash-user")
    victim = stack.start_workers(processes=1, threads=1)
    job = stack.enqueue(conn["id"], sim.today).job
    stack.wait_for(lambda: stack.job(job["id"])["status"] == "processing", 20, "job processing")
    time.sleep(0.5)

    # When the worker is killed with SIGKILL mid-request, and another worker runs
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(5)
    stack.workers.remove(victim)
    killed_at = time.monotonic()
    stack.start_workers(processes=1, threads=2)

    # Then the job completes within 30 s, exactly once in the ledger and the records
    stack.wait_status([job["id"]], "completed", timeout=30)
    assert time.monotonic() - killed_at <= 30
    row = stack.job(job["id"])
    assert row["crash_count"] == 1
    # the crash is on record as an attempt of its own, then the run that completed
    assert [a["outcome"] for a in _attempts(stack, job["id"])] == ["crashed", "completed"]
    stored = stack.query(
        "SELECT count(*) AS n FROM synced_records WHERE connection_id = %s", conn["id"]
    )[0]["n"]
    assert stored == row["records_synced"]


def test_sigterm_lets_running_job_finish(stack: Stack, sim: SimAdmin) -> None:
    sim.fault("github", "slow", account="term-user", count=1, delaySeconds=2)
    conn = stack.connect("github", "term-user")
    worker = stack.start_workers(processes=1, threads=1)
    job = stack.enqueue(conn["id"], sim.today).job
    stack.wait_for(lambda: stack.job(job["id"])["status"] == "processing", 20, "job processing")

    stack.stop_workers(signal.SIGTERM, timeout=40)

    assert worker.returncode == 0
    assert stack.job(job["id"])["status"] == "completed"


def test_sigterm_past_grace_returns_job_to_pending(stack: Stack, sim: SimAdmin) -> None:
    # Given a job that pages slowly (a day 20 days back sits behind several pages of newer
    # events), and no shutdown grace: the job must stop at its next page boundary
    sim.fault("github", "slow", account="long-user", count=None, delaySeconds=1.5)
    conn = stack.connect("github", "long-user")
    stack.start_workers(processes=1, threads=1, TRIBUTARY_SHUTDOWN_GRACE_SECONDS="0")
    job = stack.enqueue(conn["id"], sim.today - timedelta(days=20)).job
    stack.wait_for(lambda: stack.job(job["id"])["status"] == "processing", 20, "job processing")

    # When the worker is asked to stop
    stack.stop_workers(signal.SIGTERM, timeout=40)

    # Then the job went back to pending with its progress, and a new worker finishes it
    assert stack.job(job["id"])["status"] == "pending"
    assert _attempts(stack, job["id"])[-1]["outcome"] == "interrupted"
    sim.clear_faults()
    stack.start_workers(processes=1, threads=1)
    stack.wait_status([job["id"]], "completed", timeout=30)
    assert stack.job(job["id"])["attempts"] == 1


def test_cleanup_removes_exactly_what_retention_says(stack: Stack, sim: SimAdmin) -> None:
    conn = stack.connect("github", "old-user")
    ages = {"completed": [8, 6], "failed": [9, 1]}
    ids = {}
    for i, (status, days_list) in enumerate(ages.items()):
        for j, days in enumerate(days_list):
            row = stack.query(
                "INSERT INTO sync_jobs (id, user_id, platform, connection_id, sync_date, status,"
                " trigger, priority, queue, completed_at) VALUES (gen_random_uuid(), 'u', 'github',"
                " %s, %s, %s, 'scheduled', 5, 'sync.scheduled', now() - %s) RETURNING id",
                conn["id"],
                sim.today - timedelta(days=10 * i + j),
                status,
                timedelta(days=days),
            )
            ids[(status, days)] = row[0]["id"]
    pending = stack.enqueue(conn["id"], sim.today, trigger="scheduled", send=False).job
    stack.query(
        "INSERT INTO dead_letters (id, job_id, user_id, platform, connection_id, category, error,"
        " attempts, payload, created_at) VALUES (gen_random_uuid(), %s, 'u', 'github', %s,"
        " 'UNKNOWN', 'x', 1, '{}', now() - interval '20 days') RETURNING 1",
        ids[("failed", 9)],
        conn["id"],
    )

    result = stack.scheduler("cleanup")

    # The unreplayed dead letter (inside its own 30-day retention) keeps its job (#19)
    assert result.returncode == 0, result.stderr
    assert '"deleted": 1' in result.stdout
    left = {r["id"] for r in stack.query("SELECT id FROM sync_jobs")}
    assert left == {ids[("completed", 6)], ids[("failed", 1)], ids[("failed", 9)], pending["id"]}
    assert stack.query("SELECT count(*) AS n FROM dead_letters")[0]["n"] == 1


def test_dead_letters_cli_lists_replays_and_purges(stack: Stack, sim: SimAdmin) -> None:
    # Given a job dead-lettered for a bad request
    sim.fault("github", "bad_request", account="cli-user", count=1)
    conn = stack.connect("github", "cli-user")
    stack.start_workers(processes=1, threads=2)
    job = stack.enqueue(conn["id"], sim.today).job
    stack.wait_status([job["id"]], "failed", timeout=30)

    # When it is listed and replayed from the CLI
    listed = json.loads(stack.scheduler("dead-letters", "list", "--provider", "github").stdout)
    assert [d["jobId"] for d in listed["deadLetters"]] == [str(job["id"])]
    replayed = json.loads(
        stack.scheduler("dead-letters", "replay", "--category", "VALIDATION_ERROR").stdout
    )

    # Then the replay is a new job that completes, and purge removes the letter
    new_id = replayed["replayed"][0]["jobId"]
    stack.wait_status([new_id], "completed", timeout=30)
    assert stack.job(new_id)["trigger"] == "retry"
    purged = json.loads(stack.scheduler("dead-letters", "purge", "--provider", "github").stdout)
    assert purged == {"purged": 1}
    assert stack.scheduler("dead-letters", "explode").returncode == 2
