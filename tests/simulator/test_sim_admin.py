"""The simulator's admin API, strict limits and request log, driven over real HTTP."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support.simulator import SimAdmin

GITHUB_HEADERS = {"Authorization": "Bearer t0ken", "User-Agent": "sim-tests"}


def github(sim: SimAdmin, login: str = "octocat", **params: object) -> httpx.Response:
    return httpx.get(
        f"{sim.base_url('github')}/users/{login}/events",
        params={"per_page": 5, **params},
        headers=GITHUB_HEADERS,
        timeout=2,
    )


def test_discovers_every_provider_plugin(sim: SimAdmin) -> None:
    providers = sim.http.get("/providers").json()["providers"]
    assert {"github", "youtube", "x"} <= set(providers)


def test_limit_is_never_exceeded_and_refusals_are_violations(sim: SimAdmin) -> None:
    # Given 3 requests per 60 s per account
    sim.set_limit("github", 3, 60)

    # When 5 requests come for one account and 1 for another
    statuses = [github(sim).status_code for _ in range(5)]
    other = github(sim, "hubot").status_code

    # Then the account got 3 answers and 2 rate-limit refusals; the other one is unaffected
    assert statuses == [200, 200, 200, 403, 403] and other == 200
    stats = sim.stats()["github"]
    assert stats["rateLimitViolations"] == 2
    assert stats["maxInWindow"] == 3
    assert stats["byStatus"] == {"200": 4, "403": 2}
    assert stats["limit"] == {"requests": 3, "windowSeconds": 60.0, "scope": "account"}


def test_provider_scope_shares_one_window(sim: SimAdmin) -> None:
    sim.set_limit("github", 2, 60, scope="provider")
    assert [github(sim, login).status_code for login in ("a", "b", "c")] == [200, 200, 403]


def test_window_slides(sim: SimAdmin) -> None:
    # A window long enough that the second request lands in it on a loaded machine.
    sim.set_limit("github", 1, 2.0)
    assert github(sim).status_code == 200
    assert github(sim).status_code == 403
    time.sleep(2.1)
    assert github(sim).status_code == 200


def test_deleted_limit_admits_everything(sim: SimAdmin) -> None:
    sim.set_limit("github", 1, 60)
    sim.clear_limit("github")
    assert [github(sim).status_code for _ in range(3)] == [200, 200, 200]


def test_reset_restores_defaults_and_forgets(sim: SimAdmin) -> None:
    sim.set_limit("github", 1, 60)
    sim.fault("github", "auth", count=None)
    github(sim)
    sim.reset()
    assert sim.requests() == [] and sim.http.get("/faults").json()["faults"] == []
    limits = sim.http.get("/limits").json()["limits"]
    assert limits["github"] == {"requests": 5000, "windowSeconds": 3600.0, "scope": "account"}
    assert limits["youtube"]["scope"] == "provider"


def test_request_log_records_shape_and_redacts_authorization(sim: SimAdmin) -> None:
    github(sim, page=2)
    github(sim, "hubot")
    entries = sim.requests("github", account="octocat")
    assert len(entries) == 1
    entry = entries[0]
    assert entry["method"] == "GET" and entry["path"] == "/users/octocat/events"
    assert entry["query"] == {"per_page": ["5"], "page": ["2"]}
    assert entry["headers"]["authorization"] == "[redacted]"
    assert entry["headers"]["user-agent"] == "sim-tests"
    assert entry["status"] == 200 and entry["cost"] == 1
    assert time.time() - entry["time"] < 10


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"provider": "nope", "kind": "auth"}, "unknown provider"),
        ({"provider": "github", "kind": "explode"}, "unknown fault kind"),
        ({"provider": "github", "kind": "auth", "count": 0}, "count"),
    ],
)
def test_bad_fault_requests_are_refused(sim: SimAdmin, body: dict[str, object], error: str) -> None:
    response = sim.http.post("/faults", json=body)
    assert response.status_code == 400 and error in response.json()["error"]


def test_bad_limit_requests_are_refused(sim: SimAdmin) -> None:
    assert sim.http.put("/limits/github", json={"requests": 1}).status_code == 400
    assert sim.http.put("/limits/nope", json={"requests": 1, "windowSeconds": 1}).status_code == 404
    assert sim.http.get("/nothing").status_code == 404


def test_unknown_provider_prefix_is_404(sim: SimAdmin) -> None:
    assert httpx.get(f"{sim.url}/myspace/users", timeout=2).status_code == 404
