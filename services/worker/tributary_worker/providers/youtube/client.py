"""YouTube Data API client pieces: auth and the reason-based error table (§2.6).

Throttles (quota and rate reasons) and the Pacific-midnight quota reset are in
`..throttles` and `..waits`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from tributary_common.categories import ErrorCategory
from tributary_common.connectors import ConnectionInfo
from tributary_common.errors import ProviderError
from tributary_common.provider_http import Cooldown

from ..responses import HTTP_STATUS_CATEGORIES
from ..throttles import throttle_error

LIST_COST_UNITS = 1

#: errors[0].reason → category; checked before the status, since 403 means many things.
#: Throttle reasons (quotaExceeded, rateLimitExceeded, ...) are in `..throttles`.
REASON_CATEGORIES: dict[str, ErrorCategory] = {
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
STATUS_CATEGORIES = HTTP_STATUS_CATEGORIES


def auth_headers(connection: ConnectionInfo) -> dict[str, str]:
    return {"Authorization": f"Bearer {connection.access_token}", "Accept": "application/json"}


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
    return throttle_error("youtube", response, text, clock()) or ProviderError(
        category, text, status=status
    )


def read_feedback(response: httpx.Response) -> Cooldown | None:
    """YouTube reports no quota headers (§2.4): usage is tracked by our own limiter."""
    return None
