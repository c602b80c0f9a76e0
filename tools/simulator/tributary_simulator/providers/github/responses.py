"""GitHub's error bodies and rate-limit headers, shaped as providers.md §1.6 and §1.7 describes."""

from __future__ import annotations

import math

from ...messages import SimResponse
from .data import user_id

DOCS = "https://docs.github.com/rest"
RATE_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"


def error(
    status: int, message: str, headers: dict[str, str] | None = None, **extra: object
) -> SimResponse:
    body = {"message": message, "documentation_url": DOCS, "status": str(status), **extra}
    return SimResponse.json(status, body, headers)


def rate_headers(limit: int, remaining: int, reset_at: float) -> dict[str, str]:
    return {
        "x-ratelimit-limit": str(limit),
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-used": str(limit - remaining),
        "x-ratelimit-reset": str(math.ceil(reset_at)),
        "x-ratelimit-resource": "core",
    }


def rate_limited(
    variant: str, login: str | None, limit: int, now: float, wait_seconds: float
) -> SimResponse:
    """Render a primary (``primary``, ``primary_429``) or secondary limit response."""
    wait = max(math.ceil(wait_seconds), 1)
    status = 429 if variant.endswith("_429") else 403
    if variant.startswith("secondary"):
        message = (
            "You have exceeded a secondary rate limit. Please wait a few minutes before you "
            "try again. If you reach out to GitHub Support for help, please include the "
            "request ID E198:4063:1A2B3C:4D5E6F:6745A1B2."
        )
        headers = {} if variant == "secondary_no_retry_after" else {"retry-after": str(wait)}
        return SimResponse.json(
            status, {"message": message, "documentation_url": RATE_DOCS}, headers
        )
    who = f"user ID {user_id(login)}" if login else "203.0.113.7"
    body = {"message": f"API rate limit exceeded for {who}.", "documentation_url": RATE_DOCS}
    return SimResponse.json(status, body, rate_headers(limit, 0, now + wait))
