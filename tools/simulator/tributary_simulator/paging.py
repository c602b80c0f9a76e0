"""The ``repeat_cursor`` fault: a provider that keeps returning the same next-page cursor.

The first matching answer's next cursor is remembered on the fault; every later matching
answer carries that same cursor again, in the provider's own place for it: GitHub's
``link: <…>; rel="next"``, ``nextPageToken`` (YouTube, Google Ads), ``meta.next_token``
(X), ``paging.cursors.after`` with ``paging.next`` (Meta Ads, Instagram).
"""

from __future__ import annotations

import json
import re
from typing import Any

from .faults import Fault
from .messages import SimResponse

_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


def repeat_cursor(provider: str, fault: Fault, response: SimResponse) -> None:
    """Give ``response`` the fault's remembered next cursor (remembering the first seen)."""
    if response.status >= 300:
        return
    if provider == "github":
        found = _NEXT_LINK.search(response.headers.get("link", ""))
        if fault.sticky_cursor is None:
            fault.sticky_cursor = found.group(1) if found else None
        elif fault.sticky_cursor:
            response.headers["link"] = f'<{fault.sticky_cursor}>; rel="next"'
        return
    try:
        body: Any = json.loads(response.body)
    except ValueError:
        return
    if not isinstance(body, dict):
        return
    if provider in ("meta_ads", "instagram"):
        paging = body.setdefault("paging", {})
        current = (paging.get("cursors") or {}).get("after") if paging.get("next") else None
        if fault.sticky_cursor is None:
            fault.sticky_cursor = current
        elif fault.sticky_cursor:
            paging.setdefault("cursors", {})["after"] = fault.sticky_cursor
            paging["next"] = paging.get("next") or "https://graph.facebook.com/next"
    else:
        holder = body.setdefault("meta", {}) if provider == "x" else body
        key = "next_token" if provider == "x" else "nextPageToken"
        if fault.sticky_cursor is None:
            fault.sticky_cursor = holder.get(key)
        elif fault.sticky_cursor:
            holder[key] = fault.sticky_cursor
    response.body = json.dumps(body).encode()
