"""Meta Graph API pieces shared by the Meta Ads and Instagram connectors.

Both providers are served by the same Graph API: the same error object, the same usage
headers and the same cursor paging (providers.md §4.3 to §4.6, §5.3 to §5.5). Classification
reads ``error.code``/``error_subcode`` from the body, never the HTTP status alone,
because Meta answers rate limits, expired tokens and bad parameters alike with HTTP 400.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from tributary_common.categories import ErrorCategory
from tributary_common.connectors import ConnectionInfo
from tributary_common.errors import ProviderError
from tributary_common.provider_http import Cooldown, ProviderHttp

from ..throttles import throttle_error
from ..waits import ad_account_reset_seconds, json_header, regain_access_seconds

#: The Graph API version in the current reference samples (providers.md §4.1, §5.1).
GRAPH_VERSION = "v25.0"

#: Code → (category, scope) for what is not a throttle; throttle codes (4, 17, 32, 341,
#: 368, 613, 80000-80014) and their scopes are in `..throttles`.
_CODE_TABLE: dict[int, tuple[ErrorCategory, str]] = {
    1: (ErrorCategory.UNKNOWN, "account"),
    2: (ErrorCategory.UNKNOWN, "account"),
    3: (ErrorCategory.API_ERROR, "account"),
    10: (ErrorCategory.API_ERROR, "account"),
    100: (ErrorCategory.VALIDATION_ERROR, "account"),
    102: (ErrorCategory.API_ERROR, "account"),
    190: (ErrorCategory.API_ERROR, "account"),
}
_PERMISSION_CODES = range(200, 300)

#: X-App-Usage carries no reset time (rolling hour); when it reaches 100 % rest the app
#: this long before the next call (the doc's "60 s doubling" heuristic, first step).
APP_USAGE_COOLDOWN_SECONDS = 60.0

_GATEWAY_STATUSES = frozenset({502, 503, 504})

_STATUS_FALLBACK: dict[int, ErrorCategory] = {
    400: ErrorCategory.VALIDATION_ERROR,
    401: ErrorCategory.API_ERROR,
    403: ErrorCategory.API_ERROR,
    404: ErrorCategory.VALIDATION_ERROR,
}


def classify_code(
    code: int, subcode: Any = None, is_transient: bool = False
) -> tuple[ErrorCategory, str] | None:
    """Return (category, scope) for a Graph ``error.code``, or None when unknown."""
    if code in _CODE_TABLE:
        return _CODE_TABLE[code]
    if code in _PERMISSION_CODES:
        return ErrorCategory.API_ERROR, "account"
    if code < 0 or is_transient:
        return ErrorCategory.UNKNOWN, "account"
    return None


def ad_account_full(response: httpx.Response) -> bool:
    """Return True when ``X-Ad-Account-Usage.acc_id_util_pct`` has reached 100."""
    usage = json_header(response, "X-Ad-Account-Usage")
    value = usage.get("acc_id_util_pct") if isinstance(usage, dict) else None
    return isinstance(value, int | float) and value >= 100


def app_usage_full(response: httpx.Response) -> bool:
    """Return True when any ``X-App-Usage`` percentage has reached 100."""
    usage = json_header(response, "X-App-Usage")
    if not isinstance(usage, dict):
        return False
    return any(isinstance(v, int | float) and v >= 100 for v in usage.values())


def _body_error(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else None


def map_graph_error(
    response: httpx.Response, *, clock: Callable[[], float] = time.time
) -> ProviderError | None:
    """Classify a Graph API response; None when it succeeded."""
    if response.status_code < 400:
        return None
    now = clock()
    status = response.status_code
    if status in _GATEWAY_STATUSES:
        # Proxies in front of the Graph API answer these; the body (if any) is not theirs.
        return ProviderError(
            ErrorCategory.NETWORK_ERROR, f"HTTP {status} from the Graph API edge", status=status
        )
    error = _body_error(response)
    classified: tuple[ErrorCategory, str] | None = None
    message = f"HTTP {status} without a Graph error body"
    if error is not None and isinstance(error.get("code"), int):
        code = error["code"]
        subcode = error.get("error_subcode")
        suffix = f"/{subcode}" if subcode is not None else ""
        message = f"({code}{suffix}) {error.get('message', '')}".strip()
        classified = classify_code(code, subcode, bool(error.get("is_transient")))
    throttle = throttle_error("meta_ads", response, message, now)
    if throttle is not None:
        return throttle
    if classified is None:
        fallback = ErrorCategory.UNKNOWN if status >= 500 else ErrorCategory.VALIDATION_ERROR
        classified = _STATUS_FALLBACK.get(status, fallback), "account"
    category, scope = classified
    return ProviderError(category, message, status=status, scope=scope)


def read_graph_feedback(
    response: httpx.Response, *, clock: Callable[[], float] = time.time
) -> Cooldown | None:
    """Turn Meta's usage headers into a cooldown before the hard limit is hit."""
    now = clock()
    wait = regain_access_seconds(response)
    if wait is not None:
        return Cooldown("account", now + wait, "X-Business-Use-Case-Usage throttled")
    account_wait = ad_account_reset_seconds(response) if ad_account_full(response) else None
    if account_wait is not None:
        return Cooldown("account", now + account_wait, "X-Ad-Account-Usage at 100%")
    if app_usage_full(response):
        return Cooldown("provider", now + APP_USAGE_COOLDOWN_SECONDS, "X-App-Usage at 100%")
    return None


def graph_auth_headers(connection: ConnectionInfo) -> dict[str, str]:
    """Send the token as a Bearer header, not the documented ``access_token`` parameter.

    The Graph host accepts it (WhatsApp Cloud API documents it on the same host) and it
    keeps tokens out of URLs, access logs and saved ``paging.next`` links.
    """
    return {"Authorization": f"Bearer {connection.access_token}"}


@dataclass(frozen=True)
class EdgePage:
    """One page of a Graph edge: its items and the cursor of the next page, if any."""

    items: list[dict[str, Any]]
    after: str | None


def fetch_edge_page(
    http: ProviderHttp, path: str, params: Mapping[str, Any], after: str | None
) -> EdgePage:
    """GET one page of an edge; the next cursor is set only while ``paging.next`` exists.

    Fewer items than ``limit`` (or none) does not mean the end: Meta filters pages for
    privacy, so only a missing ``paging.next`` does. A cursor that does not move, a dead
    saved one and "reduce the amount of data" are the stream base's (`..stream`). The ``next`` URL itself is not
    followed; rebuilding the request from ``after`` keeps every call on our base URL.
    """
    query = dict(params)
    if after:
        query["after"] = after
    body = http.request_json("GET", path, params=query)
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise ProviderError(ErrorCategory.UNKNOWN, f"unexpected Graph body for {path}")
    paging = body.get("paging") or {}
    next_after = (paging.get("cursors") or {}).get("after") if paging.get("next") else None
    items = [item for item in body["data"] if isinstance(item, dict)]
    return EdgePage(items=items, after=next_after)


def parse_graph_time(value: Any) -> datetime | None:
    """Parse Graph's ``2026-11-21T18:04:12+0000`` timestamps (offset with or without colon)."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None
