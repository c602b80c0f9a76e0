"""Work that goes where it should and records that stay true (#19): process-queue consumes
the messages of the jobs it runs, one clock orders work across hosts, retention keeps what
unreplayed dead letters point at. Real api, runner, workers, scheduler CLI, simulator."""

from __future__ import annotations

import json
import random
import time
import uuid
from dataclasses import replace
from typing import Any

import pytest
from tributary_common.credentials.factory import build_credentials
from tributary_common.dispatch import Dispatcher
from tributary_common.lease import LeaseKeeper
from tributary_common.ratelimit import build_limiter
from tributary_common.runner import JobRunner, RunPolicy
from tributary_common.settings import Settings
from tributary_common.shutdown import StopSignal
from tributary_worker.providers import REGISTRY

from tests.api.conftest import Api, build_api, make_settings
from tests.e2e.stack import Stack
from tests.support.simulator import SimAdmin

BANDS = ("sync.manual", "sync.scheduled", "sync.retry")


@pytest.fixture
def api(stack: Stack, sim: SimAdmin) -> Api:
    settings = make_settings(stack.database_url, stack.redis_url, stack.namespace)
    urls = {p: sim.base_url(p) for p in settings.base_urls}
    return build_api(replace(settings, base_urls=urls), stack.pool, stack.redis)


def _redis_messages(stack: Stack) -> int:
    d = stack.dispatcher
    total = 0
    for q in BANDS:
        total += stack.redis.llen(d.key(q)) + stack.redis.hlen(d.key(q, ".msgs"))
        total += stack.redis.zcard(d.key(q, ".delayed"))
    return total


def _process_until_idle(api: Api, rounds: int = 10) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for _ in range(rounds):
        body = api.cron("/api/cron/process-queue", json={"limit": 5}).json
        results.extend(body["results"])
        if body["processed"] == 0:
            break
    return results


# A deployment without workers ----------------------------------------------------------


def test_process_queue_consumes_the_messages_of_the_jobs_it_runs(
    stack: Stack, sim: SimAdmin, api: Api
) -> None:
    users = [f"pq-user-{i}" for i in range(12)]
    for user in users:
        stack.connect("github", f"{user}-acct", user_id=user)
        accepted = api.post("/api/sync/manual", json={"userId": user, "provider": "github"})
        assert accepted.status_code == 202 and accepted.json["dispatched"] is True

    results = _process_until_idle(api)

    assert sorted(r["outcome"] for r in results) == ["completed"] * 12
    assert _redis_messages(stack) == 0
    queue = api.get("/api/sync/status").json
    assert sum(b["waiting"] + b["delayed"] for b in queue["bands"].values()) == 0
    assert queue["jobsByStatus"]["pending"] == 0


def test_process_queue_retry_leaves_no_message_behind(
    stack: Stack, sim: SimAdmin, api: Api
) -> None:
    sim.fault("github", "server_error", account="pq-flaky", count=1)
    stack.connect("github", "pq-flaky", user_id="pq-flaky")
    api.post("/api/sync/manual", json={"userId": "pq-flaky", "provider": "github"})

    results = _process_until_idle(api)

    assert [r["outcome"] for r in results] == ["retried", "completed"]
    assert _redis_messages(stack) == 0


# One clock -----------------------------------------------------------------------------


def _skewed_runner(stack: Stack, skew_seconds: float) -> JobRunner:
    """The real runner on a host whose clock is ``skew_seconds`` off."""
    settings = Settings.from_env(stack.env)
    limiter = build_limiter(settings, stack.redis)
    clock = lambda: time.time() + skew_seconds  # noqa: E731
    dispatcher = Dispatcher(stack.redis, stack.namespace, clock=clock)
    return JobRunner(
        pool=stack.pool,
        dispatcher=dispatcher,
        limiter=limiter,
        registry=REGISTRY,
        provider_configs=settings.provider_configs(),
        policy=RunPolicy(backoff_base_seconds=2.0),
        owner=f"skewed-{uuid.uuid4().hex[:6]}",
        stop=StopSignal(5),
        leases=LeaseKeeper(stack.pool, limiter, owner="skewed", lease_seconds=10),
        credentials=build_credentials(
            settings, pool=stack.pool, client=stack.redis, limiter=limiter, owner="skewed"
        ),
        clock=clock,
        rng=random.Random(3),
    )


