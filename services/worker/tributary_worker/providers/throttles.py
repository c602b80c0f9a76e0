"""Which provider answers are throttles ("too many requests"), for all six connectors.

One table per provider, here and nowhere else. A throttle is never a failure: the
connector maps it to RATE_LIMIT, `ProviderHttp` puts the `Throttle.scope` in cooldown
and raises `Throttled`, and the runner defers the job without using an attempt (a
RATE_LIMIT dead letter only once the throttle outlasts the horizon). The wait is
`waits.stated_until`, at least the documented `Throttle.minimum_seconds`; when neither
applies, the connector's growing `THROTTLE_WAITS` default.

| provider | throttle | scope |
| --- | --- | --- |
| every one | HTTP 429 (unless the body says otherwise) | account |
| github | 403/429 with ``x-ratelimit-remaining: 0`` (primary), ``Retry-After`` or "rate limit"/"abuse detection" text (secondary) — §1.7 | account (the token) |
| youtube | reason ``quotaExceeded``/``dailyLimitExceeded`` — §2.4 | provider (the project) |
| youtube | reason ``rateLimitExceeded``/``userRateLimitExceeded`` | account |
| x | 429 ``UsageCapExceeded`` (monthly cap: 24 h) — §3.6 | provider (the app) |
| x | any other 429 | account |
| meta_ads, instagram | code 4, 341 (app) — except code 4 subcodes 1504022/1504039 | provider (the app) |
| meta_ads, instagram | code 17, 32, 613, 80000-80014, 368 (policy block: 1 h) — §4.4, §5.5 | account |
| google_ads | ``quotaError`` (not ``ACCESS_PROHIBITED``) with no auth/request error beside it, status ``RESOURCE_EXHAUSTED`` — §6.5 | provider for ``rateScope`` DEVELOPER/PROJECT, else account |
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from tributary_common.categories import ErrorCategory
from tributary_common.errors import ProviderError
from tributary_common.throttle import ThrottleWait

from .waits import DAILY_QUOTA_REASONS, google_reasons, stated_until


@dataclass(frozen=True)
class Throttle:
    """A provider's "too many requests": whose quota (``scope``) and a fact-based wait."""

    #: "account" (the connection's token, user, ad account or customer) or "provider"
    #: (the app, project or developer token: every account waits).
    scope: str
    #: The docs say this throttle lasts at least this long (X usage cap, Meta policy
    #: block), whatever the headers say about other windows (seconds).
    minimum_seconds: float | None = None


#: How long a throttle stating no wait lasts, doubling per repeat up to the maximum.
THROTTLE_WAITS: dict[str, ThrottleWait] = {
    # §1.7: a secondary limit without a hint means "wait at least a minute".
    "github": ThrottleWait(60.0, 900.0),
    "youtube": ThrottleWait(60.0, 3600.0),
    # §3.6: without x-rate-limit-reset assume the 15-minute window.
    "x": ThrottleWait(900.0, 3600.0),
    # Meta's ad-account and BUC throttles last minutes to an hour (§4.4).
    "meta_ads": ThrottleWait(60.0, 3600.0),
    "instagram": ThrottleWait(60.0, 3600.0),
    "google_ads": ThrottleWait(30.0, 900.0),
}

#: X: a monthly usage cap cannot clear soon; park a day (the horizon then ends it).
USAGE_CAP_PARK_SECONDS = 86_400.0
#: Meta code 368 is a policy block measured in hours [U].
POLICY_BLOCK_WAIT_SECONDS = 3600.0

_GITHUB_TEXT = re.compile(r"rate limit|abuse detection", re.IGNORECASE)
_YOUTUBE_ACCOUNT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
_GRAPH_PROVIDER_CODES = frozenset({4, 341})
_GRAPH_ACCOUNT_CODES = frozenset({17, 32, 613, *range(80000, 80015)})
_GRAPH_ACCOUNT_SUBCODES = frozenset({1504022, 1504039})
_GRAPH_GATEWAY = frozenset({502, 503, 504})
_ADS_PROVIDER_SCOPES = frozenset({"DEVELOPER", "PROJECT"})
#: Google Ads families that outrank a quota error in the same failure (§6.5).
_ADS_FINAL_FAMILIES = frozenset(
    {"authenticationError", "authorizationError", "queryError", "requestError", "fieldError"}
)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        return None


