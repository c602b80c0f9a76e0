"""Paging shapes and provider-specific rules of the GitHub, YouTube and X plugins."""

from __future__ import annotations

from datetime import timedelta

import httpx
from tributary_simulator.providers.github import data as github_data
from tributary_simulator.providers.x import data as x_data
from tributary_simulator.providers.youtube import data as youtube_data

from tests.support.simulator import SimAdmin

GH = {"Authorization": "Bearer t0ken", "User-Agent": "sim-tests"}
BEARER = {"Authorization": "Bearer t0ken"}


def test_github_paging_follows_link_headers_to_the_cap(sim: SimAdmin) -> None:
    url: str | None = f"{sim.base_url('github')}/users/octocat/events?per_page=100"
    seen: list[str] = []
    while url:
        response = httpx.get(url, headers=GH, timeout=2)
        assert response.status_code == 200
        assert response.headers["x-poll-interval"] == "60" and response.headers["etag"]
        seen += [e["id"] for e in response.json()]
        url = response.links.get("next", {}).get("url")
    assert seen == [e["id"] for e in github_data.events("octocat", sim.today)]
    assert len(seen) <= github_data.EVENT_CAP


def test_github_per_page_is_capped_at_100_and_past_the_cap_is_422(sim: SimAdmin) -> None:
    base = f"{sim.base_url('github')}/users/octocat/events"
    assert len(httpx.get(base, params={"per_page": 500}, headers=GH).json()) <= 100
    past = httpx.get(base, params={"per_page": 100, "page": 4}, headers=GH)
    assert past.status_code == 422 and "pagination is limited" in past.json()["message"]


def test_github_etag_304_is_free(sim: SimAdmin) -> None:
    url = f"{sim.base_url('github')}/users/octocat/events"
    first = httpx.get(url, headers=GH)
    again = httpx.get(url, headers={**GH, "If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["x-ratelimit-remaining"] == first.headers["x-ratelimit-remaining"]


def test_github_requires_user_agent_and_a_known_version(sim: SimAdmin) -> None:
    url = f"{sim.base_url('github')}/users/octocat/events"
    # A bare Request skips the client's default User-Agent
    request = httpx.Request("GET", url, headers=BEARER)
    assert "user-agent" not in request.headers
    with httpx.Client() as client:
        assert client.send(request).status_code == 403
    bad = httpx.get(url, headers={**GH, "X-GitHub-Api-Version": "1999-01-01"})
    assert bad.status_code == 400
    assert httpx.get(url, headers={**GH, "Authorization": "Bearer invalid"}).status_code == 401


def test_youtube_paging_and_units(sim: SimAdmin) -> None:
    channel = "UCabcdefghijklmnopqrstuv"
    base = sim.base_url("youtube")
    channels = httpx.get(
        f"{base}/channels", params={"part": "contentDetails", "id": channel}, headers=BEARER
    )
    playlist = channels.json()["items"][0]["contentDetails"]["relatedPlaylists"]["uploads"]
    assert playlist == youtube_data.uploads_playlist(channel)
    params = {"part": "snippet,contentDetails", "playlistId": playlist, "maxResults": 50}
    seen: list[str] = []
    token = None
    while True:
        page = httpx.get(
            f"{base}/playlistItems",
            params={**params, **({"pageToken": token} if token else {})},
            headers=BEARER,
        ).json()
        seen += [i["contentDetails"]["videoId"] for i in page["items"]]
        token = page.get("nextPageToken")
        if not token:
            break
    expected = [i["contentDetails"]["videoId"] for i in youtube_data.uploads(channel, sim.today)]
    assert seen == expected
    httpx.get(f"{base}/search", params={"part": "snippet", "channelId": channel}, headers=BEARER)
    requests = len(sim.requests("youtube"))
    assert sim.stats()["youtube"]["costUnits"] == (requests - 1) + 100


def test_youtube_errors_follow_the_google_envelope(sim: SimAdmin) -> None:
    base = sim.base_url("youtube")
    bad_token = httpx.get(
        f"{base}/playlistItems",
        params={"part": "id", "playlistId": "UUabc", "pageToken": "nonsense"},
        headers=BEARER,
    )
    assert bad_token.status_code == 400
    assert bad_token.json()["error"]["errors"][0]["reason"] == "invalidPageToken"
    sim.fault("youtube", "quota")
    quota = httpx.get(f"{base}/channels", params={"part": "id", "id": "UCabc"}, headers=BEARER)
    assert quota.status_code == 403
    assert quota.json()["error"]["errors"][0] == {
        "message": quota.json()["error"]["message"],
        "domain": "youtube.quota",
        "reason": "quotaExceeded",
    }


def test_x_window_paging_and_headers(sim: SimAdmin) -> None:
    user = "2244994945"
    day = sim.today - timedelta(days=2)
    url = f"{sim.base_url('x')}/2/users/{user}/tweets"
    params = {
        "start_time": f"{day}T00:00:00Z",
        "end_time": f"{day}T23:59:59Z",
        "max_results": 100,
        "tweet.fields": "created_at",
    }
    seen: list[str] = []
    token = None
    while True:
        response = httpx.get(
            url, params={**params, **({"pagination_token": token} if token else {})}, headers=BEARER
        )
        assert {"x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"} <= set(
            response.headers
        )
        body = response.json()
        seen += [p["id"] for p in body.get("data", [])]
        token = body["meta"].get("next_token")
        if not token:
            break
    expected = [
        p["id"] for p in x_data.posts(user, sim.today) if p["created_at"].startswith(str(day))
    ]
    assert seen == expected


def test_x_rejects_bad_max_results_and_limits_with_429(sim: SimAdmin) -> None:
    url = f"{sim.base_url('x')}/2/users/2244994945/tweets"
    bad = httpx.get(url, params={"max_results": 500}, headers=BEARER)
    assert bad.status_code == 400 and bad.json()["type"].endswith("/invalid-request")
    sim.set_limit("x", 1, 900)
    httpx.get(url, headers=BEARER)
    limited = httpx.get(url, headers=BEARER)
    assert limited.status_code == 429 and limited.json()["title"] == "Too Many Requests"
    assert limited.headers["x-rate-limit-remaining"] == "0"
    empty = httpx.get(
        url,
        params={"start_time": "2001-01-01T00:00:00Z", "end_time": "2001-01-02T00:00:00Z"},
        headers=BEARER,
    )
    assert empty.status_code == 429
    sim.clear_limit("x")
    empty = httpx.get(
        url,
        params={"start_time": "2001-01-01T00:00:00Z", "end_time": "2001-01-02T00:00:00Z"},
        headers=BEARER,
    )
    assert empty.json() == {"meta": {"result_count": 0}}
