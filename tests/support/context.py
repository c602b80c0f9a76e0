"""An in-memory `SyncContext`: records, cursors and activity kept in dicts."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from tributary_common.connectors import Record, SyncRequest
from tributary_common.errors import ShutdownRequested
from tributary_common.provider_http import ProviderHttp


class MemorySyncContext:
    """Implements the `SyncContext` protocol for unit tests.

    ``stop_after_pages`` makes `check_stop` raise `ShutdownRequested` once that many
    pages were saved, to simulate a worker shutting down between pages.
    """

    def __init__(
        self,
        request: SyncRequest,
        http: ProviderHttp,
        *,
        stop_after_pages: int | None = None,
    ) -> None:
        self.request = request
        self.http = http
        self.stop_after_pages = stop_after_pages
        self.records: dict[tuple[str, str], Record] = {}
        self.cursors: dict[str, dict[str, Any]] = {}
        self.activity: dict[date, int] = {}
        self.new_records = 0
        self.pages_saved = 0

    def load_cursor(self, resource: str) -> dict[str, Any] | None:
        cursor = self.cursors.get(resource)
        return copy.deepcopy(cursor) if cursor is not None else None

    def save_page(
        self, resource: str, records: Sequence[Record], cursor: Mapping[str, Any] | None
    ) -> int:
        new = 0
        for record in records:
            key = (record.kind, record.external_id)
            new += key not in self.records
            self.records[key] = record
        if cursor is not None:
            # The ledger stores cursors as JSON: fail here if one would not survive that.
            self.cursors[resource] = json.loads(json.dumps(cursor))
        self.new_records += new
        self.pages_saved += 1
        return new

    def set_activity(self, day: date, count: int) -> None:
        self.activity[day] = count

    def check_stop(self) -> None:
        if self.stop_after_pages is not None and self.pages_saved >= self.stop_after_pages:
            raise ShutdownRequested("test asked the sync to stop")

    def ids(self, kind: str) -> set[str]:
        return {external_id for k, external_id in self.records if k == kind}
