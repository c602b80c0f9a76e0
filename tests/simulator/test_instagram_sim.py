"""The simulated Instagram Graph API: paging, usage headers and Graph error bodies."""

from __future__ import annotations

import json

import httpx
import pytest
from tributary_simulator.providers import instagram

from tests.support.simulator import SimAdmin

ACCOUNT = "17841400000000002"
AUTH = {"Authorization": "Bearer t"}


@pytest.fixture
def client(sim: SimAdmin) -> httpx.Client:
    return httpx.Client(base_url=sim.base_url("instagram"), headers=AUTH, timeout=5)


def media(client: httpx.Client, **params: object) -> httpx.Response:
    return client.get(f"/v25.0/{ACCOUNT}/media", params=params)


def test_next_links_walk_every_visible_item_newest_first(
    sim: SimAdmin, client: httpx.Client
) -> None:
    seen: list[str] = []
    response = media(client, fields="id,timestamp", limit=10)
    pages = 0
    while True:
        body = response.json()
        pages += 1
        seen += [item["id"] for item in body["data"]]
        assert len(body["data"]) <= 10
        next_url = body.get("paging", {}).get("next")
        if next_url is None:
            break
        assert next_url.startswith(sim.base_url("instagram") + f"/v25.0/{ACCOUNT}/media?")
        response = httpx.get(next_url, headers=AUTH)
    every = instagram.all_media(ACCOUNT, sim.today)
    assert seen == [item["id"] for item in instagram.visible_media(ACCOUNT, sim.today)]
    assert pages == -(-len(every) // 10)
    # Privacy filtering makes some pages short while more follow
    assert len(seen) < len(every)


def test_fields_select_what_is_returned(client: httpx.Client) -> None:
    item = media(client, fields="id,caption", limit=1).json()["data"][0]
    assert set(item) == {"id", "caption"}
    assert set(media(client, limit=1).json()["data"][0]) == {"id"}


def test_access_token_parameter_is_accepted(sim: SimAdmin) -> None:
    response = httpx.get(
        f"{sim.base_url('instagram')}/v25.0/{ACCOUNT}/media", params={"access_token": "t"}
    )
    assert response.status_code == 200


def test_usage_headers(client: httpx.Client) -> None:
    first = media(client)
    buc = json.loads(first.headers["X-Business-Use-Case-Usage"])
    assert list(buc) == [ACCOUNT] and buc[ACCOUNT][0]["type"] == "instagram"
    assert buc[ACCOUNT][0]["estimated_time_to_regain_access"] == 0
    assert "X-App-Usage" not in first.headers
    media(client)
    assert set(json.loads(media(client).headers["X-App-Usage"])) == {
        "call_count",
        "total_cputime",
        "total_time",
    }


@pytest.mark.parametrize(
    ("params", "headers", "code"),
    [
        ({"fields": "id,bogus"}, AUTH, 100),
        ({"after": "not-a-cursor"}, AUTH, 100),
        ({"limit": "0"}, AUTH, 100),
        ({}, {}, 104),
    ],
)
def test_client_errors_are_graph_error_objects(
    sim: SimAdmin, params: dict[str, str], headers: dict[str, str], code: int
) -> None:
    url = f"{sim.base_url('instagram')}/v25.0/{ACCOUNT}/media"
    response = httpx.get(url, params=params, headers=headers)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code and error["type"] and error["fbtrace_id"]


def test_unsupported_version_and_unknown_object(client: httpx.Client) -> None:
    assert client.get(f"/v2.0/{ACCOUNT}/media").json()["error"]["code"] == 2635
    unknown = client.get("/v25.0/someone/media").json()["error"]
    assert (unknown["code"], unknown["error_subcode"]) == (100, 33)


@pytest.mark.parametrize(
    ("kind", "variant", "status", "code", "subcode"),
    [
        ("rate_limit", None, 400, 80002, 2446079),
        ("rate_limit", "app", 400, 4, None),
        ("rate_limit", "user", 400, 17, None),
        ("quota", None, 400, 4, None),
        ("auth", None, 400, 190, 463),
        ("auth", "invalid", 400, 190, 467),
        ("forbidden", None, 403, 10, None),
        ("forbidden", "200", 400, 200, None),
        ("bad_request", None, 400, 100, None),
        ("not_found", None, 400, 100, 33),
        ("server_error", None, 500, 1, 99),
        ("unavailable", None, 503, 2, None),
    ],
)
def test_fault_bodies(
    sim: SimAdmin,
    client: httpx.Client,
    kind: str,
    variant: str | None,
    status: int,
    code: int,
    subcode: int | None,
) -> None:
    sim.fault("instagram", kind, variant=variant, retryAfterSeconds=61)
    response = media(client)
    assert response.status_code == status
    error = response.json()["error"]
    assert (error["code"], error.get("error_subcode")) == (code, subcode)
    if code == 80002:
        usage = json.loads(response.headers["X-Business-Use-Case-Usage"])
        assert usage[ACCOUNT][0]["estimated_time_to_regain_access"] == 2
    if code == 4:
        assert json.loads(response.headers["X-App-Usage"])["call_count"] == 100


def test_bad_gateway_is_not_a_graph_body(sim: SimAdmin, client: httpx.Client) -> None:
    sim.fault("instagram", "bad_gateway")
    response = media(client)
    assert response.status_code == 502 and response.headers["content-type"] == "text/html"
