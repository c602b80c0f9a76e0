"""X API v2 client pieces: auth, the problem-based error table (§3.6), rate-limit headers."""

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
from ..waits import reset_epoch_until

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
    throttle = throttle_error("x", response, message, clock())
    return throttle or ProviderError(
        STATUS_CATEGORIES.get(status, ErrorCategory.UNKNOWN), message, status=status
    )


def read_feedback(
    response: httpx.Response, *, clock: Callable[[], float] = time.time
) -> Cooldown | None:
    """Put the account in cooldown when X says its window is spent."""
    until = reset_epoch_until(response, clock())
    if until is not None:
        return Cooldown("account", until, "x-rate-limit-remaining is 0")
    return None
