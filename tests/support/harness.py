"""Build a connector and its `ProviderHttp` the way the runner does, against the simulator."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
from tributary_common.connectors import ConnectionInfo, ProviderConfig, SyncRequest
from tributary_common.provider_http import ProviderHttp

from .context import MemorySyncContext
from .limiter import PermissiveLimiter


@dataclass
class Harness:
    connector: Any
    connection: ConnectionInfo
    limiter: PermissiveLimiter
    client: httpx.Client

    def context(self, sync_date: date, *, stop_after_pages: int | None = None) -> MemorySyncContext:
        http = ProviderHttp(
            provider=self.connection.provider,
            account=self.connection.account_id,
            client=self.client,
            headers=self.connector.default_headers(self.connection),
            limiter=self.limiter,
            error_mapper=self.connector.error_mapper,
            feedback=self.connector.feedback,
            unstated_wait_seconds=self.connector.throttle_wait.unstated(0),
        )
        request = SyncRequest(uuid.uuid4(), self.connection, sync_date, "manual")
        return MemorySyncContext(request, http, stop_after_pages=stop_after_pages)


def build_harness(
    connector_cls: Any,
    provider: str,
    base_url: str,
    account_id: str,
    *,
    token: str = "test-token",
    timeout_seconds: float = 2.0,
) -> Harness:
    """Build ``connector_cls`` and a plain httpx client; auth headers go per request, as the
    runner does (its clients are shared by every connection of a provider)."""
    connection = ConnectionInfo(uuid.uuid4(), "user-1", provider, account_id, token)
    connector = connector_cls(ProviderConfig(base_url=base_url, timeout_seconds=timeout_seconds))
    client = httpx.Client(base_url=base_url, timeout=timeout_seconds)
    return Harness(connector, connection, PermissiveLimiter(), client)
