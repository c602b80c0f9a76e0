"""Reading provider responses, the same way for every connector: what a bare status
means and JSON bodies of the expected shape (waits: `waits`; throttles: `throttles`)."""

from __future__ import annotations

from typing import Any

import httpx
from tributary_common.categories import ErrorCategory
from tributary_common.errors import ProviderError

#: What a bare HTTP status means when the body says nothing more precise; a provider whose
#: docs say otherwise extends or overrides it.
HTTP_STATUS_CATEGORIES: dict[int, ErrorCategory] = {
    400: ErrorCategory.VALIDATION_ERROR,
    401: ErrorCategory.API_ERROR,
    403: ErrorCategory.API_ERROR,
    404: ErrorCategory.VALIDATION_ERROR,
    429: ErrorCategory.RATE_LIMIT,
    502: ErrorCategory.NETWORK_ERROR,
    503: ErrorCategory.NETWORK_ERROR,
    504: ErrorCategory.NETWORK_ERROR,
}


def _json(response: httpx.Response, shape: type, name: str) -> Any:
    try:
        body = response.json()
    except ValueError as exc:
        raise ProviderError(
            ErrorCategory.UNKNOWN, "malformed JSON body", status=response.status_code
        ) from exc
    if not isinstance(body, shape):
        raise ProviderError(
            ErrorCategory.UNKNOWN, f"expected a JSON {name}", status=response.status_code
        )
    return body


def json_object(response: httpx.Response) -> dict[str, Any]:
    """Return a JSON object body; anything else is an UNKNOWN (retryable) failure."""
    body: dict[str, Any] = _json(response, dict, "object")
    return body


def json_list(response: httpx.Response) -> list[dict[str, Any]]:
    """Return a JSON array body; anything else is an UNKNOWN (retryable) failure."""
    body: list[dict[str, Any]] = _json(response, list, "array")
    return body
