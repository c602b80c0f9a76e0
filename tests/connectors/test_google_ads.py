"""Google Ads connector against the simulator: GAQL paging, headers, quotas, errors."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tributary_common.categories import ErrorCategory
from tributary_common.connectors import ConnectionInfo, ProviderConfig
from tributary_common.errors import ProviderError, ShutdownRequested
from tributary_simulator.providers.google_ads import data as sim_data
from tributary_worker.providers.google_ads import Connector

from tests.support.context import MemorySyncContext
from tests.support.faults import COMMON_FAULTS, assert_fault_category
from tests.support.harness import Harness
from tests.support.limiter import PermissiveLimiter
from tests.support.simulator import SimAdmin

#: Small pages so a customer's campaigns span several (the documented size is 10,000).
PAGE_SIZE = 3


def customer(managed: bool) -> str:
    """Return the first customer id with (or without) a manager and more than one page."""
    for n in range(1_000_000_000, 1_000_000_200):
        cid = str(n)
        if (sim_data.manager_of(cid) is not None) == managed and len(
            sim_data.campaigns(cid)
        ) > 2 * PAGE_SIZE:
            return cid
    raise AssertionError("no such customer in the simulated data")


MANAGED, DIRECT = customer(True), customer(False)


def ids(cid: str, chosen: list[str] | None = None) -> set[str]:
    return {row["id"] for row in sim_data.campaigns(cid) if chosen is None or row["id"] in chosen}


def pages(cid: str) -> int:
    return -(-len(sim_data.campaigns(cid)) // PAGE_SIZE)


def google_harness(
    sim: SimAdmin, cid: str, *, login: str | None = None, developer_token: str | None = "dev-tok"
) -> Harness:
    """Build the connector as the runner does, with credentials and connection metadata."""
    metadata = {"loginCustomerId": login} if login else {}
    connection = ConnectionInfo(uuid.uuid4(), "user-1", "google_ads", cid, "token", metadata)
    credentials = {"developer_token": developer_token} if developer_token else {}
    config = ProviderConfig(sim.base_url("google_ads"), 0.5, credentials)
    connector = Connector(config)
    client = httpx.Client(
        base_url=config.base_url, timeout=0.5, headers=connector.default_headers(connection)
    )
    return Harness(connector, connection, PermissiveLimiter(), client)


def with_options(ctx: MemorySyncContext, **options: Any) -> MemorySyncContext:
    ctx.request = dataclasses.replace(ctx.request, options=options)
    return ctx


@pytest.fixture(autouse=True)
def small_pages(sim: SimAdmin) -> Iterator[None]:
    provider = sim.server.state.providers["google_ads"]
    original = provider.page_size
    provider.page_size = PAGE_SIZE
    yield
    provider.page_size = original


@pytest.fixture
def harness(sim: SimAdmin) -> Harness:
    return google_harness(sim, MANAGED, login=sim_data.MANAGER_ID)


def test_full_sync_through_a_manager_stores_every_campaign(sim: SimAdmin, harness: Harness) -> None:
    # Given a customer under a manager, reached with login-customer-id
    ctx = harness.context(sim.today)

    # When the connector syncs
    harness.connector.sync(ctx)

    # Then every campaign is stored once
    assert ctx.ids("campaign") == ids(MANAGED)
    record = ctx.records[("campaign", sorted(ids(MANAGED))[0])]
    assert record.data["resourceName"].startswith(f"customers/{MANAGED}/campaigns/")
    # And the requests were one query (one operation) paged with tokens, with Google's headers
    log = sim.requests("google_ads")
    assert len(log) == pages(MANAGED) >= 3
    assert [e["cost"] for e in log] == [1] + [0] * (len(log) - 1)
    for entry in log:
        assert entry["method"] == "POST" and entry["status"] == 200
        assert entry["path"] == f"/v26/customers/{MANAGED}/googleAds:search"
        assert entry["headers"]["login-customer-id"] == sim_data.MANAGER_ID
        assert entry["headers"]["developer-token"] == "[redacted]"
        assert entry["headers"]["authorization"] == "[redacted]"
        assert entry["headers"]["content-type"] == "application/json"
    assert ctx.cursors["campaigns"]["page_token"] is None


def test_direct_customer_sends_no_login_customer_id(sim: SimAdmin) -> None:
    harness = google_harness(sim, DIRECT, developer_token=None)
    ctx = harness.context(sim.today)
    harness.connector.sync(ctx)
    assert ctx.ids("campaign") == ids(DIRECT)
    for entry in sim.requests("google_ads"):
        assert "login-customer-id" not in entry["headers"]
        assert "developer-token" not in entry["headers"]


def test_managed_customer_without_login_customer_id_is_an_api_error(sim: SimAdmin) -> None:
    harness = google_harness(sim, MANAGED)
    with pytest.raises(ProviderError) as failed:
        harness.connector.sync(harness.context(sim.today))
    assert (failed.value.category, failed.value.status) == (ErrorCategory.API_ERROR, 403)
    assert "USER_PERMISSION_DENIED" in failed.value.message


def test_second_sync_is_one_fresh_query_and_adds_nothing(sim: SimAdmin, harness: Harness) -> None:
    ctx = harness.context(sim.today)
    harness.connector.sync(ctx)
    stored = ctx.new_records
    sim.reset()

    harness.connector.sync(ctx)

    # Campaigns have no change time to filter on: a completed cursor means a new snapshot
    log = sim.requests("google_ads")
    assert [e["cost"] for e in log] == [1] + [0] * (pages(MANAGED) - 1)
    assert ctx.new_records == stored


def test_stop_between_pages_resumes_with_the_page_token(sim: SimAdmin, harness: Harness) -> None:
    # Given a sync stopped after its first page
    ctx = harness.context(sim.today, stop_after_pages=1)
    with pytest.raises(ShutdownRequested):
        harness.connector.sync(ctx)
    assert ctx.cursors["campaigns"]["page_token"]

    # When the job runs again
    ctx.stop_after_pages = None
    harness.connector.sync(ctx)

    # Then it continues with the token (a continuation costs no operation), no duplicates
    log = sim.requests("google_ads")
    assert len(log) == pages(MANAGED)
    assert [e["cost"] for e in log] == [1] + [0] * (len(log) - 1)
    assert ctx.ids("campaign") == ids(MANAGED) and ctx.new_records == len(ids(MANAGED))


def test_failure_on_page_two_resumes_there(sim: SimAdmin, harness: Harness) -> None:
    sim.fault("google_ads", "unavailable", after=1)
    ctx = harness.context(sim.today)
    with pytest.raises(ProviderError) as failed:
        harness.connector.sync(ctx)
    assert failed.value.category is ErrorCategory.NETWORK_ERROR

    harness.connector.sync(ctx)

    log = sim.requests("google_ads")
    assert [e["status"] for e in log[:3]] == [200, 503, 200]
    assert log[2]["cost"] == 0
    assert ctx.ids("campaign") == ids(MANAGED) and ctx.new_records == len(ids(MANAGED))


def test_dead_saved_page_token_restarts_the_query(sim: SimAdmin, harness: Harness) -> None:
    ctx = harness.context(sim.today)
    harness.connector.sync(ctx)
    query = ctx.cursors["campaigns"]["query"]
    ctx.cursors["campaigns"] = {"query": query, "page_token": "expired"}
    sim.reset()

    harness.connector.sync(ctx)

    log = sim.requests("google_ads")
    assert [e["status"] for e in log[:2]] == [400, 200]
    assert [e["cost"] for e in log[1:]] == [1] + [0] * (pages(MANAGED) - 1)
    assert ctx.ids("campaign") == ids(MANAGED)


def test_campaign_ids_become_a_gaql_filter(sim: SimAdmin, harness: Harness) -> None:
    chosen = sorted(ids(MANAGED))[1:3]
    ctx = with_options(harness.context(sim.today), campaignIds=chosen)
    harness.connector.sync(ctx)
    assert ctx.ids("campaign") == set(chosen)
    assert len(sim.requests("google_ads")) == 1


@pytest.mark.parametrize("bad", ["1", ["1", "1 OR 1=1"], 5])
def test_malformed_campaign_ids_never_reach_gaql(sim: SimAdmin, harness: Harness, bad: Any) -> None:
    with pytest.raises(ProviderError) as failed:
        harness.connector.sync(with_options(harness.context(sim.today), campaignIds=bad))
    assert failed.value.category is ErrorCategory.VALIDATION_ERROR
    assert sim.requests("google_ads") == []


@pytest.mark.parametrize(
    ("kind", "variant", "category"),
    [
        ("auth", None, ErrorCategory.API_ERROR),
        ("auth", "OAUTH_TOKEN_REVOKED", ErrorCategory.API_ERROR),
        ("forbidden", None, ErrorCategory.API_ERROR),
        ("forbidden", "CUSTOMER_NOT_ENABLED", ErrorCategory.API_ERROR),
        ("bad_request", None, ErrorCategory.VALIDATION_ERROR),
        ("not_found", None, ErrorCategory.VALIDATION_ERROR),
        *COMMON_FAULTS,
    ],
)
def test_fault_maps_to_category(
    sim: SimAdmin, harness: Harness, kind: str, variant: str | None, category: ErrorCategory
) -> None:
    assert_fault_category(sim, harness, "google_ads", (kind, variant, category), sim.today)


@pytest.mark.parametrize(
    ("kind", "variant", "scope"),
    [
        ("rate_limit", None, "account"),  # RESOURCE_TEMPORARILY_EXHAUSTED, rateScope ACCOUNT
        ("quota", None, "provider"),  # RESOURCE_EXHAUSTED, rateScope DEVELOPER
    ],
)
def test_quota_errors_wait_for_the_retry_delay(
    sim: SimAdmin, harness: Harness, kind: str, variant: str | None, scope: str
) -> None:
    sim.fault("google_ads", kind, variant=variant, retryAfterSeconds=90)
    before = time.time()
    with pytest.raises(ProviderError) as failed:
        harness.connector.sync(harness.context(sim.today))
    error = failed.value
    assert (error.category, error.scope, error.status) == (ErrorCategory.RATE_LIMIT, scope, 429)
    assert error.retry_at is not None
    assert before + 89 <= error.retry_at.timestamp() <= time.time() + 91
    assert harness.limiter.cooldowns


def test_429_without_details_is_a_rate_limit_without_a_wait(
    sim: SimAdmin, harness: Harness
) -> None:
    sim.fault("google_ads", "rate_limit", variant="no_details")
    with pytest.raises(ProviderError) as failed:
        harness.connector.sync(harness.context(sim.today))
    assert failed.value.category is ErrorCategory.RATE_LIMIT
    assert failed.value.retry_at is None


def test_daily_operations_count_queries_not_pages(sim: SimAdmin, harness: Harness) -> None:
    # Given one operation a day for the whole project
    sim.set_limit("google_ads", 1, 86_400, scope="provider")

    # When a multi-page sync runs, then another
    ctx = harness.context(sim.today)
    harness.connector.sync(ctx)
    with pytest.raises(ProviderError) as failed:
        harness.connector.sync(ctx)

    # Then the first fits in one operation and the second waits out the window, app-wide
    assert ctx.ids("campaign") == ids(MANAGED)
    error = failed.value
    assert (error.category, error.scope) == (ErrorCategory.RATE_LIMIT, "provider")
    first = sim.requests("google_ads")[0]["time"]
    assert error.retry_at is not None
    assert first + 86_399 <= error.retry_at.timestamp() <= first + 86_402
