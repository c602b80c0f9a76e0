"""What the app needs, built by `get_app()` (or a test) and passed into `create_app`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis
from psycopg_pool import ConnectionPool
from tributary_common.connectors import ConnectorRegistry
from tributary_common.credentials.box import SecretBox
from tributary_common.dispatch import Dispatcher
from tributary_common.ratelimit.base import RateLimiter
from tributary_common.settings import Settings


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ApiDeps:
    settings: Settings
    pool: ConnectionPool
    redis: redis.Redis
    dispatcher: Dispatcher
    limiter: RateLimiter
    #: Connectors for `process-queue`; None disables it (503), e.g. an image without them.
    registry: ConnectorRegistry | None = None
    #: Scrape-time Prometheus collectors (queue depth, ledger statistics) for `/metrics`.
    collectors: list[Any] = field(default_factory=list)
    #: PROMETHEUS_MULTIPROC_DIR under gunicorn: `/metrics` then merges every worker's files.
    multiprocess_dir: str | None = None
    clock: Callable[[], datetime] = utc_now

    @property
    def box(self) -> SecretBox:
        """Encrypts credentials the api receives (it never decrypts them); raises
        `ConfigError` without TRIBUTARY_ENCRYPTION_KEYS."""
        box: SecretBox | None = self.__dict__.get("_box")
        if box is None:
            box = self.__dict__["_box"] = SecretBox(self.settings.encryption_keys)
        return box
