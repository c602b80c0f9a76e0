"""Each fault kind, as a client sees it on the wire."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support.simulator import SimAdmin

HEADERS = {"Authorization": "Bearer t0ken", "User-Agent": "sim-tests"}


def get(sim: SimAdmin, login: str = "octocat", timeout: float = 2.0) -> httpx.Response:
    url = f"{sim.base_url('github')}/users/{login}/events"
    return httpx.get(url, headers=HEADERS, timeout=timeout)


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("rate_limit", 403),
        ("quota", 403),
        ("auth", 401),
        ("forbidden", 403),
        ("bad_request", 422),
        ("not_found", 404),
        ("server_error", 500),
        ("bad_gateway", 502),
        ("unavailable", 503),
    ],
)
def test_rendered_fault_then_normal_again(sim: SimAdmin, kind: str, status: int) -> None:
    sim.fault("github", kind)
    faulted = get(sim)
    assert faulted.status_code == status
    assert "message" in faulted.json()
    assert "x-ratelimit-remaining" in faulted.headers  # on every response, errors included
    assert get(sim).status_code == 200
    assert [e["fault"] for e in sim.requests("github")] == [kind, None]


def test_fault_targets_one_account_and_skips_some_requests(sim: SimAdmin) -> None:
    sim.fault("github", "auth", account="hubot", after=1, count=2)
    assert get(sim).status_code == 200
    assert [get(sim, "hubot").status_code for _ in range(4)] == [200, 401, 401, 200]


def test_fault_without_count_lasts_until_cleared(sim: SimAdmin) -> None:
    sim.fault("github", "unavailable", count=None)
    assert [get(sim).status_code for _ in range(3)] == [503, 503, 503]
    sim.clear_faults()
    assert get(sim).status_code == 200


def test_slow_answers_normally_after_the_delay(sim: SimAdmin) -> None:
    sim.fault("github", "slow", delaySeconds=0.3)
    started = time.monotonic()
    assert get(sim).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_timeout_holds_the_request_past_the_client_deadline(sim: SimAdmin) -> None:
    sim.fault("github", "timeout", delaySeconds=1.0)
    with pytest.raises(httpx.ReadTimeout):
        get(sim, timeout=0.2)


def test_reset_closes_the_connection_abruptly(sim: SimAdmin) -> None:
    sim.fault("github", "reset")
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        get(sim)


def test_truncated_body_is_shorter_than_its_length(sim: SimAdmin) -> None:
    sim.fault("github", "truncated")
    with pytest.raises(httpx.RemoteProtocolError):
        get(sim)


def test_malformed_is_200_with_invalid_json(sim: SimAdmin) -> None:
    sim.fault("github", "malformed")
    response = get(sim)
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


def test_github_rate_limit_variants(sim: SimAdmin) -> None:
    sim.fault("github", "rate_limit", variant="primary_429", retryAfterSeconds=90)
    sim.fault("github", "rate_limit", variant="secondary", retryAfterSeconds=30)
    primary, secondary = get(sim), get(sim)
    assert primary.status_code == 429 and primary.headers["x-ratelimit-remaining"] == "0"
    assert int(primary.headers["x-ratelimit-reset"]) >= time.time() + 88
    assert "API rate limit exceeded for user ID" in primary.json()["message"]
    assert secondary.status_code == 403 and secondary.headers["retry-after"] == "30"
    assert "secondary rate limit" in secondary.json()["message"]
