"""A registry whose GitHub connector fetches ``BENCH_IO_PAGES`` pages from a slow server.

Each page is one request through the job's `ProviderHttp` (limiter included) to the
bench's own server (`bench/slow_server.py`, which answers after a fixed delay), then
one `save_page` of one record with a cursor: the shape of an I/O-bound sync, with the
ledger work of a real one.
"""

from __future__ import annotations

import os

from tributary_common.connectors import ConnectorRegistry, Record, SyncContext

from bench.noop_connectors import NoopConnector

PAGES = int(os.environ.get("BENCH_IO_PAGES", "3"))


class SlowPagesConnector(NoopConnector):
    """`NoopConnector` (no auth, no error mapping) whose sync fetches and saves pages."""

    def sync(self, ctx: SyncContext) -> None:
        account = ctx.request.connection.account_id
        for page in range(PAGES):
            ctx.http.request("GET", f"/page/{account}/{page}")
            record = Record("event", f"{account}-{page}", None, {"page": page})
            ctx.save_page("events", [record], {"page": page + 1})
            ctx.check_stop()


REGISTRY = ConnectorRegistry({"github": SlowPagesConnector})
