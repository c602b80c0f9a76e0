"""Google Ads REST client pieces: headers, error mapping, feedback.

Errors are ``google.rpc.Status`` bodies whose ``GoogleAdsFailure`` detail names the
error family (``quotaError``, ``authenticationError`` ...); the family decides first,
then ``error.status``, then the HTTP status (providers.md §6.5). ``searchStream`` may
wrap the error object in a JSON array, so both shapes are read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from tributary_common.categories import ErrorCategory
from tributary_common.connectors import ConnectionInfo
from tributary_common.errors import ProviderError
from tributary_common.provider_http import Cooldown

from ..throttles import ads_errors, ads_status_object, throttle_error
from ..waits import retry_after_until

#: Latest active version in the stored docs (providers.md §6.1).
GOOGLE_ADS_VERSION = "v26"

_RATE, _API, _VALIDATION = (
    ErrorCategory.RATE_LIMIT,
    ErrorCategory.API_ERROR,
    ErrorCategory.VALIDATION_ERROR,
)
_NETWORK, _UNKNOWN = ErrorCategory.NETWORK_ERROR, ErrorCategory.UNKNOWN

#: quotaError value → category. ACCESS_PROHIBITED is a policy decision, not a wait; the
#: other quota errors are throttles (`..throttles`, with their scope and wait).
_QUOTA_TABLE: dict[str, ErrorCategory] = {"ACCESS_PROHIBITED": _API}

#: Error families that decide on their own, whatever the value.
_FAMILY_TABLE: dict[str, ErrorCategory] = {
    "quotaError": _RATE,
    "authenticationError": _API,
    "authorizationError": _API,
    "queryError": _VALIDATION,
    "requestError": _VALIDATION,
    "fieldError": _VALIDATION,
    "internalError": _UNKNOWN,
}

_STATUS_TABLE: dict[str, ErrorCategory] = {
    "RESOURCE_EXHAUSTED": _RATE,
    "UNAUTHENTICATED": _API,
    "PERMISSION_DENIED": _API,
    "INVALID_ARGUMENT": _VALIDATION,
    "FAILED_PRECONDITION": _VALIDATION,
    "OUT_OF_RANGE": _VALIDATION,
    "NOT_FOUND": _VALIDATION,
    "UNIMPLEMENTED": _VALIDATION,
    "ABORTED": _UNKNOWN,
    "UNAVAILABLE": _NETWORK,
    "DEADLINE_EXCEEDED": _NETWORK,
    "INTERNAL": _UNKNOWN,
    "UNKNOWN": _UNKNOWN,
}

_HTTP_TABLE: dict[int, ErrorCategory] = {
    400: _VALIDATION,
    401: _API,
    403: _API,
    404: _VALIDATION,
    429: _RATE,
    502: _NETWORK,
    503: _NETWORK,
    504: _NETWORK,
}


def customer_path(customer_id: str, method: str) -> str:
    """Return ``/v26/customers/<digits>/googleAds:<method>`` (hyphens dropped)."""
    return f"/{GOOGLE_ADS_VERSION}/customers/{customer_id.replace('-', '')}/googleAds:{method}"


def auth_headers(connection: ConnectionInfo, developer_token: str | None = None) -> dict[str, str]:
    """Return Bearer auth plus ``developer-token`` and ``login-customer-id`` when known.

    The developer token is optional since its 2026 sunset but still accepted, so it is
    sent when configured; ``login-customer-id`` is required when going through a manager.
    """
    headers = {"Authorization": f"Bearer {connection.access_token}"}
    if developer_token:
        headers["developer-token"] = developer_token
    login = connection.metadata.get("loginCustomerId")
    if login:
        headers["login-customer-id"] = str(login).replace("-", "")
    return headers


def _classify_ads_error(error: Mapping[str, Any]) -> ErrorCategory | None:
    code = error.get("errorCode")
    if not isinstance(code, dict) or not code:
        return None
    family, value = next(iter(code.items()))
    if family == "quotaError" and value in _QUOTA_TABLE:
        return _QUOTA_TABLE[value]
    return _FAMILY_TABLE.get(family)


#: When one failure lists several errors, the least retryable decides.
_SEVERITY = [_API, _VALIDATION, _RATE, _NETWORK, _UNKNOWN]


def map_error(
    response: httpx.Response, *, clock: Callable[[], float] = time.time
) -> ProviderError | None:
    """Classify a Google Ads response (providers.md §6.5); None on success."""
    if response.status_code < 400:
        return None
    now = clock()
    http_status = response.status_code
    status = ads_status_object(response)
    errors = list(ads_errors(status))
    by_family = [c for c in map(_classify_ads_error, errors) if c is not None]
    category = (
        min(by_family, key=_SEVERITY.index)
        if by_family
        else _STATUS_TABLE.get(str(status.get("status"))) or _HTTP_TABLE.get(http_status, _UNKNOWN)
    )
    codes = ",".join(f"{k}={v}" for e in errors for k, v in (e.get("errorCode") or {}).items())
    message = f"{status.get('status', 'HTTP')} {codes} {status.get('message', '')}".strip()
    if category is _RATE:
        throttle = throttle_error("google_ads", response, message, now)
        if throttle is not None:
            return throttle
    return ProviderError(category, message, status=http_status)


def read_feedback(
    response: httpx.Response, *, clock: Callable[[], float] = time.time
) -> Cooldown | None:
    """Google Ads documents no usage headers; honour a ``Retry-After`` on 429/503 only."""
    if response.status_code not in (429, 503):
        return None
    now = clock()
    until = retry_after_until(response, now)
    return Cooldown("account", until, "Retry-After") if until and until > now else None