def _retry_wait(stack: Stack, sim: SimAdmin, skew: float, account: str) -> float:
    """Fail a job once on a skewed runner; then a worker with a true clock picks it up:
    return how long after the failure its retry started."""
    sim.fault("github", "server_error", account=account, count=1)
    conn = stack.connect("github", account)
    job = stack.enqueue(conn["id"], sim.today, send=False).job
    result = _skewed_runner(stack, skew).run(job["id"])
    assert result.outcome == "retried"
    wait = stack.query(
        "SELECT extract(epoch FROM not_before - now()) AS s FROM sync_jobs WHERE id = %s",
        job["id"],
    )[0]["s"]
    # The backoff (2-2.5 s) counts from the ledger's clock, not the skewed host's
    assert 1.0 < float(wait) <= 2.6, wait
    stack.start_workers(processes=1, threads=1)
    stack.wait_status([job["id"]], "completed", timeout=30)
    row = stack.query(
        "SELECT extract(epoch FROM max(started_at) - min(finished_at)) AS s FROM sync_attempts"
        " WHERE job_id = %s",
        job["id"],
    )
    return float(row[0]["s"] or 0)


def test_retry_of_a_runner_5_minutes_fast_waits_its_backoff(stack: Stack, sim: SimAdmin) -> None:
    gap = _retry_wait(stack, sim, 300.0, "fast-clock")
    assert 1.5 < gap < 10, gap


def test_retry_of_a_runner_5_minutes_slow_still_backs_off(stack: Stack, sim: SimAdmin) -> None:
    gap = _retry_wait(stack, sim, -300.0, "slow-clock")
    assert 1.5 < gap < 10, gap


# Retention -----------------------------------------------------------------------------


def _dead_lettered(stack: Stack, sim: SimAdmin, account: str, days_ago: int) -> dict[str, Any]:
    """A job dead-lettered for real (the provider rejects it), dated ``days_ago``."""
    sim.fault("github", "bad_request", account=account, count=1)
    conn = stack.connect("github", account)
    job = stack.enqueue(conn["id"], sim.today).job
    stack.wait_status([job["id"]], "failed", timeout=30)
    age = f"{days_ago} days"
    stack.query(
        "UPDATE sync_jobs SET completed_at = now() - %s::interval WHERE id = %s RETURNING id",
        age,
        job["id"],
    )
    stack.query(
        "UPDATE dead_letters SET created_at = now() - %s::interval WHERE job_id = %s RETURNING id",
        age,
        job["id"],
    )
    return stack.query("SELECT * FROM dead_letters WHERE job_id = %s", job["id"])[0]


def _cleanup(stack: Stack) -> dict[str, Any]:
    out = stack.scheduler("cleanup")
    assert out.returncode == 0, out.stderr
    report: dict[str, Any] = json.loads(out.stdout)
    return report


def test_cleanup_keeps_the_job_of_an_unreplayed_dead_letter(
    stack: Stack, sim: SimAdmin, api: Api
) -> None:
    stack.start_workers(processes=1, threads=1)
    letter = _dead_lettered(stack, sim, "kept-letter", 8)

    _cleanup(stack)

    job = api.get(f"/api/sync/jobs/{letter['job_id']}")
    assert job.status_code == 200, job.text
    assert len(job.json["attempts"]) >= 1


def test_cleanup_after_replay_or_dead_letter_retention(
    stack: Stack, sim: SimAdmin, api: Api
) -> None:
    stack.start_workers(processes=1, threads=1)
    replayed = _dead_lettered(stack, sim, "replayed-letter", 8)
    expired = _dead_lettered(stack, sim, "expired-letter", 31)
    kept = _dead_lettered(stack, sim, "young-letter", 20)
    answer = api.post("/api/dead-letters/replay", json={"ids": [str(replayed["id"])]}).json
    assert len(answer["replayed"]) == 1

    report = _cleanup(stack)

    # The replayed letter's old job and the expired letter (and its job) are gone; the
    # letter still inside its own retention keeps its job
    assert report["deleted"] == 2
    assert api.get(f"/api/sync/jobs/{replayed['job_id']}").status_code == 404
    assert api.get(f"/api/dead-letters/{expired['id']}").status_code == 404
    assert api.get(f"/api/sync/jobs/{expired['job_id']}").status_code == 404
    assert api.get(f"/api/sync/jobs/{kept['job_id']}").status_code == 200
