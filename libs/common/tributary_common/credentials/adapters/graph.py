"""Instagram and Meta: no refresh-token grant; tokens are renewed with the token itself.

- Instagram (Instagram Login): ``GET graph.instagram.com/refresh_access_token?
  grant_type=ig_refresh_token&access_token=<long-lived>`` returns ``{access_token,
  token_type, expires_in}``; the token must be at least 24 hours old and not expired,
  and is then valid 60 days [C IG-4]. Use GET only [S ISS-26].
- Meta: user tokens cannot be renewed in the background once expired [C META-2]: they are
  not refreshed here; the api shows them `expiring` before their date. Business
  system-user tokens are non-expiring (nothing to do) or expire in 60 days and are
  renewed with ``fb_exchange_token`` and ``set_token_expires_in_60_days=true`` [C META-6,
  S META-S4].
- Both signal an expired or invalidated token with the Graph error envelope, code 190,
  on HTTP 400 (or 401) [C META-4, S ISS-28].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from ..apps import OAuthApp
from ..model import Credential, TokenSet
from ..refresher import RefreshRejected, RefreshUnavailable
from .oauth2 import retry_at

#: Long-lived (60-day) tokens are renewed this long before they expire.
LONG_LIVED_MARGIN_SECONDS = 7 * 86400
#: Instagram renews only tokens at least this old [C IG-4].
INSTAGRAM_MIN_AGE = timedelta(hours=24)
#: Graph error codes worth waiting out: transient (1, 2) and throttling (4, 17, 341) [C META-4].
TRANSIENT_CODES = frozenset({1, 2, 4, 17, 341})


def graph_error(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else None


def says_expired(response: httpx.Response) -> bool:
    """Code 190 on HTTP 400 or 401: the access token expired or was invalidated."""
    if response.status_code not in (400, 401):
        return False
    error = graph_error(response)
    return error is not None and error.get("code") == 190


def _renew(client: httpx.Client, url: str, params: dict[str, str]) -> TokenSet:
    try:
        response = client.get(url, params=params)
    except (httpx.TimeoutException, httpx.TransportError) as exc:
        raise RefreshUnavailable(type(exc).__name__) from None
    if response.status_code == 429 or response.status_code >= 500:
        raise RefreshUnavailable(f"HTTP {response.status_code}", retry_at(response))
    error = graph_error(response)
    if error is not None or response.status_code != 200:
        code = error.get("code") if error else None
        if code in TRANSIENT_CODES:
            raise RefreshUnavailable(f"Graph error code {code}", retry_at(response))
        message = str(error.get("message", "")) if error else f"HTTP {response.status_code}"
        raise RefreshRejected(f"OAuthException code {code}: {message[:200]}")
    try:
        return TokenSet.from_response(response.json())
    except (ValueError, KeyError):
        raise RefreshUnavailable("token response without access_token") from None


@dataclass(frozen=True)
class InstagramRefresher:
    app: OAuthApp = field(repr=False)
    provider: str = "instagram"

    def margin_seconds(self, credential: Credential) -> float:
        return LONG_LIVED_MARGIN_SECONDS

    def can_refresh(self, credential: Credential, now: datetime) -> bool:
        if credential.kind != "user" or credential.expires_at is None:
            return False
        old_enough = credential.issued_at is None or credential.issued_at <= now - INSTAGRAM_MIN_AGE
        return old_enough and credential.expires_at > now

    def says_expired(self, response: httpx.Response) -> bool:
        return says_expired(response)

    def refresh(self, client: httpx.Client, credential: Credential) -> TokenSet:
        params = {"grant_type": "ig_refresh_token", "access_token": credential.access_token}
        return _renew(client, self.app.token_url, params)


@dataclass(frozen=True)
class MetaRefresher:
    app: OAuthApp = field(repr=False)
    provider: str = "meta_ads"

    def margin_seconds(self, credential: Credential) -> float:
        return LONG_LIVED_MARGIN_SECONDS

    def can_refresh(self, credential: Credential, now: datetime) -> bool:
        return (
            credential.kind == "system_user"
            and credential.expires_at is not None
            and credential.expires_at > now
        )

    def says_expired(self, response: httpx.Response) -> bool:
        return says_expired(response)

    def refresh(self, client: httpx.Client, credential: Credential) -> TokenSet:
        params = {
            "grant_type": "fb_exchange_token",
            "client_id": self.app.client_id,
            "client_secret": self.app.client_secret,
            "set_token_expires_in_60_days": "true",
            "fb_exchange_token": credential.access_token,
        }
        return _renew(client, self.app.token_url, params)
