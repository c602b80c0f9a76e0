"""The ledger-backed `SyncContext` a connector runs in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from psycopg_pool import ConnectionPool

from .connectors import Record, SyncRequest
from .errors import ShutdownRequested
from .ledger import records
from .provider_http import ProviderHttp
from .shutdown import StopSignal


class LedgerSyncContext:
    def __init__(
        self,
        pool: ConnectionPool,
        request: SyncRequest,
        http: ProviderHttp,
        *,
        stop: StopSignal,
    ) -> None:
        self.pool = pool
        self.request = request
        self.http = http
        self.stop = stop
        self.new_records = 0

    def load_cursor(self, resource: str) -> dict[str, Any] | None:
        return records.load_cursor(self.pool, self.request.connection.id, resource)

    def save_page(
        self, resource: str, page: Sequence[Record], cursor: Mapping[str, Any] | None
    ) -> int:
        new = records.save_page(
            self.pool,
            connection_id=self.request.connection.id,
            job_id=self.request.job_id,
            resource=resource,
            records=page,
            cursor=cursor,
        )
        self.new_records += new
        return new

    def set_activity(self, day: date, count: int) -> None:
        conn = self.request.connection
        records.set_activity(
            self.pool,
            connection_id=conn.id,
            user_id=conn.user_id,
            platform=conn.provider,
            day=day,
            count=count,
        )

    def check_stop(self) -> None:
        """Raise `ShutdownRequested` once shutdown's grace period has run out."""
        if self.stop.expired():
            raise ShutdownRequested("worker shutting down")
