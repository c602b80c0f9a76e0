"""RFC 6749 §6 refresh (``grant_type=refresh_token``) through Authlib's httpx client.

One class, three providers, differing in client authentication and error dialect:

- Google (YouTube, Google Ads): ``client_secret_post``; a refresh usually returns no new
  refresh token, the old one stays [S GO-4]; 400 ``invalid_grant`` "Token has been
  expired or revoked." when revoked [S ISS-6]; an expired access token is HTTP 401.
- X: confidential clients authenticate with HTTP Basic [C X-1, X-2]; refresh tokens are
  single use [S ISS-22, ISS-23]; a spent or revoked one is 400 ``invalid_request``
  "Value passed for the token was invalid." [S ISS-24] — terminal, like invalid_grant.
- GitHub App user tokens: ``client_secret_post``, ``Accept: application/json`` (the
  default answer is form-encoded [C GH-3, S ISS-4]); errors arrive with HTTP 200 and an
  ``error`` body, ``bad_refresh_token`` for a spent or expired refresh token [S GH-S3];
  rotation kills the old refresh *and* access token [C GH-1]. Personal access tokens
  (kind ``personal``) never refresh [C GH-7].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.httpx_client import OAuth2Client

from ..apps import OAuthApp
from ..model import Credential, TokenSet
from ..refresher import RefreshRejected, RefreshUnavailable

#: Token-endpoint errors that mean "this grant is dead: the user must reconnect".
TERMINAL_ERRORS = frozenset(
    {
        "invalid_grant",
        "bad_refresh_token",
        "invalid_request",  # X's answer to a spent or revoked refresh token [S ISS-24]
        "invalid_client",
        "unauthorized_client",
        "incorrect_client_credentials",
        "access_denied",
    }
)


def retry_at(response: httpx.Response) -> float | None:
    """Retry-After (seconds or HTTP date) as epoch seconds, or None."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return datetime.now(UTC).timestamp() + float(value)
    except ValueError:
        try:
            return parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            return None


@dataclass(frozen=True)
class OAuth2Refresher:
    provider: str
    app: OAuthApp = field(repr=False)
    margin: float
    #: client_secret_post or client_secret_basic.
    auth_method: str = "client_secret_post"
    headers: dict[str, str] = field(default_factory=dict)
    #: 401 means the access token expired or was revoked (every provider here).
    expired_statuses: tuple[int, ...] = (401,)

    def margin_seconds(self, credential: Credential) -> float:
        return self.margin

    def can_refresh(self, credential: Credential, now: datetime) -> bool:
        return credential.kind == "user" and bool(credential.refresh_token)

    def says_expired(self, response: httpx.Response) -> bool:
        return response.status_code in self.expired_statuses

    def refresh(self, client: httpx.Client, credential: Credential) -> TokenSet:
        seen: list[httpx.Response] = []

        def keep(response: httpx.Response) -> httpx.Response:
            response.read()
            seen.append(response)
            return response

        with OAuth2Client(
            client_id=self.app.client_id,
            client_secret=self.app.client_secret,
            token_endpoint_auth_method=self.auth_method,
            timeout=client.timeout,
        ) as oauth:
            oauth.register_compliance_hook("refresh_token_response", keep)
            try:
                token: dict[str, Any] = oauth.refresh_token(
                    self.app.token_url,
                    refresh_token=credential.refresh_token,
                    headers={
                        "Accept": "application/json",
                        "Content-Type": "application/x-www-form-urlencoded",
                        **self.headers,
                    },
                )
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                raise RefreshUnavailable(f"{type(exc).__name__}") from None
            except (AuthlibBaseError, httpx.HTTPStatusError, ValueError) as exc:
                raise _classify(seen[-1] if seen else None, exc) from None
        response = seen[-1] if seen else None
        if response is not None and (response.status_code == 429 or response.status_code >= 500):
            raise RefreshUnavailable(f"HTTP {response.status_code}", retry_at(response))
        if not token.get("access_token"):
            raise RefreshUnavailable("token response without access_token")
        return TokenSet.from_response(dict(token))


def _classify(response: httpx.Response | None, exc: Exception) -> Exception:
    status = response.status_code if response is not None else None
    if status is not None and (status == 429 or status >= 500):
        return RefreshUnavailable(f"HTTP {status}", retry_at(response) if response else None)
    error = getattr(exc, "error", None)
    if error in TERMINAL_ERRORS:
        description = getattr(exc, "description", None)
        return RefreshRejected(f"{error}" + (f": {description}" if description else ""))
    return RefreshUnavailable(f"unexpected token response (HTTP {status}): {type(exc).__name__}")


def google(provider: str, app: OAuthApp, margin: float) -> OAuth2Refresher:
    return OAuth2Refresher(provider, app, margin)


def x(app: OAuthApp, margin: float) -> OAuth2Refresher:
    return OAuth2Refresher("x", app, margin, auth_method="client_secret_basic")


def github(app: OAuthApp, margin: float) -> OAuth2Refresher:
    return OAuth2Refresher("github", app, margin)
