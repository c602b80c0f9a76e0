"""The simulated Marketing API: edges, filtering, status defaults and ad-account headers."""

from __future__ import annotations

import json

import httpx
import pytest
from tributary_simulator.providers.meta_ads import MAX_LIMIT
from tributary_simulator.providers.meta_ads.data import listing, objects

from tests.support.simulator import SimAdmin

DIGITS = "3456789"
AUTH = {"Authorization": "Bearer t"}


@pytest.fixture
def client(sim: SimAdmin) -> httpx.Client:
    return httpx.Client(base_url=sim.base_url("meta_ads"), headers=AUTH, timeout=5)


def edge(client: httpx.Client, name: str, **params: object) -> httpx.Response:
    return client.get(f"/v25.0/act_{DIGITS}/{name}", params=params)


def walk(client: httpx.Client, name: str, **params: object) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    response = edge(client, name, **params)
    while True:
        body = response.json()
        items += body["data"]
        if "next" not in body.get("paging", {}):
            return items
        response = httpx.get(body["paging"]["next"], headers=AUTH)


def test_limit_is_capped(client: httpx.Client) -> None:
    assert len(edge(client, "ads", limit=500).json()["data"]) == MAX_LIMIT


def test_archived_objects_are_listed_only_when_asked_for(
    sim: SimAdmin, client: httpx.Client
) -> None:
    every = objects(DIGITS, sim.today)["campaigns"]
    default = walk(client, "campaigns", fields="id,effective_status")
    assert {c["id"] for c in default} == {c["id"] for c in listing(DIGITS, "campaigns", sim.today)}
    assert all(c["effective_status"] != "ARCHIVED" for c in default)
    statuses = json.dumps(["ACTIVE", "PAUSED", "ARCHIVED"])
    with_archived = walk(client, "campaigns", effective_status=statuses)
    assert len(with_archived) == len(every)


def test_filtering_on_campaign_and_updated_time(sim: SimAdmin, client: httpx.Client) -> None:
    ads = listing(DIGITS, "ads", sim.today)
    campaign = ads[0]["campaign_id"]
    mark = sorted(item["_keys"]["ad.updated_time"] for item in ads)[len(ads) // 2]
    clauses = [
        {"field": "campaign.id", "operator": "IN", "value": [campaign]},
        {"field": "ad.updated_time", "operator": "GREATER_THAN", "value": mark},
    ]
    got = walk(client, "ads", fields="id,campaign_id", filtering=json.dumps(clauses))
    assert {a["id"] for a in got} == {a["id"] for a in listing(DIGITS, "ads", sim.today, clauses)}
    assert all(a["campaign_id"] == campaign for a in got)
    since = walk(client, "ads", updated_since=mark)
    assert len(since) == sum(1 for a in ads if a["_keys"]["ad.updated_time"] > mark)


@pytest.mark.parametrize(
    "filtering",
    [
        "not json",
        json.dumps({"field": "campaign.id"}),
        json.dumps([{"field": "ad.id", "operator": "IN", "value": ["1"]}]),  # not on campaigns
        json.dumps([{"field": "campaign.id", "operator": "LIKE", "value": "1"}]),
        json.dumps([{"field": "campaign.id", "operator": "IN", "value": "1"}]),
    ],
)
def test_malformed_filtering_is_code_100(client: httpx.Client, filtering: str) -> None:
    response = edge(client, "campaigns", filtering=filtering)
    assert response.status_code == 400 and response.json()["error"]["code"] == 100


def test_usage_headers_carry_the_access_tier(client: httpx.Client) -> None:
    response = edge(client, "adsets")
    buc = json.loads(response.headers["X-Business-Use-Case-Usage"])[DIGITS][0]
    assert buc["type"] == "ads_management" and buc["ads_api_access_tier"]
    account = json.loads(response.headers["X-Ad-Account-Usage"])
    assert set(account) == {"acc_id_util_pct", "reset_time_duration", "ads_api_access_tier"}


def test_account_must_be_act_prefixed(client: httpx.Client) -> None:
    error = client.get(f"/v25.0/{DIGITS}/campaigns").json()["error"]
    assert (error["code"], error["error_subcode"]) == (100, 33)


@pytest.mark.parametrize(
    ("variant", "code", "subcode"), [(None, 80004, 2446079), ("ad_account", 613, 1487742)]
)
def test_rate_limit_bodies_and_waits(
    sim: SimAdmin, client: httpx.Client, variant: str | None, code: int, subcode: int
) -> None:
    sim.fault("meta_ads", "rate_limit", variant=variant, retryAfterSeconds=90)
    response = edge(client, "campaigns")
    error = response.json()["error"]
    assert (response.status_code, error["code"], error["error_subcode"]) == (400, code, subcode)
    buc = json.loads(response.headers["X-Business-Use-Case-Usage"])[DIGITS][0]
    account = json.loads(response.headers["X-Ad-Account-Usage"])
    if code == 80004:
        assert buc["estimated_time_to_regain_access"] == 2
    else:
        assert buc["estimated_time_to_regain_access"] == 0
        assert account["reset_time_duration"] == 90
