"""GitHub REST client pieces: auth headers, ``link`` paging and the error table (§1.8)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from tributary_common.categories import ErrorCategory
from tributary_common.connectors import ConnectionInfo
from tributary_common.errors import ProviderError
from tributary_common.provider_http import Cooldown

from ..responses import HTTP_STATUS_CATEGORIES

API_VERSION = "2022-11-28"
USER_AGENT = "tributary-sync/0.1 (+https://github.com/tributary)"
#: §1.7: a secondary limit without any hint means "wait at least a minute".
DEFAULT_RATE_LIMIT_WAIT_SECONDS = 60.0

_RATE_LIMIT_TEXT = re.compile(r"rate limit|abuse detection", re.IGNORECASE)
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="next"')

#: Status → category once the rate-limit test (403/429) has been applied.
STATUS_CATEGORIES = {**HTTP_STATUS_CATEGORIES, 422: ErrorCategory.VALIDATION_ERROR}


def auth_headers(connection: ConnectionInfo) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {connection.access_token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
        "User-Agent": USER_AGENT,
    }


def next_link(response: httpx.Response, base_url: str) -> str | None:
    """Return the ``rel="next"`` URL, relative to ``base_url`` when it lies under it.

    Relative links keep a saved cursor valid if the base URL's host changes.
    """
    found = _NEXT_LINK.search(response.headers.get("link", ""))
    if found is None:
        return None
    url = found.group(1)
    base = base_url.rstrip("/")
    if url.startswith(base + "/"):
        return url[len(base) :]
    return url


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("message", "")) if isinstance(body, dict) else ""


def _rate_limit_until(response: httpx.Response, now: float) -> float | None:
    """Return when a 403/429 rate limit ends, or None if the response is not one."""
    headers = response.headers
    retry_after = headers.get("retry-after")
    limited = (
        headers.get("x-ratelimit-remaining") == "0"
        or retry_after is not None
        or bool(_RATE_LIMIT_TEXT.search(_message(response)))
    )
    if not limited:
        return None
    if retry_after is not None and retry_after.strip().isdigit():
        return now + float(retry_after)
    reset = headers.get("x-ratelimit-reset", "")
    if headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
        return float(reset)
    return now + DEFAULT_RATE_LIMIT_WAIT_SECONDS


def map_error(
    response: httpx.Response, *, clock: Callable[[], float] = time.time
) -> ProviderError | None:
    """Classify a GitHub response per providers.md §1.8; None when it is not an error."""
    status = response.status_code
    if status < 400:
        return None
    message = _message(response) or response.reason_phrase
    if status in (403, 429):
        until = _rate_limit_until(response, clock())
        if until is not None:
            retry_at = datetime.fromtimestamp(until, tz=UTC)
            return ProviderError(
                ErrorCategory.RATE_LIMIT, message, status=status, retry_at=retry_at
            )
    category = STATUS_CATEGORIES.get(status, ErrorCategory.UNKNOWN)
    return ProviderError(category, message, status=status)


def read_feedback(response: httpx.Response) -> Cooldown | None:
    """Put the account in cooldown when GitHub says its window is spent."""
    reset = response.headers.get("x-ratelimit-reset", "")
    if response.headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
        return Cooldown("account", float(reset), "github x-ratelimit-remaining is 0")
    return None
