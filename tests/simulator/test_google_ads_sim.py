"""The simulated Google Ads API: GAQL search and searchStream, tokens, errors, operations."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tributary_simulator.providers.google_ads import data

from tests.support.simulator import SimAdmin

CUSTOMER = next(
    str(n) for n in range(1_000_000_000, 1_000_000_100) if data.manager_of(str(n)) is None
)
AUTH = {"Authorization": "Bearer t"}


@pytest.fixture
def client(sim: SimAdmin) -> httpx.Client:
    return httpx.Client(base_url=sim.base_url("google_ads"), headers=AUTH, timeout=5)


def call(client: httpx.Client, method: str, body: dict[str, Any]) -> httpx.Response:
    return client.post(f"/v26/customers/{CUSTOMER}/googleAds:{method}", json=body)


def failure(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    error: dict[str, Any] = (body[0] if isinstance(body, list) else body)["error"]
    return error


def error_code(response: httpx.Response) -> dict[str, str]:
    code: dict[str, str] = failure(response)["details"][0]["errors"][0]["errorCode"]
    return code


def test_search_stream_answers_an_array_of_batches(client: httpx.Client) -> None:
    body = call(client, "searchStream", {"query": "SELECT campaign.id FROM campaign"}).json()
    assert isinstance(body, list) and body[0]["fieldMask"] == "campaign.id"
    got = [row["campaign"]["id"] for batch in body for row in batch["results"]]
    assert got == [row["id"] for row in data.campaigns(CUSTOMER)]
    empty = call(
        client, "searchStream", {"query": "SELECT campaign.id FROM campaign WHERE campaign.id = 1"}
    )
    assert empty.json() == []


def test_gaql_where_order_and_limit(client: httpx.Client) -> None:
    query = (
        "SELECT campaign.id, campaign.status, campaign.advertising_channel_type FROM campaign "
        "WHERE campaign.status IN ('ENABLED', 'PAUSED') ORDER BY campaign.id DESC LIMIT 2"
    )
    results = call(client, "search", {"query": query}).json()["results"]
    expected = [r for r in data.campaigns(CUSTOMER) if r["status"] != "REMOVED"][::-1][:2]
    assert [r["campaign"]["id"] for r in results] == [r["id"] for r in expected]
    assert set(results[0]["campaign"]) == {"resourceName", "id", "status", "advertisingChannelType"}


def test_page_tokens_continue_the_same_query_only(sim: SimAdmin, client: httpx.Client) -> None:
    provider = sim.server.state.providers["google_ads"]
    provider.page_size = 2
    try:
        query = "SELECT campaign.id FROM campaign"
        first = call(client, "search", {"query": query}).json()
        second = call(client, "search", {"query": query, "pageToken": first["nextPageToken"]})
        other = call(
            client, "search", {"query": query + " LIMIT 5", "pageToken": first["nextPageToken"]}
        )
    finally:
        provider.page_size = 10_000
    ids = [row["id"] for row in data.campaigns(CUSTOMER)]
    assert [r["campaign"]["id"] for r in second.json()["results"]] == ids[2:4]
    assert error_code(other) == {"requestError": "INVALID_PAGE_TOKEN"}
    # One query is one operation, however many pages it takes
    assert [e["cost"] for e in sim.requests("google_ads")] == [1, 0, 0]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            {"query": "SELECT campaign.id FROM ad_group"},
            {"queryError": "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE"},
        ),
        ({"query": "SELECT campaign.bogus FROM campaign"}, {"queryError": "UNRECOGNIZED_FIELD"}),
        ({"query": "SELECT"}, {"queryError": "UNEXPECTED_END_OF_QUERY"}),
        (
            {"query": "SELECT campaign.id FROM campaign", "pageSize": 5},
            {"requestError": "PAGE_SIZE_NOT_SUPPORTED"},
        ),
        ({}, {"requestError": "INVALID_INPUT"}),
    ],
)
def test_bad_requests(client: httpx.Client, body: dict[str, Any], code: dict[str, str]) -> None:
    response = call(client, "search", body)
    assert response.status_code == 400 and failure(response)["status"] == "INVALID_ARGUMENT"
    assert error_code(response) == code


def test_auth_version_and_manager_checks(sim: SimAdmin, client: httpx.Client) -> None:
    query = {"query": "SELECT campaign.id FROM campaign"}
    base = sim.base_url("google_ads")
    anonymous = httpx.post(f"{base}/v26/customers/{CUSTOMER}/googleAds:search", json=query)
    assert anonymous.status_code == 401
    assert error_code(anonymous) == {"authenticationError": "OAUTH_TOKEN_HEADER_INVALID"}
    assert client.post(f"/v19/customers/{CUSTOMER}/googleAds:search", json=query).status_code == 404
    managed = next(str(n) for n in range(1_000_000_000, 1_000_000_100) if data.manager_of(str(n)))
    path = f"/v26/customers/{managed}/googleAds:search"
    assert client.post(path, json=query).status_code == 403
    login = {"login-customer-id": data.MANAGER_ID}
    assert client.post(path, json=query, headers=login).status_code == 200


@pytest.mark.parametrize(
    ("kind", "variant", "status", "code"),
    [
        ("rate_limit", None, 429, {"quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED"}),
        ("quota", None, 429, {"quotaError": "RESOURCE_EXHAUSTED"}),
        ("auth", None, 401, {"authenticationError": "OAUTH_TOKEN_EXPIRED"}),
        ("forbidden", "CUSTOMER_NOT_ENABLED", 403, {"authorizationError": "CUSTOMER_NOT_ENABLED"}),
        ("bad_request", None, 400, {"queryError": "UNRECOGNIZED_FIELD"}),
        ("server_error", None, 500, {"internalError": "INTERNAL_ERROR"}),
    ],
)
def test_fault_bodies_wrapped_on_stream_only(
    sim: SimAdmin,
    client: httpx.Client,
    kind: str,
    variant: str | None,
    status: int,
    code: dict[str, str],
) -> None:
    query = {"query": "SELECT campaign.id FROM campaign"}
    sim.fault("google_ads", kind, variant=variant, count=2, retryAfterSeconds=30)
    plain, stream = call(client, "search", query), call(client, "searchStream", query)
    assert plain.status_code == stream.status_code == status
    assert isinstance(plain.json(), dict) and isinstance(stream.json(), list)
    assert error_code(plain) == error_code(stream) == code
    if status == 429:
        details = failure(plain)["details"][0]["errors"][0]["details"]["quotaErrorDetails"]
        assert details["retryDelay"] == "30s"


def test_unwrapped_variant_on_stream(sim: SimAdmin, client: httpx.Client) -> None:
    sim.fault("google_ads", "auth", variant="unwrapped")
    response = call(client, "searchStream", {"query": "SELECT campaign.id FROM campaign"})
    assert isinstance(response.json(), dict) and response.status_code == 401


def test_strict_limit_refusal_is_the_daily_operations_quota(
    sim: SimAdmin, client: httpx.Client
) -> None:
    sim.set_limit("google_ads", 1, 600, scope="provider")
    query = {"query": "SELECT campaign.id FROM campaign"}
    assert call(client, "search", query).status_code == 200
    refused = call(client, "search", query)
    assert refused.status_code == 429 and error_code(refused) == {
        "quotaError": "RESOURCE_EXHAUSTED"
    }
    details = failure(refused)["details"][0]["errors"][0]["details"]["quotaErrorDetails"]
    assert details["rateScope"] == "DEVELOPER" and details["retryDelay"] in {"599s", "600s"}
