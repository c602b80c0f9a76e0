"""A registry whose GitHub connector fetches ``BENCH_IO_PAGES`` pages from a slow server.

Each page is one request through the job's `ProviderHttp` (limiter included) to the
bench's own server (`bench/slow_server.py`, which answers after a fixed delay), then
one `save_page` of one record with a cursor: the shape of an I/O-bound sync, with the
ledger work of a real one.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
from tributary_common.connectors import (
    ConnectionInfo,
    ConnectorRegistry,
    ProviderConfig,
    Record,
    SyncContext,
)
from tributary_common.errors import ProviderError

PAGES = int(os.environ.get("BENCH_IO_PAGES", "3"))


class SlowPagesConnector:
    provider = "github"

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config

    @staticmethod
    def error_mapper(response: httpx.Response) -> ProviderError | None:
        return None

    @staticmethod
    def feedback(response: httpx.Response) -> Any:
        return None

    def default_headers(self, connection: ConnectionInfo) -> dict[str, str]:
        return {}

    def sync(self, ctx: SyncContext) -> None:
        account = ctx.request.connection.account_id
        for page in range(PAGES):
            ctx.http.request("GET", f"/page/{account}/{page}")
            record = Record("event", f"{account}-{page}", None, {"page": page})
            ctx.save_page("events", [record], {"page": page + 1})
            ctx.check_stop()


REGISTRY = ConnectorRegistry({"github": SlowPagesConnector})
