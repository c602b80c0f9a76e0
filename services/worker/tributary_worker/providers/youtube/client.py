"""YouTube Data API client pieces: auth, the reason-based error table (§2.6), quota reset."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from tributary_common.categories import ErrorCategory
from tributary_common.connectors import ConnectionInfo
from tributary_common.errors import ProviderError
from tributary_common.provider_http import Cooldown

from ..responses import HTTP_STATUS_CATEGORIES

#: Daily quotas reset at midnight Pacific Time (§2.4).
QUOTA_ZONE = ZoneInfo("America/Los_Angeles")
LIST_COST_UNITS = 1

#: errors[0].reason → category; checked before the status, since 403 means many things.
REASON_CATEGORIES: dict[str, ErrorCategory] = {
    "quotaExceeded": ErrorCategory.RATE_LIMIT,
    "dailyLimitExceeded": ErrorCategory.RATE_LIMIT,
    "rateLimitExceeded": ErrorCategory.RATE_LIMIT,
    "userRateLimitExceeded": ErrorCategory.RATE_LIMIT,
    "authError": ErrorCategory.API_ERROR,
    "forbidden": ErrorCategory.API_ERROR,
    "insufficientPermissions": ErrorCategory.API_ERROR,
    "accountDelegationForbidden": ErrorCategory.API_ERROR,
    "accessNotConfigured": ErrorCategory.API_ERROR,
    "channelSuspended": ErrorCategory.API_ERROR,
    "channelClosed": ErrorCategory.API_ERROR,
    "channelNotFound": ErrorCategory.VALIDATION_ERROR,
    "playlistNotFound": ErrorCategory.VALIDATION_ERROR,
    "videoNotFound": ErrorCategory.VALIDATION_ERROR,
    "badRequest": ErrorCategory.VALIDATION_ERROR,
    "invalidPageToken": ErrorCategory.VALIDATION_ERROR,
    "missingRequiredParameter": ErrorCategory.VALIDATION_ERROR,
}
DAILY_QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
STATUS_CATEGORIES = HTTP_STATUS_CATEGORIES


def auth_headers(connection: ConnectionInfo) -> dict[str, str]:
    return {"Authorization": f"Bearer {connection.access_token}", "Accept": "application/json"}


def next_quota_reset(now: float) -> datetime:
    """Return the next midnight in Pacific Time (DST-aware), as a UTC datetime."""
    local = datetime.fromtimestamp(now, tz=QUOTA_ZONE)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), QUOTA_ZONE)
    return midnight.astimezone(UTC)


def _reason_and_message(response: httpx.Response) -> tuple[str | None, str]:
    try:
        body = response.json()
    except ValueError:
        return None, response.text[:200]
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, ""
    errors = error.get("errors") or [{}]
    first: dict[str, Any] = errors[0] if isinstance(errors[0], dict) else {}
    return first.get("reason"), str(error.get("message", ""))


def map_error(
    response: httpx.Response, *, clock: Callable[[], float] = time.time
) -> ProviderError | None:
    """Classify a YouTube response per providers.md §2.6; None when it is not an error."""
    status = response.status_code
    if status < 400:
        return None
    reason, message = _reason_and_message(response)
    text = f"{reason}: {message}" if reason else message or response.reason_phrase
    category = REASON_CATEGORIES.get(reason or "") or STATUS_CATEGORIES.get(
        status, ErrorCategory.UNKNOWN
    )
    if category is not ErrorCategory.RATE_LIMIT:
        return ProviderError(category, text, status=status)
    if reason in DAILY_QUOTA_REASONS:
        # The project's daily quota: every account waits for the Pacific midnight reset.
        return ProviderError(
            category, text, status=status, retry_at=next_quota_reset(clock()), scope="provider"
        )
    retry_after = response.headers.get("retry-after", "")
    retry_at = (
        datetime.fromtimestamp(clock() + float(retry_after), tz=UTC)
        if retry_after.isdigit()
        else None
    )
    return ProviderError(category, text, status=status, retry_at=retry_at)


def read_feedback(response: httpx.Response) -> Cooldown | None:
    """YouTube reports no quota headers (§2.4): usage is tracked by our own limiter."""
    return None
