"""Every provider through the real job runner (the code a worker runs), real PostgreSQL,
Redis and the simulator: a full sync, an incremental re-run, and the outcome of faults."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from tributary_common.ratelimit.keys import cooldown_key
from tributary_common.runner import JobRunner, RunPolicy
from tributary_worker.providers.throttles import THROTTLE_WAITS

from tests.e2e.stack import Stack
from tests.support.simulator import SimAdmin
from tools.localstack.run import DEMO_ACCOUNTS

PROVIDERS = sorted(DEMO_ACCOUNTS)


def _runner(stack: Stack, policy: RunPolicy | None = None) -> JobRunner:
    return stack.runner(policy=policy)


def _account(provider: str) -> str:
    return DEMO_ACCOUNTS[provider]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_full_then_incremental_sync(stack: Stack, sim: SimAdmin, provider: str) -> None:
    runner = _runner(stack)
    conn = stack.connect(provider, _account(provider))

    first = runner.run(stack.enqueue(conn["id"], sim.today, send=False).job["id"])
    assert first.outcome == "completed", first
    stored = stack.query(
        "SELECT count(*) AS n FROM synced_records WHERE connection_id = %s", conn["id"]
    )[0]["n"]
    assert first.records == stored

    second = runner.run(stack.enqueue(conn["id"], sim.today, send=False).job["id"])
    assert (second.outcome, second.records) == ("completed", 0)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_expired_token_dead_letters_and_needs_reauth(
    stack: Stack, sim: SimAdmin, provider: str
) -> None:
    sim.fault(provider, "auth", count=None)
    conn = stack.connect(provider, _account(provider))

    result = _runner(stack).run(stack.enqueue(conn["id"], sim.today, send=False).job["id"])

    assert (result.outcome, result.category) == ("failed", "API_ERROR")
    assert stack.connection_status(conn["id"]) == "needs_reauth"
    assert stack.query("SELECT category FROM dead_letters")[0]["category"] == "API_ERROR"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_gateway_error_is_retried_on_the_retry_band(
    stack: Stack, sim: SimAdmin, provider: str
) -> None:
    sim.fault(provider, "unavailable", count=None)
    conn = stack.connect(provider, _account(provider))

    result = _runner(stack).run(stack.enqueue(conn["id"], sim.today, send=False).job["id"])

    assert (result.outcome, result.category) == ("retried", "NETWORK_ERROR")
    assert 2.0 <= result.delay_seconds <= 2.5
    job = stack.query("SELECT queue, retry_count FROM sync_jobs")[0]
    assert job == {"queue": "sync.retry", "retry_count": 1}


#: The throttle variant that states no wait of its own (YouTube's daily quota always
#: states Pacific midnight; its per-user rate limit does not).
UNSTATED = {"youtube": "rateLimitExceeded"}


def _job(stack: Stack, job_id: uuid.UUID) -> dict[str, Any]:
    rows = stack.query(
        "SELECT status, attempts, retry_count, deferrals, throttles, throttled_since"
        " FROM sync_jobs WHERE id = %s",
        job_id,
    )
    return rows[0]


def _due_now(stack: Stack, provider: str, job_id: uuid.UUID) -> None:
    """Make a deferred job due at once and lift the limiter's cooldown of its provider."""
    stack.query("UPDATE sync_jobs SET not_before = now() WHERE id = %s RETURNING id", job_id)
    stack.redis.delete(cooldown_key(stack.namespace, provider))


def _throttle_stating_a_date(sim: SimAdmin, provider: str, seconds: float) -> None:
    """Throttle every request of ``provider``, stating only ``Retry-After: <HTTP-date>``."""
    sim.fault(
        provider,
        "rate_limit",
        count=None,
        retryAfterSeconds=seconds,
        waitFormat="http-date",
        variant=UNSTATED.get(provider),
    )


