"""Property-style runs: many callers at 10x the allowed rate, checked like a strict provider.

A simulated provider counts grants in every sliding window (t - window, t]; any window
above the limit is a violation. Both backends run on the same fake clock.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from tributary_common.ratelimit import LimitConfig, MemoryLimiter, RateLimiter, RedisLimiter

from tests.ratelimit.sim import FakeClock, Grant, deferral_loop, violations

MakeLimiter = Callable[[dict[str, str]], RateLimiter]
US = 1_000_000


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "redis"])
def make(request: pytest.FixtureRequest, clock: FakeClock) -> MakeLimiter:
    if request.param == "memory":
        return lambda overrides: MemoryLimiter(LimitConfig.from_overrides(overrides), clock)
    client = request.getfixturevalue("redis_client")
    namespace = request.getfixturevalue("namespace")
    return lambda overrides: RedisLimiter(
        client, namespace, LimitConfig.from_overrides(overrides), clock
    )


def _granted_within(grants: list[Grant], start: float, seconds: float) -> int:
    lo, hi = round(start * US), round((start + seconds) * US)
    return sum(g.cost for g in grants if lo <= g.at_us < hi)


@pytest.mark.parametrize("late_ms", [0, 15, 300])
def test_deferred_jobs_at_10x_never_exceed_and_use_the_quota(
    make: MakeLimiter, clock: FakeClock, late_ms: int
) -> None:
    # Given jobs arriving at 100/s for 20 s against 10 requests/s, each coming back
    # (up to late_ms late) at the time it was given
    limiter = make({"p": "provider=10/1s"})
    rng = random.Random(late_ms)
    start = clock.now
    arrivals = [(start + i / 100, f"acct{i % 50}") for i in range(2000)]
    result = deferral_loop(
        limiter, clock, "p", arrivals, lateness=lambda _: rng.uniform(0, late_ms / 1000)
    )
    # Then no window ever holds more than 10, whatever the lateness
    assert violations(result.grants, 10, 1.0) == 0
    assert len(result.grants) == 2000
    # ... and while oversubscribed the quota is used: >= 95 % when callers come back
    # within the scheduling slack (20 ms for a 1 s window)
    utilisation = _granted_within(result.grants, start, 20) / (10 * 20)
    assert utilisation >= (0.95 if late_ms <= 15 else 0.80)
    if late_ms <= 15:
        assert sum(result.deferrals.values()) / 2000 <= 1.05


def test_callers_who_give_up_when_refused_still_leave_no_quota_unused(
    make: MakeLimiter, clock: FakeClock
) -> None:
    limiter = make({"p": "provider=10/1s"})
    start = clock.now
    grants = []
    for i in range(3000):  # 100/s for 30 s, a refused caller never comes back
        clock.set(start + i / 100)
        if limiter.acquire("p", f"acct{i}").allowed:
            grants.append(Grant(round(clock.now * US), f"acct{i}"))
    assert violations(grants, 10, 1.0) == 0
    assert _granted_within(grants, start, 30) / (10 * 30) >= 0.95


@pytest.mark.parametrize("seed", [1, 2])
def test_mixed_limits_and_costs_never_exceed_any_window(
    make: MakeLimiter, clock: FakeClock, seed: int
) -> None:
    # Given provider limits at two scales, a per-account limit and weighted requests
    limiter = make({"p": "provider=6/1s,40/10s;account=3/2s"})
    rng = random.Random(seed)
    start = clock.now
    grants: list[Grant] = []
    pending = [(clock.now + rng.uniform(0, 20), f"a{rng.randrange(6)}", rng.choice([1, 1, 2]))]
    pending += [(clock.now + rng.uniform(0, 20), f"a{rng.randrange(6)}", 1) for _ in range(800)]
    pending.sort()
    while pending:
        at, account, cost = pending.pop(0)
        clock.set(at)
        decision = limiter.acquire("p", account, cost)
        if decision.allowed:
            grants.append(Grant(round(clock.now * US), account, cost))
        else:
            late = rng.uniform(0, 0.05)
            pending.append((decision.retry_at + late, account, cost))
            pending.sort()
    # Then every window of every limit stays within bounds
    assert violations(grants, 6, 1.0) == 0
    assert violations(grants, 40, 10.0) == 0
    for account in {g.account for g in grants}:
        assert violations([g for g in grants if g.account == account], 3, 2.0) == 0
    # ... and the binding 10 s limit is well used while every account has work waiting
    # (two queues, per account and per provider, cost a little; see docs/ratelimit.md)
    assert _granted_within(grants, start, 100) / (40 * 100 / 10) >= 0.9
