"""Build the limiter a process uses from its settings."""

from __future__ import annotations

import redis

from ..settings import Settings
from .base import RateLimiter
from .config import LimitConfig
from .memory import MemoryLimiter
from .redis import RedisLimiter


def build_limiter(settings: Settings, redis_client: redis.Redis | None) -> RateLimiter:
    """Redis-backed limiter on the server's clock; in-process when no client is given."""
    config = LimitConfig.from_overrides(settings.limit_overrides)
    if redis_client is None:
        return MemoryLimiter(config)
    return RedisLimiter(redis_client, settings.namespace, config)