def github(response: httpx.Response) -> Throttle | None:
    status, headers = response.status_code, response.headers
    if status not in (403, 429):
        return None
    body = _json(response)
    message = str(body.get("message", "")) if isinstance(body, dict) else response.text[:200]
    if (
        status == 429
        or headers.get("x-ratelimit-remaining") == "0"
        or "retry-after" in headers
        or _GITHUB_TEXT.search(message)
    ):
        return Throttle("account")
    return None


def youtube(response: httpx.Response) -> Throttle | None:
    reasons = google_reasons(_json(response))
    if DAILY_QUOTA_REASONS.intersection(reasons):
        return Throttle("provider")
    if _YOUTUBE_ACCOUNT_REASONS.intersection(reasons) or response.status_code == 429:
        return Throttle("account")
    return None


def x(response: httpx.Response) -> Throttle | None:
    if response.status_code != 429:
        return None
    body = _json(response)
    body = body if isinstance(body, dict) else {}
    capped = str(body.get("type", "")).endswith("usage-capped") or (
        body.get("title") == "UsageCapExceeded"
    )
    return Throttle("provider", USAGE_CAP_PARK_SECONDS) if capped else Throttle("account")


def graph(response: httpx.Response) -> Throttle | None:
    """Meta's Graph API (Meta Ads and Instagram): the ``error.code`` decides."""
    if response.status_code < 400 or response.status_code in _GRAPH_GATEWAY:
        return None
    body = _json(response)
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    if not isinstance(code, int):
        return Throttle("account") if response.status_code == 429 else None
    assert isinstance(error, dict)
    if code in _GRAPH_PROVIDER_CODES:
        account = error.get("error_subcode") in _GRAPH_ACCOUNT_SUBCODES
        return Throttle("account" if account else "provider")
    if code == 368:
        return Throttle("account", POLICY_BLOCK_WAIT_SECONDS)
    if code in _GRAPH_ACCOUNT_CODES:
        return Throttle("account")
    return None


def ads_errors(status: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The ``GoogleAdsError`` entries of a Google Ads ``google.rpc.Status``."""
    for detail in status.get("details") or []:
        if isinstance(detail, dict):
            yield from (e for e in detail.get("errors") or [] if isinstance(e, dict))


def ads_status_object(response: httpx.Response) -> Mapping[str, Any]:
    """The ``google.rpc.Status`` of a Google Ads error (``searchStream`` wraps it in a list)."""
    body = _json(response)
    if isinstance(body, list) and body:
        body = body[0]
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def google_ads(response: httpx.Response) -> Throttle | None:
    if response.status_code < 400:
        return None
    status = ads_status_object(response)
    errors = list(ads_errors(status))
    codes = [next(iter(e["errorCode"].items())) for e in errors if e.get("errorCode")]
    quota = [value for family, value in codes if family == "quotaError"]
    final = any(
        family in _ADS_FINAL_FAMILIES or (family == "quotaError" and value == "ACCESS_PROHIBITED")
        for family, value in codes
    )
    known = [family for family, _ in codes if family in _ADS_FINAL_FAMILIES | {"quotaError"}]
    if known:
        throttled = any(value != "ACCESS_PROHIBITED" for value in quota)
    else:
        throttled = status.get("status") == "RESOURCE_EXHAUSTED" or (
            not status and response.status_code == 429
        )
    if final or not throttled:
        return None
    scopes = {
        ((e.get("details") or {}).get("quotaErrorDetails") or {}).get("rateScope") for e in errors
    }
    return Throttle("provider" if scopes & _ADS_PROVIDER_SCOPES else "account")


RECOGNISERS: dict[str, Callable[[httpx.Response], Throttle | None]] = {
    "github": github,
    "youtube": youtube,
    "x": x,
    "meta_ads": graph,
    "instagram": graph,
    "google_ads": google_ads,
}


def throttle_error(
    provider: str, response: httpx.Response, message: str, now: float
) -> ProviderError | None:
    """Return the RATE_LIMIT error for a throttle of ``provider``, or None if not one.

    ``retry_at`` is what the answer states (`waits.stated_until`), at least the documented
    minimum; None leaves the wait to the connector's growing default.
    """
    throttle = RECOGNISERS[provider](response)
    if throttle is None:
        return None
    until = stated_until(response, now)
    if throttle.minimum_seconds is not None:
        until = max(until or now, now + throttle.minimum_seconds)
    retry_at = datetime.fromtimestamp(until, tz=UTC) if until is not None else None
    return ProviderError(
        ErrorCategory.RATE_LIMIT,
        message,
        status=response.status_code,
        retry_at=retry_at,
        scope=throttle.scope,
    )
