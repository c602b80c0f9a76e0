"""Every provider through the real job runner (the code a worker runs), real PostgreSQL,
Redis and the simulator: a full sync, an incremental re-run, and the outcome of faults."""

from __future__ import annotations

import random
import uuid

import pytest
from tributary_common.lease import LeaseKeeper
from tributary_common.ratelimit import build_limiter
from tributary_common.runner import JobRunner, RunPolicy
from tributary_common.settings import Settings
from tributary_common.shutdown import StopSignal
from tributary_worker.providers import REGISTRY

from tests.e2e.stack import Stack
from tests.support.simulator import SimAdmin
from tools.localstack.run import DEMO_ACCOUNTS

PROVIDERS = sorted(DEMO_ACCOUNTS)


def _runner(stack: Stack) -> JobRunner:
    settings = Settings.from_env(stack.env)
    limiter = build_limiter(settings, stack.redis)
    return JobRunner(
        pool=stack.pool,
        dispatcher=stack.dispatcher,
        limiter=limiter,
        registry=REGISTRY,
        provider_configs=settings.provider_configs(),
        policy=RunPolicy(),
        owner=f"test-{uuid.uuid4().hex[:6]}",
        stop=StopSignal(5),
        leases=LeaseKeeper(stack.pool, limiter, owner="test", lease_seconds=10),
        rng=random.Random(7),
    )


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


@pytest.mark.parametrize("provider", PROVIDERS)
def test_rate_limit_waits_as_long_as_the_provider_says(
    stack: Stack, sim: SimAdmin, provider: str
) -> None:
    sim.fault(provider, "rate_limit", count=None, retryAfterSeconds=60)
    conn = stack.connect(provider, _account(provider))

    result = _runner(stack).run(stack.enqueue(conn["id"], sim.today, send=False).job["id"])

    assert (result.outcome, result.category) == ("retried", "RATE_LIMIT")
    # the provider's wait, not the 2 s backoff (each provider states it its own way)
    assert result.delay_seconds >= 30, result
