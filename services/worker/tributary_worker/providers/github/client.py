"""GitHub REST client pieces: auth headers, ``link`` paging and the error table (§1.8)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import httpx
from tributary_common.categories import ErrorCategory
from tributary_common.connectors import ConnectionInfo
from tributary_common.errors import ProviderError
from tributary_common.provider_http import Cooldown

from ..responses import HTTP_STATUS_CATEGORIES
from ..throttles import throttle_error
from ..waits import reset_epoch_until

API_VERSION = "2022-11-28"
USER_AGENT = "tributary-sync/0.1 (+https://github.com/tributary)"
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


def map_error(
    response: httpx.Response, *, clock: Callable[[], float] = time.time
) -> ProviderError | None:
    """Classify a GitHub response per providers.md §1.8; None when it is not an error."""
    status = response.status_code
    if status < 400:
        return None
    message = _message(response) or response.reason_phrase
    throttle = throttle_error("github", response, message, clock())
    if throttle is not None:
        return throttle
    category = STATUS_CATEGORIES.get(status, ErrorCategory.UNKNOWN)
    return ProviderError(category, message, status=status)


def read_feedback(
    response: httpx.Response, *, clock: Callable[[], float] = time.time
) -> Cooldown | None:
    """Put the account in cooldown when GitHub says its window is spent."""
    until = reset_epoch_until(response, clock())
    if until is not None:
        return Cooldown("account", until, "github x-ratelimit-remaining is 0")
    return None
