"""Refresh per provider through the real job runner, PostgreSQL, Redis and the simulator's
token endpoints: before expiry, once on a rejection that says the token expired, and the
outcomes (revoked: needs_reauth after one attempt; token endpoint down: deferral)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tributary_common import metrics
from tributary_common.credentials import store
from tributary_common.ledger import connections
from tributary_common.runner import JobRunner, RunPolicy
from tributary_simulator.oauth import oauth_env

from tests.api.conftest import Api
from tests.e2e.stack import Stack
from tests.support.keys import local_box
from tests.support.simulator import SimAdmin
from tools.localstack.run import DEMO_ACCOUNTS

OAUTH2 = ["youtube", "google_ads", "x", "github"]


def _runner(stack: Stack, sim: SimAdmin) -> JobRunner:
    return stack.runner(policy=RunPolicy(max_retries=0), env=oauth_env(sim.url))


def _connect(stack: Stack, provider: str, tokens: dict[str, Any], **kw: Any) -> dict[str, Any]:
    expires_in = kw.pop("expires_in", tokens.get("expires_in"))
    return connections.create(
        stack.pool,
        box=local_box(),
        user_id=f"user-{uuid.uuid4().hex[:6]}",
        provider=provider,
        account_id=DEMO_ACCOUNTS[provider],
        access_token=tokens["access_token"],
        refresh_token=tokens.get("refresh_token"),
        token_expires_at=None
        if expires_in is None
        else datetime.now(UTC) + timedelta(seconds=float(expires_in)),
        **kw,
    )


def _refreshes(provider: str, outcome: str) -> float:
    return metrics.CREDENTIAL_REFRESHES.labels(provider, outcome)._value.get()


@pytest.mark.parametrize("provider", OAUTH2)
def test_refresh_before_expiry_once(stack: Stack, sim: SimAdmin, provider: str) -> None:
    # Given a connection whose access token expires within the margin (5 minutes)
    runner = _runner(stack, sim)
    tokens = sim.grant(provider, expiresIn=120, account=DEMO_ACCOUNTS[provider])
    conn = _connect(stack, provider, tokens)
    before = _refreshes(provider, "refreshed")

    # When two jobs run on it
    first = runner.run(stack.enqueue(conn["id"], sim.today, send=False).job["id"])
    second = runner.run(
        stack.enqueue(conn["id"], sim.today - timedelta(days=1), send=False).job["id"]
    )

    # Then both complete and the token was refreshed exactly once, before the first call
    assert (first.outcome, second.outcome) == ("completed", "completed"), (first, second)
    counters = sim.oauth_counters(provider)
    assert counters.get("refreshed") == 1 and "api_rejected" not in counters, counters
    assert _refreshes(provider, "refreshed") == before + 1
    credential = store.load(stack.pool, local_box(), conn["id"])
    assert credential.version == 2 and credential.access_token != tokens["access_token"]
    assert credential.expires_at is not None
    assert credential.expires_at > datetime.now(UTC) + timedelta(minutes=30)
    if provider in ("x", "github"):  # rotating: the new refresh token is stored
        assert credential.refresh_token != tokens["refresh_token"]
    else:  # Google: no new refresh token in the answer; the old one stays
        assert credential.refresh_token == tokens["refresh_token"]


@pytest.mark.parametrize("provider", ["x", "youtube"])
def test_refresh_once_on_a_401_that_says_expired(
    stack: Stack, sim: SimAdmin, provider: str
) -> None:
    # Given a token the ledger thinks valid for hours, but the provider expired it
    runner = _runner(stack, sim)
    tokens = sim.grant(provider, account=DEMO_ACCOUNTS[provider])
    conn = _connect(stack, provider, tokens)
    sim.expire(provider, tokens["access_token"])

    result = runner.run(stack.enqueue(conn["id"], sim.today, send=False).job["id"])

    # Then one 401, one refresh, and the job completed with the new token
    assert result.outcome == "completed", result
    counters = sim.oauth_counters(provider)
    assert counters["api_rejected"] == 1 and counters["refreshed"] == 1, counters


@pytest.mark.parametrize("provider", ["youtube", "x", "github"])
def test_revoked_refresh_token_needs_reauth_after_one_attempt(
    stack: Stack, sim: SimAdmin, api: Api, provider: str
) -> None:
    runner = _runner(stack, sim)
    tokens = sim.grant(provider, expiresIn=60, account=DEMO_ACCOUNTS[provider])
    conn = _connect(stack, provider, tokens)
    sim.revoke(provider, tokens["refresh_token"])
    before = _refreshes(provider, "rejected")

    result = runner.run(stack.enqueue(conn["id"], sim.today, send=False).job["id"])
    later = runner.run(
        stack.enqueue(conn["id"], sim.today - timedelta(days=1), send=False).job["id"]
    )

    # Then the job is dead-lettered as API_ERROR, the connection needs_reauth with the reason
    assert (result.outcome, result.category) == ("failed", "API_ERROR"), result
    assert (later.outcome, later.category) == ("failed", "API_ERROR")
    assert stack.dead_letter_category(result.job_id) == "API_ERROR"
    answer = api.get(f"/api/connections/{conn['id']}").json
    assert answer["status"] == "needs_reauth"
    assert "token refresh rejected" in answer["statusReason"]
    # One attempt at the token endpoint, counted in metrics by provider and outcome
    counters = sim.oauth_counters(provider)
    assert sum(v for k, v in counters.items() if k.startswith("invalid_grant")) == 1, counters
    assert _refreshes(provider, "rejected") == before + 1
    assert tokens["refresh_token"] not in str(answer)


def test_token_endpoint_down_defers_the_job(stack: Stack, sim: SimAdmin) -> None:
    runner = _runner(stack, sim)
    tokens = sim.grant("x", expiresIn=60, account=DEMO_ACCOUNTS["x"])
    conn = _connect(stack, "x", tokens)
    sim.oauth("x", failStatus=503, failCount=1)

    result = runner.run(stack.enqueue(conn["id"], sim.today, send=False).job["id"])

    assert result.outcome == "deferred", result
    assert stack.connection_status(conn["id"]) == "active"
    job = stack.job(result.job_id)
    assert job["status"] == "pending" and job["attempts"] == 0
    assert store.load(stack.pool, local_box(), conn["id"]).version == 1


def test_refresh_counts_against_the_provider_limit(stack: Stack, sim: SimAdmin) -> None:
    # Given an X limit of one request per window for the account
    stack.env_overrides["TRIBUTARY_LIMITS_X"] = "account=1/1h"
    runner = _runner(stack, sim)
    tokens = sim.grant("x", expiresIn=60, account=DEMO_ACCOUNTS["x"])
    conn = _connect(stack, "x", tokens)

    # When the job refreshes first, the refresh took the only permit: the sync call defers
    result = runner.run(stack.enqueue(conn["id"], sim.today, send=False).job["id"])
    assert result.outcome == "deferred", result
    assert sim.oauth_counters("x")["refreshed"] == 1
    assert "api_accepted" not in sim.oauth_counters("x")


def test_personal_access_tokens_never_refresh(stack: Stack, sim: SimAdmin) -> None:
    runner = _runner(stack, sim)
    conn = _connect(
        stack, "github", {"access_token": "ghp_personal"}, token_kind="personal", expires_in=60
    )
    sim.fault("github", "auth", count=1)
    result = runner.run(stack.enqueue(conn["id"], sim.today, send=False).job["id"])
    assert (result.outcome, result.category) == ("failed", "API_ERROR")
    assert sim.oauth_counters("github") == {}


def test_instagram_renews_a_day_old_long_lived_token(stack: Stack, sim: SimAdmin) -> None:
    runner = _runner(stack, sim)
    tokens = sim.grant("instagram", expiresIn=3 * 86400, ageSeconds=57 * 86400)
    conn = _connect(
        stack, "instagram", tokens, token_issued_at=datetime.now(UTC) - timedelta(days=57)
    )
    result = runner.run(stack.enqueue(conn["id"], sim.today, send=False).job["id"])
    assert result.outcome == "completed", result
    credential = store.load(stack.pool, local_box(), conn["id"])
    assert credential.expires_at is not None
    assert credential.expires_at > datetime.now(UTC) + timedelta(days=59)
    assert sim.oauth_counters("instagram")["refreshed"] == 1


def test_meta_system_user_token_renews_and_code_190_on_400_is_expiry(
    stack: Stack, sim: SimAdmin, api: Api
) -> None:
    runner = _runner(stack, sim)
    # A 60-day system-user token within its last week: renewed with fb_exchange_token
    tokens = sim.grant("meta_ads", expiresIn=3 * 86400)
    renewing = _connect(stack, "meta_ads", tokens, token_kind="system_user")
    assert runner.run(stack.enqueue(renewing["id"], sim.today, send=False).job["id"]).outcome == (
        "completed"
    )
    assert sim.oauth_counters("meta_ads")["refreshed"] == 1

    # A system-user token the provider says expired (HTTP 400, code 190): one attempt to
    # renew it, refused (expired tokens cannot be exchanged), so needs_reauth
    gone = sim.grant("meta_ads", expiresIn=30 * 86400)
    conn = connections.create(
        stack.pool,
        box=local_box(),
        user_id="u-meta",
        provider="meta_ads",
        account_id="act_1000000002",
        access_token=gone["access_token"],
        token_expires_at=datetime.now(UTC) + timedelta(days=30),
        token_kind="system_user",
    )
    sim.expire("meta_ads", gone["access_token"])
    result = runner.run(stack.enqueue(conn["id"], sim.today, send=False).job["id"])
    assert (result.outcome, result.category) == ("failed", "API_ERROR"), result
    assert sim.oauth_counters("meta_ads")["invalid_token_expired"] == 1
    assert "code 190" in api.get(f"/api/connections/{conn['id']}").json["statusReason"]
