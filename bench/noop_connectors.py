"""A registry whose GitHub connector does nothing: the pipeline's own cost, for benchmarks."""

from __future__ import annotations

from typing import Any

import httpx
from tributary_common.connectors import (
    ConnectionInfo,
    ConnectorRegistry,
    ProviderConfig,
    SyncContext,
)
from tributary_common.errors import ProviderError


class NoopConnector:
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
        return None


REGISTRY = ConnectorRegistry({"github": NoopConnector})
