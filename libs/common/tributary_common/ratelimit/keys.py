"""Key names and per-decision plans, shared by both backends.

Every key of one provider carries the hash tag ``{<namespace>:<provider>}``, account
keys included, so one decision's keys live in one Redis Cluster slot and a script may
touch them all. Times are integer microseconds inside the limiter (exact in a Redis
score and in Lua); the public API speaks epoch seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import ProviderLimits

US_PER_SECOND = 1_000_000


def to_us(seconds: float) -> int:
    return round(seconds * US_PER_SECOND)


def to_seconds(us: int) -> float:
    return us / US_PER_SECOND


def tag(namespace: str, provider: str) -> str:
    return f"{{{namespace}:{provider}}}"


def cooldown_key(namespace: str, provider: str) -> str:
    """Hash: field ``*`` for the provider, ``a:<account>`` per account -> ``until_us|reason``."""
    return f"{tag(namespace, provider)}:cool"


def seq_key(namespace: str, provider: str) -> str:
    return f"{tag(namespace, provider)}:seq"


def slots_key(namespace: str, provider: str) -> str:
    return f"{tag(namespace, provider)}:slots"


def window_key(namespace: str, provider: str, name: str, account: str | None = None) -> str:
    if account is None:
        return f"{tag(namespace, provider)}:win:{name}"
    return f"{tag(namespace, provider)}:acct:{account}:win:{name}"


def pool_key(namespace: str, provider: str, account: str | None) -> str:
    """Zset of reservations ``<id>:<units>`` -> reserved time, per account or per provider."""
    if account is None:
        return f"{tag(namespace, provider)}:pool"
    return f"{tag(namespace, provider)}:acct:{account}:pool"


def account_field(account: str) -> str:
    return f"a:{account}"


@dataclass(frozen=True)
class LimitSpec:
    key: str
    units: int
    window_us: int
    slack_us: int
    scope: str  # e.g. "provider:1m", "account:1h"


@dataclass(frozen=True)
class AcquirePlan:
    """Everything one acquisition touches, in the order the Lua script expects."""

    cooldown: str
    seq: str
    pool: str
    limits: tuple[LimitSpec, ...]
    account_field: str
    tolerance_us: int

    def keys(self) -> list[str]:
        return [self.cooldown, self.seq, self.pool, *(spec.key for spec in self.limits)]

    def logs(self) -> tuple[tuple[str, int], ...]:
        """(key, window + slack in us) of every limit log: what `Permit.logs` holds."""
        return tuple((spec.key, spec.window_us + spec.slack_us) for spec in self.limits)

    def args(self, now_us: int | None, cost: int) -> list[str | int]:
        args: list[str | int] = [
            "" if now_us is None else now_us,
            cost,
            self.account_field,
            self.tolerance_us,
            len(self.limits),
        ]
        for spec in self.limits:
            args += [spec.units, spec.window_us, spec.slack_us, spec.scope]
        return args


def plan_acquire(
    namespace: str, provider: str, account: str, limits: ProviderLimits, cost: int
) -> AcquirePlan:
    """Build the plan; raise ValueError for a cost no limit could ever grant."""
    specs = [
        LimitSpec(
            window_key(namespace, provider, w.name),
            w.units,
            to_us(w.window_seconds),
            to_us(w.slack_seconds),
            f"provider:{w.name}",
        )
        for w in limits.provider
    ] + [
        LimitSpec(
            window_key(namespace, provider, w.name, account),
            w.units,
            to_us(w.window_seconds),
            to_us(w.slack_seconds),
            f"account:{w.name}",
        )
        for w in limits.account
    ]
    if cost < 1:
        raise ValueError(f"cost must be >= 1, got {cost}")
    for spec in specs:
        if cost > spec.units:
            raise ValueError(f"cost {cost} exceeds {provider} {spec.scope} limit {spec.units}")
    # Reservations are claimed by the narrowest scope that has limits, so an account
    # never consumes another account's reservation (whose keys it may not touch).
    return AcquirePlan(
        cooldown=cooldown_key(namespace, provider),
        seq=seq_key(namespace, provider),
        pool=pool_key(namespace, provider, account if limits.account else None),
        limits=tuple(specs),
        account_field=account_field(account),
        tolerance_us=min((s.slack_us for s in specs), default=0),
    )
