"""The simulator's OAuth endpoints answer with each provider's real shapes: rotation,
single use, error dialects, expiry of issued tokens, revocation, slow and failing
endpoints, and the authorization-code flow with PKCE."""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.support.simulator import SimAdmin


def _post(
    sim: SimAdmin, provider: str, path: str, data: dict[str, str], **kw: Any
) -> httpx.Response:
    kw.setdefault("timeout", 10)
    return httpx.post(f"{sim.base_url(provider)}{path}", data=data, **kw)


def test_google_refresh_keeps_the_refresh_token_and_revocation_is_invalid_grant(
    sim: SimAdmin,
) -> None:
    tokens = sim.grant("youtube", scopes="https://www.googleapis.com/auth/youtube.readonly")
    form = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": "c",
        "client_secret": "s",
    }

    first = _post(sim, "youtube", "/token", form)
    again = _post(sim, "youtube", "/token", form)
    assert first.status_code == again.status_code == 200
    assert "refresh_token" not in first.json() and first.json()["expires_in"] == 3599
    assert first.json()["access_token"] != again.json()["access_token"]

    sim.revoke("youtube", tokens["refresh_token"])
    revoked = _post(sim, "youtube", "/token", form)
    assert revoked.status_code == 400
    assert revoked.json() == {
        "error": "invalid_grant",
        "error_description": "Token has been expired or revoked.",
    }


def test_x_refresh_tokens_are_single_use_and_need_basic_auth(sim: SimAdmin) -> None:
    tokens = sim.grant("x")
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert _post(sim, "x", "/2/oauth2/token", form).status_code == 401  # no Basic header

    rotated = _post(sim, "x", "/2/oauth2/token", form, auth=("client", "secret"))
    assert rotated.status_code == 200 and rotated.json()["expires_in"] == 7200
    assert rotated.json()["refresh_token"] != tokens["refresh_token"]

    reused = _post(sim, "x", "/2/oauth2/token", form, auth=("client", "secret"))
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_request"
    assert sim.oauth_counters("x") == {
        "unauthorized_client": 1,
        "refreshed": 1,
        "invalid_grant_reused": 1,
    }


def test_github_answers_form_encoded_and_errors_with_http_200(sim: SimAdmin) -> None:
    tokens = sim.grant("github")
    assert tokens["access_token"].startswith("ghu_") and tokens["refresh_token"].startswith("ghr_")
    form = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": "c",
        "client_secret": "s",
    }

    plain = _post(sim, "github", "/login/oauth/access_token", form)
    assert plain.headers["content-type"].startswith("application/x-www-form-urlencoded")
    fresh = parse_qs(plain.text)
    assert fresh["expires_in"] == ["28800"] and fresh["refresh_token"][0].startswith("ghr_")

    # The spent refresh token: HTTP 200 with an error body; the old access token died too
    spent = _post(
        sim, "github", "/login/oauth/access_token", form, headers={"Accept": "application/json"}
    )
    assert spent.status_code == 200 and spent.json()["error"] == "bad_refresh_token"
    old = httpx.get(
        f"{sim.base_url('github')}/users/octocat/events",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert old.status_code == 401 and old.json()["message"] == "Bad credentials"


def test_issued_access_tokens_expire_with_the_providers_own_401(sim: SimAdmin) -> None:
    tokens = sim.grant("meta_ads", expiresIn=3)
    url = f"{sim.base_url('meta_ads')}/v25.0/act_1000000001/campaigns"
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert httpx.get(url, headers=headers).status_code == 200
    time.sleep(3.2)
    expired = httpx.get(url, headers=headers)
    assert expired.status_code == 400
    assert (
        expired.json()["error"]["code"] == 190 and expired.json()["error"]["error_subcode"] == 463
    )


def test_instagram_refreshes_only_tokens_a_day_old(sim: SimAdmin) -> None:
    young = sim.grant("instagram")
    aged = sim.grant("instagram", ageSeconds=90_000)
    url = f"{sim.base_url('instagram')}/refresh_access_token"

    refused = httpx.get(
        url, params={"grant_type": "ig_refresh_token", "access_token": young["access_token"]}
    )
    renewed = httpx.get(
        url, params={"grant_type": "ig_refresh_token", "access_token": aged["access_token"]}
    )
    assert refused.status_code == 400 and refused.json()["error"]["type"] == "OAuthException"
    assert renewed.status_code == 200
    assert set(renewed.json()) == {"access_token", "token_type", "expires_in"}
    assert renewed.json()["expires_in"] == 5_184_000


def test_slow_and_failing_token_endpoint(sim: SimAdmin) -> None:
    tokens = sim.grant("youtube")
    form = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": "c",
    }
    sim.oauth("youtube", failStatus=503, failCount=1)
    assert _post(sim, "youtube", "/token", form).status_code == 503
    assert _post(sim, "youtube", "/token", form).status_code == 200  # one failure only

    sim.oauth("youtube", delaySeconds=0.5)
    started = time.monotonic()
    assert _post(sim, "youtube", "/token", form).status_code == 200
    assert time.monotonic() - started >= 0.5
    # A client that gives up before the slow endpoint processed its request: dropped
    with pytest.raises(httpx.TimeoutException):
        _post(sim, "youtube", "/token", form, timeout=0.1)
    time.sleep(0.7)
    assert sim.oauth_counters("youtube")["dropped_client_gone"] == 1
    assert sim.oauth_counters("youtube")["refreshed"] == 2


def test_authorization_code_with_pkce_single_use(sim: SimAdmin) -> None:
    verifier = "v" * 50
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    sim.oauth("x", consentAccount="2244994945")
    answer = httpx.get(
        f"{sim.base_url('x')}/i/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": "c",
            "redirect_uri": "https://app.example/cb",
            "scope": "tweet.read offline.access",
            "state": "st",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["state"] == ["st"]
    form = {
        "grant_type": "authorization_code",
        "code": query["code"][0],
        "redirect_uri": "https://app.example/cb",
    }

    wrong = _post(sim, "x", "/2/oauth2/token", {**form, "code_verifier": "w" * 50}, auth=("c", "s"))
    assert wrong.status_code == 400
    # The failed redemption spent the code: the right verifier is too late now
    late = _post(sim, "x", "/2/oauth2/token", {**form, "code_verifier": verifier}, auth=("c", "s"))
    assert late.status_code == 400

    sim.oauth("x", denyConsent=True)
    denied = httpx.get(
        f"{sim.base_url('x')}/i/oauth2/authorize",
        params={
            "client_id": "c",
            "redirect_uri": "https://app.example/cb",
            "state": "s2",
            "code_challenge": challenge,
        },
    )
    assert parse_qs(urlsplit(denied.headers["location"]).query)["error"] == ["access_denied"]
