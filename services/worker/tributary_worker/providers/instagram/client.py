"""Instagram Graph API client pieces: auth, error mapping, usage feedback.

Instagram calls go through Meta's Graph API, so the error table, the usage headers and
the cursor paging are the Graph ones in `meta_ads.graph` (providers.md §4.6 says the
same table applies to all Graph API calls).
"""

from __future__ import annotations

from ..meta_ads.graph import GRAPH_VERSION, graph_auth_headers, map_graph_error, read_graph_feedback

#: Items per page of ``/media``; the docs' examples use 50.
PAGE_LIMIT = 50


def media_path(ig_user_id: str) -> str:
    """Return ``/v25.0/<ig-user-id>/media``."""
    return f"/{GRAPH_VERSION}/{ig_user_id}/media"


#: The Graph API's tables (providers.md §4.6), under the names every provider's ``client.py`` uses.
map_error = map_graph_error
read_feedback = read_graph_feedback
auth_headers = graph_auth_headers
