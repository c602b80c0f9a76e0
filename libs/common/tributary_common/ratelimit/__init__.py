"""Distributed rate limits and concurrency slots, per provider and per account."""

from .base import Decision, Permit, RateLimiter, SlotLease
from .config import DEFAULT_LIMITS, LimitConfig, ProviderLimits, Window, parse_override
from .factory import build_limiter
from .memory import MemoryLimiter
from .redis import UNAVAILABLE, RedisLimiter

__all__ = [
    "DEFAULT_LIMITS",
    "UNAVAILABLE",
    "Decision",
    "LimitConfig",
    "MemoryLimiter",
    "Permit",
    "ProviderLimits",
    "RateLimiter",
    "RedisLimiter",
    "SlotLease",
    "Window",
    "build_limiter",
    "parse_override",
]