@pytest.mark.parametrize("provider", PROVIDERS)
def test_throttle_defers_without_using_an_attempt(
    stack: Stack, sim: SimAdmin, provider: str
) -> None:
    # Given a provider that throttles every request, in its own shape, stating 60 s
    sim.fault(provider, "rate_limit", count=None, retryAfterSeconds=60)
    conn = stack.connect(provider, _account(provider))
    runner = _runner(stack)

    job_id = stack.enqueue(conn["id"], sim.today, send=False).job["id"]
    result = runner.run(job_id)

    # Then the job is deferred for the provider's wait, its attempts untouched
    assert result.outcome == "deferred", result
    assert result.delay_seconds >= 55, result
    job = _job(stack, job_id)
    assert (job["status"], job["attempts"], job["retry_count"]) == ("pending", 0, 0)
    assert job["throttles"] == 1 and job["throttled_since"] is not None
    assert stack.query("SELECT count(*) AS n FROM dead_letters")[0]["n"] == 0

    # and another job of the same connection waits for the cooldown without a request
    sent = len(sim.requests(provider))
    other = stack.enqueue(conn["id"], sim.today - timedelta(days=1), send=False).job["id"]
    assert runner.run(other).outcome == "deferred"
    assert len(sim.requests(provider)) == sent


@pytest.mark.parametrize("provider", PROVIDERS)
def test_retry_after_as_an_http_date_is_honoured(
    stack: Stack, sim: SimAdmin, provider: str
) -> None:
    # Given a throttle whose only wait is `Retry-After: <HTTP-date 600 s ahead>`
    _throttle_stating_a_date(sim, provider, 600)
    conn = stack.connect(provider, _account(provider))

    result = _runner(stack).run(stack.enqueue(conn["id"], sim.today, send=False).job["id"])

    # Then the job waits the 600 s (not a default minute)
    assert result.outcome == "deferred", result
    assert 590 <= result.delay_seconds <= 605, result


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_short_stated_throttle_is_slept_through(
    stack: Stack, sim: SimAdmin, provider: str
) -> None:
    # Given one throttle stating 2 s (as an HTTP-date)
    sim.fault(
        provider,
        "rate_limit",
        count=1,
        retryAfterSeconds=2,
        waitFormat="http-date",
        variant=UNSTATED.get(provider),
    )
    conn = stack.connect(provider, _account(provider))
    job_id = stack.enqueue(conn["id"], sim.today, send=False).job["id"]

    result = _runner(stack).run(job_id)

    # Then the request waited the 2 s inline and the job completed in one run
    assert result.outcome == "completed", result
    first, second = (r["time"] for r in sim.requests(provider)[:2])
    assert second - first >= 1.0
    assert _job(stack, job_id)["throttles"] == 0


@pytest.mark.parametrize("provider", PROVIDERS)
def test_unstated_throttle_waits_the_default_and_grows(
    stack: Stack, sim: SimAdmin, provider: str
) -> None:
    # Given throttles that state no wait at all (Meta: usage over 100 %, regain time 0)
    sim.fault(provider, "rate_limit", count=None, waitFormat="none", variant=UNSTATED.get(provider))
    conn = stack.connect(provider, _account(provider))
    runner = _runner(stack)
    job_id = stack.enqueue(conn["id"], sim.today, send=False).job["id"]
    first_wait = THROTTLE_WAITS[provider].first_seconds

    # When the job is throttled twice
    first = runner.run(job_id)
    _due_now(stack, provider, job_id)
    second = runner.run(job_id)

    # Then it waits the provider's default, then twice that, never using an attempt
    assert (first.outcome, second.outcome) == ("deferred", "deferred"), (first, second)
    assert first_wait - 1 <= first.delay_seconds <= first_wait + 1, first
    assert 2 * first_wait - 1 <= second.delay_seconds <= 2 * first_wait + 1, second
    job = _job(stack, job_id)
    assert (job["attempts"], job["throttles"]) == (0, 2)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_throttle_past_the_horizon_dead_letters_as_rate_limit(
    stack: Stack, sim: SimAdmin, provider: str
) -> None:
    # Given a horizon of 5 minutes and a throttle stating 10
    _throttle_stating_a_date(sim, provider, 600)
    conn = stack.connect(provider, _account(provider))
    runner = _runner(stack, RunPolicy(throttle_horizon_seconds=300))

    result = runner.run(stack.enqueue(conn["id"], sim.today, send=False).job["id"])

    # Then the job ends as a RATE_LIMIT dead letter
    assert (result.outcome, result.category) == ("failed", "RATE_LIMIT"), result
    assert stack.query("SELECT category FROM dead_letters")[0]["category"] == "RATE_LIMIT"
