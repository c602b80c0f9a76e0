"""Meta Marketing API client pieces: auth, error mapping, usage feedback, paging.

The tables themselves live in `graph.py` (shared with Instagram); this module is the
Meta Ads connector's view of them, so the runner finds the same names in every
provider's ``client.py``.
"""

from __future__ import annotations

from .graph import GRAPH_VERSION, graph_auth_headers, map_graph_error, read_graph_feedback

#: Items per page; Meta's default is 25 and the ads edges accept more [U].
PAGE_LIMIT = 100


def account_path(account_id: str, edge: str) -> str:
    """Return ``/v25.0/act_<id>/<edge>``, adding the ``act_`` prefix when missing."""
    account = account_id if account_id.startswith("act_") else f"act_{account_id}"
    return f"/{GRAPH_VERSION}/{account}/{edge}"


#: The Graph API's tables (providers.md §5.5), under the names every provider's ``client.py`` uses.
map_error = map_graph_error
read_feedback = read_graph_feedback
auth_headers = graph_auth_headers
