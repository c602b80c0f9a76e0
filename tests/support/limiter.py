"""A permissive in-memory `RateLimiter`: always allows, remembers cooldowns."""

from __future__ import annotations

from typing import Any

from tributary_common.ratelimit.base import Decision, Permit, SlotLease


class PermissiveLimiter:
    def __init__(self) -> None:
        self.acquired: list[tuple[str, str, int]] = []
        self.cooldowns: list[tuple[str, str | None, float, str]] = []
        self.slots: dict[tuple[str, str], SlotLease] = {}
        self.settled: list[Permit] = []

    def acquire(self, provider: str, account: str, cost: int = 1) -> Decision:
        self.acquired.append((provider, account, cost))
        return Decision(True, 0.0, None, Permit(provider, account, len(self.acquired), cost))

    def settle(self, permit: Permit) -> None:
        self.settled.append(permit)

    def cooldown(self, provider: str, account: str | None, until: float, reason: str) -> None:
        self.cooldowns.append((provider, account, until, reason))

    def acquire_slot(self, provider: str, holder: str, ttl_seconds: float) -> Decision:
        self.slots[(provider, holder)] = SlotLease(provider, holder, ttl_seconds)
        return Decision(True, 0.0, "slots")

    def renew_slot(self, provider: str, holder: str, ttl_seconds: float) -> bool:
        return (provider, holder) in self.slots

    def release_slot(self, provider: str, holder: str) -> None:
        self.slots.pop((provider, holder), None)

    def snapshot(self) -> dict[str, Any]:
        return {"cooldowns": list(self.cooldowns), "slots": len(self.slots)}

    def units(self, provider: str) -> int:
        """Return the permits taken for ``provider`` (YouTube: quota units)."""
        return sum(cost for p, _, cost in self.acquired if p == provider)
