"""The ledger-backed `SyncContext` a connector runs in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from .connectors import Record, SyncRequest
from .errors import ConnectionPaused, JobCancelled, ShutdownRequested
from .ledger import connections, records
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
        """Save one page; then stop the job if its connection was paused (`ConnectionPaused`)
        or deleted (`JobCancelled`) meanwhile: the page is kept, the next is not fetched."""
        try:
            new = records.save_page(
                self.pool,
                connection_id=self.request.connection.id,
                job_id=self.request.job_id,
                resource=resource,
                records=page,
                cursor=cursor,
            )
        except psycopg.errors.ForeignKeyViolation:
            raise JobCancelled("the connection was deleted") from None
        self.new_records += new
        status = connections.status_of(self.pool, self.request.connection.id)
        if status is None:
            raise JobCancelled("the connection was deleted")
        if status == "paused":
            raise ConnectionPaused("the connection was paused")
        return new

    def set_activity(self, day: date, count: int) -> None:
        conn = self.request.connection
        try:
            records.set_activity(
                self.pool,
                connection_id=conn.id,
                user_id=conn.user_id,
                platform=conn.provider,
                day=day,
                count=count,
            )
        except psycopg.errors.ForeignKeyViolation:
            raise JobCancelled("the connection was deleted") from None

    def check_stop(self) -> None:
        """Raise `ShutdownRequested` once shutdown's grace period has run out."""
        if self.stop.expired():
            raise ShutdownRequested("worker shutting down")
