"""Instagram Graph API client pieces: auth, error mapping, usage feedback.

Instagram calls go through Meta's Graph API, so the error table, the usage headers and
the cursor paging are the Graph ones in `meta_ads.graph` (providers.md §4.6 says the
same table applies to all Graph API calls).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from tributary_common.connectors import ConnectionInfo
from tributary_common.errors import ProviderError
from tributary_common.provider_http import Cooldown

from ..meta_ads.graph import GRAPH_VERSION, graph_auth_headers, map_graph_error, read_graph_feedback

#: Items per page of ``/media``; the docs' examples use 50.
PAGE_LIMIT = 50


def media_path(ig_user_id: str) -> str:
    """Return ``/v25.0/<ig-user-id>/media``."""
    return f"/{GRAPH_VERSION}/{ig_user_id}/media"


def map_error(
    response: httpx.Response, *, clock: Callable[[], float] = time.time
) -> ProviderError | None:
    """Classify an Instagram response (providers.md §4.6); None on success."""
    return map_graph_error(response, clock=clock)


def read_feedback(
    response: httpx.Response, *, clock: Callable[[], float] = time.time
) -> Cooldown | None:
    """Return a cooldown from ``X-Business-Use-Case-Usage``/``X-App-Usage``, if throttled."""
    return read_graph_feedback(response, clock=clock)


def auth_headers(connection: ConnectionInfo) -> dict[str, str]:
    """Return the headers that authenticate ``connection``."""
    return graph_auth_headers(connection)
