"""The limiter contract the worker (and the api's process-queue) call.

Backends: `redis.RedisLimiter` (production: one Lua round trip per decision) and
`memory.MemoryLimiter` (unit tests, same semantics). Both take their limits from
`config.LimitConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Decision:
    """Outcome of one acquisition.

    ``allowed`` True: the permits were taken. False: nothing was taken and the caller may
    try again at ``retry_at`` (epoch seconds); distinct refused callers get distinct
    times so they do not wake together. ``scope`` names the limit that decided
    (e.g. ``provider:minute``, ``account:hour``, ``cooldown:provider``, ``slots``).
    ``permit`` (granted rate permits only) is what `RateLimiter.settle` takes once the
    request has been answered.
    """

    allowed: bool
    retry_at: float
    scope: str | None = None
    permit: Permit | None = None


@dataclass(frozen=True)
class Permit:
    """The entries one granted acquisition wrote: ``cost`` units under id ``rid`` in each
    limit log of ``logs`` (key, window + slack in us: how long an entry there matters)."""

    provider: str
    account: str
    rid: int
    cost: int
    #: Where this backend keeps them (not part of the decision: not compared).
    logs: tuple[tuple[str, int], ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class SlotLease:
    provider: str
    holder: str
    expires_at: float


class RateLimiter(Protocol):
    def acquire(self, provider: str, account: str, cost: int = 1) -> Decision:
        """Take ``cost`` permits from every limit that applies to (provider, account), or none."""

    def settle(self, permit: Permit) -> None:
        """Move the permit's entries to now (never earlier than they were).

        Call it when the request has been answered (or has failed): the provider saw it
        at some moment between the grant and now, so counting it at now keeps every
        window the provider can measure within the limit, however late the request left
        (see docs/ratelimit.md, "Arrival, not grant"). Best effort: a lost settle leaves
        the entry at its grant time.
        """

    def cooldown(self, provider: str, account: str | None, until: float, reason: str) -> None:
        """Refuse every request for the provider (account=None) or one account until ``until``."""

    def acquire_slot(self, provider: str, holder: str, ttl_seconds: float) -> Decision:
        """Take one of the provider's concurrency slots for ``holder`` as a lease."""

    def renew_slot(self, provider: str, holder: str, ttl_seconds: float) -> bool:
        """Extend ``holder``'s lease; False when it had expired and was lost."""

    def release_slot(self, provider: str, holder: str) -> None:
        """Give the slot back (idempotent)."""

    def snapshot(self) -> dict[str, Any]:
        """Current usage, slots and cooldowns per provider, for the api's queue statistics."""
