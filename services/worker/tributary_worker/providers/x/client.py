"""X API v2 client pieces: auth, the problem-based error table (§3.6), rate-limit headers."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from tributary_common.categories import ErrorCategory
from tributary_common.connectors import ConnectionInfo
from tributary_common.errors import ProviderError
from tributary_common.provider_http import Cooldown

from ..responses import HTTP_STATUS_CATEGORIES

#: §3.6: without ``x-rate-limit-reset`` assume the 15-minute window.
DEFAULT_WINDOW_SECONDS = 900.0
#: The reset is a whole second; step past it so the retry lands in the new window.
RESET_SKEW_SECONDS = 1.0
#: A monthly usage cap cannot clear within retries: park the job for a day.
USAGE_CAP_PARK_SECONDS = 86_400.0

STATUS_CATEGORIES = HTTP_STATUS_CATEGORIES


def auth_headers(connection: ConnectionInfo) -> dict[str, str]:
    return {"Authorization": f"Bearer {connection.access_token}"}


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _describe(body: dict[str, Any], response: httpx.Response) -> str:
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        return str(first.get("detail") or first.get("message") or first)
    return str(body.get("detail") or body.get("title") or response.reason_phrase)


def _is_usage_cap(body: dict[str, Any]) -> bool:
    return str(body.get("type", "")).endswith("usage-capped") or body.get("title") == (
        "UsageCapExceeded"
    )


def map_error(
    response: httpx.Response, *, clock: Callable[[], float] = time.time
) -> ProviderError | None:
    """Classify an X response per providers.md §3.6; None when it is not an error."""
    status = response.status_code
    if status == 200 and response.headers.get("content-type", "").startswith("application/json"):
        body = _body(response)
        if body.get("errors") and "data" not in body:
            # 200 carrying only problems: e.g. the user id does not exist.
            return ProviderError(
                ErrorCategory.VALIDATION_ERROR, _describe(body, response), status=status
            )
    if status < 400:
        return None
    body = _body(response)
    message = _describe(body, response)
    category = STATUS_CATEGORIES.get(status, ErrorCategory.UNKNOWN)
    if category is not ErrorCategory.RATE_LIMIT:
        return ProviderError(category, message, status=status)
    now = clock()
    if _is_usage_cap(body):
        until, scope = now + USAGE_CAP_PARK_SECONDS, "provider"
    else:
        reset = response.headers.get("x-rate-limit-reset", "")
        until = (
            float(reset) + RESET_SKEW_SECONDS if reset.isdigit() else now + DEFAULT_WINDOW_SECONDS
        )
        scope = "account"
    retry_at = datetime.fromtimestamp(until, tz=UTC)
    return ProviderError(category, message, status=status, retry_at=retry_at, scope=scope)


def read_feedback(response: httpx.Response) -> Cooldown | None:
    """Put the account in cooldown when X says its window is spent."""
    reset = response.headers.get("x-rate-limit-reset", "")
    if response.headers.get("x-rate-limit-remaining") == "0" and reset.isdigit():
        return Cooldown("account", float(reset) + RESET_SKEW_SECONDS, "x-rate-limit-remaining is 0")
    return None
