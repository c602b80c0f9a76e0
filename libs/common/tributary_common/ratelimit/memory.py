"""In-process backend with the Redis backend's exact semantics (tests, single process).

It runs the same algorithm as ``acquire.lua`` and ``slots.lua`` step for step, on the
same key names and integer-microsecond times, so a test passing on one backend means
the same behaviour on the other.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable
from typing import Any

from .base import Decision, Permit
from .config import LimitConfig
from .keys import (
    AcquirePlan,
    account_field,
    cooldown_key,
    plan_acquire,
    seq_key,
    slots_key,
    to_seconds,
    to_us,
    window_key,
)
from .snapshot import provider_snapshot

Entry = tuple[int, str]  # (time us, member), ordered like a Redis zset


def _records(limit_scope: str, binding_scope: str, tail: int, bound: int) -> bool:
    """Whether a reservation is written into this limit's log (see acquire.lua)."""
    account_bound = binding_scope.startswith("account:") or binding_scope == "cooldown:account"
    return tail >= bound or limit_scope.startswith("account:") or not account_bound


class MemoryLimiter:
    def __init__(
        self,
        config: LimitConfig | None = None,
        clock: Callable[[], float] = time.time,
        *,
        slot_retry_seconds: float = 1.0,
    ) -> None:
        self.config = config or LimitConfig()
        self.clock = clock
        self.slot_retry_seconds = slot_retry_seconds
        self.namespace = "memory"
        self._lock = threading.Lock()
        self._zsets: dict[str, list[Entry]] = {}
        self._hashes: dict[str, dict[str, str]] = {}
        self._counters: dict[str, int] = {}

    def _z(self, key: str) -> list[Entry]:
        return self._zsets.setdefault(key, [])

    def _trim(self, key: str, up_to_us: int) -> None:
        zset = self._z(key)
        del zset[: bisect.bisect_right(zset, (up_to_us, "\uffff"))]

    def _incr(self, key: str) -> int:
        self._counters[key] = self._counters.get(key, 0) + 1
        return self._counters[key]

    def _add(self, key: str, rid: int, units: int, at_us: int) -> None:
        zset = self._z(key)
        for i in range(1, units + 1):
            bisect.insort(zset, (at_us, f"{rid}.{i}"))

    def acquire(self, provider: str, account: str, cost: int = 1) -> Decision:
        """Take ``cost`` permits from every limit of (provider, account), or none."""
        plan = plan_acquire(
            self.namespace, provider, account, self.config.for_provider(provider), cost
        )
        with self._lock:
            decision = self._acquire(plan, to_us(self.clock()), cost)
            if not decision.allowed:
                return decision
            rid = self._counters[plan.seq]
        permit = Permit(provider, account, rid, cost, plan.logs())
        return Decision(True, decision.retry_at, None, permit)

    def settle(self, permit: Permit) -> None:
        """Move the permit's entries to now, never earlier (mirrors settle.lua)."""
        with self._lock:
            now = to_us(self.clock())
            for key, _ in permit.logs:
                zset = self._z(key)
                for i in range(1, permit.cost + 1):
                    member = f"{permit.rid}.{i}"
                    old = next((e for e in zset if e[1] == member), None)
                    if old is not None:
                        if old[0] >= now:
                            continue
                        zset.remove(old)
                    bisect.insort(zset, (now, member))

    def _acquire(self, plan: AcquirePlan, now: int, cost: int) -> Decision:
        # Mirrors acquire.lua; see the comments there for the reasons.
        horizon = 0
        for spec in plan.limits:
            horizon = max(horizon, spec.window_us + spec.slack_us)
            self._trim(spec.key, now - spec.window_us - spec.slack_us)
        self._trim(plan.pool, now - horizon)
        pool = self._z(plan.pool)
        held: set[str] = set()
        if pool and pool[0][0] <= now + plan.tolerance_us:
            prefix = pool.pop(0)[1].split(":")[0] + "."
            for spec in plan.limits:
                zset = self._z(spec.key)
                kept = [e for e in zset if not e[1].startswith(prefix)]
                if len(kept) < len(zset):
                    held.add(spec.key)
                zset[:] = kept

        bound, scope = now, None
        cool = self._hashes.get(plan.cooldown, {})
        for field, name in (("*", "cooldown:provider"), (plan.account_field, "cooldown:account")):
            if field in cool and int(cool[field].split("|")[0]) > bound:
                bound, scope = int(cool[field].split("|")[0]), name

        if scope is None:
            for spec in plan.limits:
                zset = self._z(spec.key)
                upto = now if spec.key in held else now + spec.window_us - 1
                lo = bisect.bisect_right(zset, (now - spec.window_us, "\uffff"))
                hi = bisect.bisect_right(zset, (upto, "\uffff"))
                if hi - lo + cost > spec.units:
                    scope = spec.scope
                    break

        if scope is None:
            rid = self._incr(plan.seq)
            for spec in plan.limits:
                self._add(spec.key, rid, cost, now)
            return Decision(True, to_seconds(now), None)

        tails = {}
        for spec in plan.limits:
            zset = self._z(spec.key)
            at = now
            if zset:
                at = max(at, zset[-1][0] + max(1, spec.window_us // spec.units))
            if len(zset) > spec.units - cost:
                at = max(at, zset[-1 - (spec.units - cost)][0] + spec.window_us + spec.slack_us)
            tails[spec.key] = at
            if at > bound:
                bound, scope = at, spec.scope
        if pool and not plan.limits:
            bound = max(bound, pool[-1][0] + 1000)
        rid = self._incr(plan.seq)
        for spec in plan.limits:
            if _records(spec.scope, str(scope), tails[spec.key], bound):
                self._add(spec.key, rid, cost, bound)
        bisect.insort(pool, (bound, f"{rid}:{cost}"))
        return Decision(False, to_seconds(bound), scope)

    def cooldown(self, provider: str, account: str | None, until: float, reason: str) -> None:
        """Refuse the provider (or one account) until ``until``; a later time wins."""
        field = "*" if account is None else account_field(account)
        with self._lock:
            now, until_us = to_us(self.clock()), to_us(until)
            cool = self._hashes.setdefault(cooldown_key(self.namespace, provider), {})
            for name in [n for n, v in cool.items() if int(v.split("|")[0]) <= now]:
                del cool[name]
            current = cool.get(field)
            if until_us > now and (current is None or int(current.split("|")[0]) < until_us):
                cool[field] = f"{until_us}|{reason}"

    def _leases(self, provider: str, now: int) -> dict[str, int]:
        leases = self._hashes.setdefault(slots_key(self.namespace, provider), {})
        for holder in [h for h, exp in leases.items() if int(exp) <= now]:
            del leases[holder]
        return {h: int(exp) for h, exp in leases.items()}

    def acquire_slot(self, provider: str, holder: str, ttl_seconds: float) -> Decision:
        """Take one of the provider's concurrency slots as a lease of ``ttl_seconds``.

        A provider without a concurrency cap has no slots to hold: always granted.
        """
        capacity = self.config.for_provider(provider).concurrency
        if capacity is None:
            return Decision(True, self.clock() + ttl_seconds, None)
        with self._lock:
            now = to_us(self.clock())
            leases = self._leases(provider, now)
            if holder in leases or len(leases) < capacity:
                expires = now + to_us(ttl_seconds)
                self._hashes[slots_key(self.namespace, provider)][holder] = str(expires)
                return Decision(True, to_seconds(expires), None)
            n = self._incr(seq_key(self.namespace, provider))
            step = to_us(self.slot_retry_seconds / 20)
            retry = now + to_us(self.slot_retry_seconds) + (n % 40) * step
            return Decision(False, to_seconds(retry), "slots")

    def renew_slot(self, provider: str, holder: str, ttl_seconds: float) -> bool:
        """Extend the lease; False when it had expired and was lost."""
        if self.config.for_provider(provider).concurrency is None:
            return True
        with self._lock:
            now = to_us(self.clock())
            if holder not in self._leases(provider, now):
                return False
            self._hashes[slots_key(self.namespace, provider)][holder] = str(
                now + to_us(ttl_seconds)
            )
            return True

    def release_slot(self, provider: str, holder: str) -> None:
        """Give the slot back (idempotent)."""
        with self._lock:
            self._hashes.get(slots_key(self.namespace, provider), {}).pop(holder, None)

    def snapshot(self) -> dict[str, Any]:
        """Usage per provider window, slots in use and cooldowns."""
        with self._lock:
            now = to_us(self.clock())
            result = {}
            for provider, limits in self.config.providers.items():
                pairs = []
                for window in limits.provider:
                    zset = self._z(window_key(self.namespace, provider, window.name))
                    start = now - to_us(window.window_seconds)
                    used = sum(1 for at, _ in zset if start < at <= now)
                    pairs.append((used, sum(1 for at, _ in zset if at > now)))
                result[provider] = provider_snapshot(
                    limits,
                    pairs,
                    len(self._leases(provider, now)),
                    self._hashes.get(cooldown_key(self.namespace, provider), {}),
                    now,
                )
            return result
