"""Redis backend: one Lua round trip per decision, Cluster-safe, fails closed.

Time: with ``clock=None`` (production, what `build_limiter` uses) the scripts read the
Redis server's ``TIME``, so workers on hosts with skewed clocks still share one
timeline; a callable clock is passed into the scripts instead (tests, simulations).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from importlib import resources
from typing import Any

import redis

from .base import Decision, Permit
from .config import LimitConfig
from .keys import (
    account_field,
    cooldown_key,
    plan_acquire,
    seq_key,
    slots_key,
    to_seconds,
    to_us,
    window_key,
)
from .snapshot import as_text, provider_snapshot

log = logging.getLogger(__name__)

#: Scope of a refusal caused by Redis being unreachable.
UNAVAILABLE = "unavailable"
#: Errors meaning "Redis cannot be reached"; anything else (a script bug) propagates.
_UNREACHABLE = (redis.ConnectionError, redis.TimeoutError)


def _script(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


class RedisLimiter:
    def __init__(
        self,
        client: redis.Redis,
        namespace: str,
        config: LimitConfig | None = None,
        clock: Callable[[], float] | None = None,
        *,
        unavailable_retry_seconds: float = 5.0,
        slot_retry_seconds: float = 1.0,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.config = config or LimitConfig()
        self.clock = clock
        self.unavailable_retry_seconds = unavailable_retry_seconds
        self.slot_retry_seconds = slot_retry_seconds
        self._acquire = client.register_script(_script("acquire.lua"))
        self._slots = client.register_script(_script("slots.lua"))
        self._cooldown = client.register_script(_script("cooldown.lua"))
        self._settle = client.register_script(_script("settle.lua"))

    def _now_us(self) -> int | None:
        """Time to pass into a script; None lets the script read the server's TIME."""
        return None if self.clock is None else to_us(self.clock())

    def _now_arg(self) -> int | str:
        now_us = self._now_us()
        return "" if now_us is None else now_us

    def _now(self) -> float:
        return time.time() if self.clock is None else self.clock()

    def _unavailable(self, what: str, exc: Exception) -> Decision:
        # Fail closed: without Redis nobody can know the shared usage, so nobody sends.
        log.warning("rate limiter unavailable (%s): %s", what, exc)
        return Decision(False, self._now() + self.unavailable_retry_seconds, UNAVAILABLE)

    def acquire(self, provider: str, account: str, cost: int = 1) -> Decision:
        """Take ``cost`` permits from every limit of (provider, account), or none."""
        plan = plan_acquire(
            self.namespace, provider, account, self.config.for_provider(provider), cost
        )
        try:
            allowed, at_us, scope, *granted = self._acquire(
                keys=plan.keys(), args=plan.args(self._now_us(), cost)
            )
        except _UNREACHABLE as exc:
            return self._unavailable("acquire", exc)
        permit = Permit(provider, account, int(granted[0]), cost, plan.logs()) if allowed else None
        return Decision(bool(allowed), to_seconds(int(at_us)), as_text(scope) or None, permit)

    def settle(self, permit: Permit) -> None:
        """Move the permit's entries to now (see `RateLimiter.settle`); one round trip."""
        if not permit.logs:
            return
        try:
            self._settle(
                keys=[key for key, _ in permit.logs],
                args=[
                    self._now_arg(),
                    permit.rid,
                    permit.cost,
                    *(keep for _, keep in permit.logs),
                ],
            )
        except _UNREACHABLE as exc:
            # The entry stays at its grant time: what the limiter promised before settling.
            log.warning("rate limiter unavailable (settle %s): %s", permit.provider, exc)

    def cooldown(self, provider: str, account: str | None, until: float, reason: str) -> None:
        """Refuse the provider (or one account) until ``until``; a later time wins."""
        field = "*" if account is None else account_field(account)
        try:
            self._cooldown(
                keys=[cooldown_key(self.namespace, provider)],
                args=[self._now_arg(), field, to_us(until), reason],
            )
        except _UNREACHABLE as exc:
            # Losing provider feedback is safe here: acquire fails closed meanwhile.
            log.warning("rate limiter unavailable (cooldown %s): %s", provider, exc)

    def _slot(self, op: str, provider: str, holder: str, ttl_seconds: float) -> tuple[int, int]:
        capacity = self.config.for_provider(provider).concurrency
        allowed, at_us = self._slots(
            keys=[slots_key(self.namespace, provider), seq_key(self.namespace, provider)],
            args=[
                op,
                self._now_arg(),
                holder,
                to_us(ttl_seconds),
                "" if capacity is None else capacity,
                to_us(self.slot_retry_seconds),
                to_us(self.slot_retry_seconds / 20),
            ],
        )
        return int(allowed), int(at_us)

    def _uncapped(self, provider: str) -> bool:
        return self.config.for_provider(provider).concurrency is None

    def acquire_slot(self, provider: str, holder: str, ttl_seconds: float) -> Decision:
        """Take one of the provider's concurrency slots as a lease of ``ttl_seconds``.

        A provider without a concurrency cap has no slots to hold: granted, no round trip.
        """
        if self._uncapped(provider):
            return Decision(True, self._now() + ttl_seconds, None)
        try:
            allowed, at_us = self._slot("acquire", provider, holder, ttl_seconds)
        except _UNREACHABLE as exc:
            return self._unavailable("acquire_slot", exc)
        if allowed:
            return Decision(True, to_seconds(at_us), None)
        return Decision(False, to_seconds(at_us), "slots")

    def renew_slot(self, provider: str, holder: str, ttl_seconds: float) -> bool:
        """Extend the lease; False when it expired (or Redis is unreachable)."""
        if self._uncapped(provider):
            return True
        try:
            return self._slot("renew", provider, holder, ttl_seconds)[0] == 1
        except _UNREACHABLE as exc:
            log.warning("rate limiter unavailable (renew_slot %s): %s", provider, exc)
            return False

    def release_slot(self, provider: str, holder: str) -> None:
        """Give the slot back; idempotent, and a lost release just waits for the TTL."""
        if self._uncapped(provider):
            return
        try:
            self._slot("release", provider, holder, 0)
        except _UNREACHABLE as exc:
            log.warning("rate limiter unavailable (release_slot %s): %s", provider, exc)

    def snapshot(self) -> dict[str, Any]:
        """Usage per provider window, slots in use and cooldowns, for queue statistics."""
        try:
            now_us = to_us(self._now()) if self.clock else _server_now_us(self.client)
            return {
                provider: self._provider_snapshot(provider, now_us)
                for provider in self.config.providers
            }
        except _UNREACHABLE as exc:
            log.warning("rate limiter unavailable (snapshot): %s", exc)
            return {"unavailable": True}

    def _provider_snapshot(self, provider: str, now_us: int) -> dict[str, Any]:
        limits = self.config.for_provider(provider)
        pipe = self.client.pipeline(transaction=False)
        for window in limits.provider:
            key = window_key(self.namespace, provider, window.name)
            pipe.zcount(key, f"({now_us - to_us(window.window_seconds)}", now_us)
            pipe.zcount(key, f"({now_us}", "+inf")
        pipe.zcount(slots_key(self.namespace, provider), f"({now_us}", "+inf")
        pipe.hgetall(cooldown_key(self.namespace, provider))
        replies = pipe.execute()
        pairs = [(replies[i], replies[i + 1]) for i in range(0, 2 * len(limits.provider), 2)]
        return provider_snapshot(limits, pairs, replies[-2], replies[-1], now_us)


def _server_now_us(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1_000_000 + int(micros)
