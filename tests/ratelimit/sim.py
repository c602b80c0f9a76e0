"""Simulation helpers shared by the limiter tests and `bench/bench_ratelimit.py`.

Times are integer microseconds so the checker and both backends agree exactly on
window boundaries (a grant at t and one at t + window are in different windows).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tributary_common.ratelimit.base import RateLimiter

US = 1_000_000


class FakeClock:
    """A clock the test moves by hand; starts at a realistic epoch."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def set(self, at: float) -> None:
        self.now = max(self.now, at)


@dataclass
class Grant:
    at_us: int
    account: str
    cost: int = 1


def max_in_window(grants: Iterable[Grant], window_seconds: float) -> int:
    """Largest sum of costs in any half-open window (t - window, t], as a strict provider counts."""
    window_us = round(window_seconds * US)
    inside: deque[Grant] = deque()
    total = peak = 0
    for grant in sorted(grants, key=lambda g: g.at_us):
        inside.append(grant)
        total += grant.cost
        while inside[0].at_us <= grant.at_us - window_us:
            total -= inside.popleft().cost
        peak = max(peak, total)
    return peak


def violations(grants: list[Grant], units: int, window_seconds: float) -> int:
    """Count grants that pushed their window above ``units``."""
    window_us = round(window_seconds * US)
    inside: deque[Grant] = deque()
    total = bad = 0
    for grant in sorted(grants, key=lambda g: g.at_us):
        inside.append(grant)
        total += grant.cost
        while inside[0].at_us <= grant.at_us - window_us:
            total -= inside.popleft().cost
        bad += total > units
    return bad


@dataclass
class LoopResult:
    grants: list[Grant] = field(default_factory=list)
    deferrals: dict[int, int] = field(default_factory=dict)
    decisions: int = 0
    finished_at: float = 0.0


def deferral_loop(
    limiter: RateLimiter,
    clock: FakeClock,
    provider: str,
    arrivals: list[tuple[float, str]],
    *,
    requests_per_job: int = 1,
    lateness: Callable[[int], float] = lambda _: 0.0,
) -> LoopResult:
    """Run jobs that each need ``requests_per_job`` grants; a refused job sleeps until
    its ``retry_at`` (plus ``lateness(job)``) and tries again, like a deferred message.
    """
    result = LoopResult()
    queue = [(at, job, account) for job, (at, account) in enumerate(arrivals)]
    heapq.heapify(queue)
    left = dict.fromkeys(range(len(arrivals)), requests_per_job)
    while queue:
        at, job, account = heapq.heappop(queue)
        clock.set(at)
        decision = limiter.acquire(provider, account)
        result.decisions += 1
        if decision.allowed:
            result.grants.append(Grant(round(clock.now * US), account))
            left[job] -= 1
            if left[job]:
                heapq.heappush(queue, (clock.now, job, account))
        else:
            result.deferrals[job] = result.deferrals.get(job, 0) + 1
            heapq.heappush(queue, (decision.retry_at + lateness(job), job, account))
    result.finished_at = clock.now
    return result
