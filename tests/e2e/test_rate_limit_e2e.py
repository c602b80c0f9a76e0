"""Real worker processes share one provider quota against a strict simulator."""

from __future__ import annotations

from bisect import bisect_right
from datetime import timedelta

from tests.e2e.stack import Stack
from tests.support.simulator import SimAdmin

LIMIT, WINDOW_SECONDS = 5, 1.0


def test_workers_never_exceed_a_per_second_limit_and_use_most_of_it(
    stack: Stack, sim: SimAdmin
) -> None:
    # Given a provider that allows 5 requests in any 1 s window (strict sliding window),
    # and the limiter configured with the same limit
    sim.set_limit("github", LIMIT, WINDOW_SECONDS, scope="provider")
    stack.env_overrides["TRIBUTARY_LIMITS_GITHUB"] = f"provider={LIMIT}/1s;account=none"
    day = sim.today - timedelta(days=12)  # a few pages of newer events per job
    job_ids = [
        stack.enqueue(stack.connect("github", f"quota-{i}")["id"], day).job["id"]
        for i in range(100)
    ]

    # When 2 worker processes × 4 threads drain the jobs for at least 20 s
    stack.start_workers(processes=2, threads=4)
    stack.wait_status(job_ids, "completed", timeout=120)

    # Then the provider never refused a request and no window held more than the limit,
    times = sorted(r["time"] for r in sim.requests("github"))
    assert not [r for r in sim.requests("github") if r["status"] == 429 or r["rateLimited"]]
    assert sim.stats()["github"]["rateLimitViolations"] == 0
    busiest = max(bisect_right(times, t) - bisect_right(times, t - WINDOW_SECONDS) for t in times)
    assert busiest <= LIMIT
    # while the run lasted 20 s or more and used at least 90 % of the allowed rate
    duration = times[-1] - times[0]
    assert duration >= 20, duration
    rate = (len(times) - 1) / duration
    assert rate >= 0.9 * LIMIT / WINDOW_SECONDS, f"{rate:.2f} req/s over {duration:.1f} s"
