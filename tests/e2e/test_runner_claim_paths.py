"""What the real runner does with a job it claims but must not run (each path once).

Real PostgreSQL, Redis and simulator; the runner is called directly, so each path is one
deterministic call: a job that keeps killing its workers, a connection that needs
re-authentication, and a provider whose concurrency slots are all held.
"""

from __future__ import annotations

from tributary_common import scheduling
from tributary_common.ratelimit import LimitConfig, RedisLimiter
from tributary_common.runner import JobRunner, RunPolicy

from tests.e2e.stack import Stack
from tests.support.simulator import SimAdmin
from tools.localstack.run import DEMO_ACCOUNTS


def _runner(stack: Stack, limiter: RedisLimiter, policy: RunPolicy | None = None) -> JobRunner:
    return stack.runner(policy=policy, limiter=limiter)


def _limiter(stack: Stack, overrides: dict[str, str] | None = None) -> RedisLimiter:
    return RedisLimiter(stack.redis, stack.namespace, LimitConfig.from_overrides(overrides or {}))


def test_a_job_that_keeps_killing_workers_is_dead_lettered_when_claimed(
    stack: Stack, sim: SimAdmin
) -> None:
    conn = stack.connect("github", DEMO_ACCOUNTS["github"])
    job_id = stack.enqueue(conn["id"], sim.today, send=False).job["id"]
    policy = RunPolicy()
    stack.query(
        "UPDATE sync_jobs SET crash_count = %s WHERE id = %s RETURNING id",
        policy.crash_limit,
        job_id,
    )

    result = _runner(stack, _limiter(stack), policy).run(job_id)

    assert (result.outcome, result.category) == ("failed", "UNKNOWN")
    job = stack.job(job_id)
    assert (job["status"], job["attempts"], job["dead_lettered"]) == ("failed", 0, True)
    assert stack.dead_letter_category(job_id) == "UNKNOWN"
    assert not sim.requests("github")


def test_reconcile_dead_letters_a_job_whose_worker_died_at_the_crash_limit(
    stack: Stack, sim: SimAdmin
) -> None:
    conn = stack.connect("github", DEMO_ACCOUNTS["github"])
    job_id = stack.enqueue(conn["id"], sim.today, send=False).job["id"]
    limit = RunPolicy().crash_limit
    stack.query(
        "UPDATE sync_jobs SET status = 'processing', lease_owner = 'dead',"
        " lease_expires_at = now() - interval '1 second', crash_count = %s WHERE id = %s RETURNING id",
        limit - 1,
        job_id,
    )

    report = scheduling.recover_expired(stack.pool, stack.dispatcher, crash_limit=limit)

    assert (report.dead_lettered, report.recovered) == (1, 0)
    assert stack.job(job_id)["status"] == "failed"
    assert (
        "worker died"
        in stack.query("SELECT error FROM dead_letters WHERE job_id = %s", job_id)[0]["error"]
    )


def test_a_connection_that_needs_reauth_when_claimed_is_not_called(
    stack: Stack, sim: SimAdmin
) -> None:
    conn = stack.connect("github", DEMO_ACCOUNTS["github"])
    job_id = stack.enqueue(conn["id"], sim.today, send=False).job["id"]
    stack.query(
        "UPDATE connections SET status = 'needs_reauth' WHERE id = %s RETURNING id", conn["id"]
    )

    result = _runner(stack, _limiter(stack)).run(job_id)

    assert (result.outcome, result.category) == ("failed", "API_ERROR")
    assert stack.job(job_id)["attempts"] == 0
    assert not sim.requests("github")


def test_no_free_concurrency_slot_defers_without_an_attempt(stack: Stack, sim: SimAdmin) -> None:
    limiter = _limiter(stack, {"meta_ads": "concurrency=1"})
    assert limiter.acquire_slot("meta_ads", "someone-else", 60).allowed
    conn = stack.connect("meta_ads", DEMO_ACCOUNTS["meta_ads"])
    job_id = stack.enqueue(conn["id"], sim.today, send=False).job["id"]

    result = _runner(stack, limiter).run(job_id)

    assert result.outcome == "deferred"
    assert result.delay_seconds > 0
    job = stack.job(job_id)
    assert (job["status"], job["attempts"], job["retry_count"], job["deferrals"]) == (
        "pending",
        0,
        0,
        1,
    )
    assert not sim.requests("meta_ads")
