"""The Overview page: per band counts, throughput, success rate, quotas, cooldowns, slots.

The page polls its panel (`OverviewPanel`) every few seconds with htmx, so it stays
current without a reload.
"""

from __future__ import annotations

from typing import Any

import falcon
import redis
from tributary_common.ledger import browse

from ..deps import ApiDeps
from .render import page

#: How often the overview refreshes itself (seconds).
REFRESH_SECONDS = 5


def figures(deps: ApiDeps) -> dict[str, Any]:
    """Everything the overview shows: ledger counts, Redis queues and the limiter's state."""
    ledger = browse.overview(deps.pool)
    try:
        queues: dict[str, Any] | None = deps.dispatcher.depth()
        limits: dict[str, Any] = deps.limiter.snapshot()
        redis_state = "ok"
    except redis.RedisError as exc:
        queues, limits, redis_state = None, {}, f"unavailable ({type(exc).__name__})"
    if limits.get("unavailable"):
        limits, redis_state = {}, "unavailable"
    return {**ledger, "queues": queues, "limits": limits, "redis": redis_state}


class Overview:
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        page(req, resp, "overview.html", o=figures(self.deps), refresh=REFRESH_SECONDS)


class OverviewPanel(Overview):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        page(req, resp, "overview_panel.html", o=figures(self.deps), refresh=REFRESH_SECONDS)
