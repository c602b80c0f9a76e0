"""Meta Marketing API client pieces: auth, error mapping, usage feedback, paging.

The tables themselves live in `graph.py` (shared with Instagram); this module is the
Meta Ads connector's view of them, so the runner finds the same names in every
provider's ``client.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from tributary_common.connectors import ConnectionInfo
from tributary_common.errors import ProviderError
from tributary_common.provider_http import Cooldown

from .graph import GRAPH_VERSION, graph_auth_headers, map_graph_error, read_graph_feedback

#: Items per page; Meta's default is 25 and the ads edges accept more [U].
PAGE_LIMIT = 100


def account_path(account_id: str, edge: str) -> str:
    """Return ``/v25.0/act_<id>/<edge>``, adding the ``act_`` prefix when missing."""
    account = account_id if account_id.startswith("act_") else f"act_{account_id}"
    return f"/{GRAPH_VERSION}/{account}/{edge}"


def map_error(
    response: httpx.Response, *, clock: Callable[[], float] = time.time
) -> ProviderError | None:
    """Classify a Marketing API response (providers.md §5.5); None on success."""
    return map_graph_error(response, clock=clock)


def read_feedback(
    response: httpx.Response, *, clock: Callable[[], float] = time.time
) -> Cooldown | None:
    """Return a cooldown from ``X-Business-Use-Case-Usage``/``X-App-Usage``, if throttled."""
    return read_graph_feedback(response, clock=clock)


def auth_headers(connection: ConnectionInfo) -> dict[str, str]:
    """Return the headers that authenticate ``connection``."""
    return graph_auth_headers(connection)
