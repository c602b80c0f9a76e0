"""Distributed rate limits and concurrency slots, per provider and per account."""

from .base import Decision, RateLimiter, SlotLease

__all__ = ["Decision", "RateLimiter", "SlotLease"]
