"""The limiter contract, run against both backends (in-process and Redis + Lua).

Every test drives a fake clock; the Redis backend receives it as a script argument.
"""

from __future__ import annotations

import itertools
import random
import socket
from collections.abc import Callable
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.crc import key_slot
from redis.retry import Retry
from tributary_common.ratelimit import (
    UNAVAILABLE,
    LimitConfig,
    MemoryLimiter,
    RateLimiter,
    RedisLimiter,
    build_limiter,
)
from tributary_common.settings import Settings

from tests.ratelimit.sim import FakeClock

MakeLimiter = Callable[[dict[str, str]], RateLimiter]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "redis"])
def make(request: pytest.FixtureRequest, clock: FakeClock) -> MakeLimiter:
    """Build a limiter of the parametrised backend from override strings."""
    if request.param == "memory":
        return lambda overrides: MemoryLimiter(LimitConfig.from_overrides(overrides), clock)
    client = request.getfixturevalue("redis_client")
    namespace = request.getfixturevalue("namespace")
    return lambda overrides: RedisLimiter(
        client, namespace, LimitConfig.from_overrides(overrides), clock
    )


def test_provider_minute_limit_refuses_the_eleventh_until_the_window_moves(
    make: MakeLimiter, clock: FakeClock
) -> None:
    limiter = make({"meta_ads": "provider=10/1m"})
    # Given ten requests at once
    assert all(limiter.acquire("meta_ads", f"acct{i}").allowed for i in range(10))
    # When an eleventh arrives
    refused = limiter.acquire("meta_ads", "acct10")
    # Then it is refused until the first leaves the minute (plus the scheduling slack)
    assert not refused.allowed
    assert refused.scope == "provider:1m"
    assert refused.retry_at == pytest.approx(clock.now + 61.0)
    clock.advance(59.9)
    assert not limiter.acquire("meta_ads", "late").allowed
    clock.set(refused.retry_at)
    assert limiter.acquire("meta_ads", "acct10").allowed


def test_hour_limit_refusal_takes_nothing_from_the_minute_limit(
    make: MakeLimiter, clock: FakeClock
) -> None:
    limiter = make({"meta_ads": "provider=3/1m,4/1h"})
    assert all(limiter.acquire("meta_ads", "a").allowed for _ in range(3))
    clock.advance(61)
    # Given the hour limit has one permit left, the minute limit three
    assert limiter.acquire("meta_ads", "a").allowed
    # When the hour limit refuses
    refused = limiter.acquire("meta_ads", "a")
    assert not refused.allowed and refused.scope == "provider:1h"
    # Then the minute window holds only the one granted request
    windows = limiter.snapshot()["meta_ads"]["windows"]
    assert windows["provider:1m"]["used"] == 1
    assert windows["provider:1h"]["used"] == 4


def test_account_limit_refusal_leaves_the_provider_quota_to_other_accounts(
    make: MakeLimiter,
) -> None:
    limiter = make({"p": "provider=5/1m;account=2/1m"})
    assert limiter.acquire("p", "a").allowed
    assert limiter.acquire("p", "a").allowed
    refused = limiter.acquire("p", "a")
    assert not refused.allowed and refused.scope == "account:1m"
    # a's refusal holds one provider permit for its reserved time, no more
    assert limiter.snapshot()["p"]["windows"]["provider:1m"]["used"] == 2
    assert [limiter.acquire("p", "b").allowed for _ in range(3)] == [True, True, False]


def test_account_limits_are_per_account(make: MakeLimiter) -> None:
    limiter = make({"x": "account=2/15m"})
    assert [limiter.acquire("x", "alice").allowed for _ in range(3)] == [True, True, False]
    assert limiter.acquire("x", "bob").allowed


def test_weighted_cost_takes_that_many_units(make: MakeLimiter, clock: FakeClock) -> None:
    limiter = make({"youtube": "provider=100/1d"})
    assert limiter.acquire("youtube", "chan", cost=60).allowed
    assert limiter.acquire("youtube", "chan", cost=40).allowed
    refused = limiter.acquire("youtube", "chan", cost=1)
    assert not refused.allowed and refused.scope == "provider:1d"
    assert refused.retry_at == pytest.approx(clock.now + 86400 + 1)
    with pytest.raises(ValueError, match="exceeds"):
        limiter.acquire("youtube", "chan", cost=101)


def test_a_partial_weighted_request_is_refused_whole(make: MakeLimiter) -> None:
    limiter = make({"youtube": "provider=100/1d"})
    assert limiter.acquire("youtube", "chan", cost=70).allowed
    assert not limiter.acquire("youtube", "chan", cost=31).allowed
    assert limiter.snapshot()["youtube"]["windows"]["provider:1d"]["used"] == 70


def test_provider_cooldown_refuses_every_account_until_it_ends(
    make: MakeLimiter, clock: FakeClock
) -> None:
    limiter = make({"github": "account=5000/1h"})
    limiter.cooldown("github", None, clock.now + 30, "secondary limit")
    for account in ("a", "b"):
        decision = limiter.acquire("github", account)
        assert not decision.allowed and decision.scope == "cooldown:provider"
        assert decision.retry_at >= clock.now + 30
    clock.advance(31)
    assert limiter.acquire("github", "a").allowed


def test_account_cooldown_refuses_only_that_account(make: MakeLimiter, clock: FakeClock) -> None:
    limiter = make({"github": "account=5000/1h"})
    limiter.cooldown("github", "a", clock.now + 60, "x-ratelimit-reset")
    refused = limiter.acquire("github", "a")
    assert not refused.allowed and refused.scope == "cooldown:account"
    assert refused.retry_at == pytest.approx(clock.now + 60)
    assert limiter.acquire("github", "b").allowed
    cooldowns = limiter.snapshot()["github"]["cooldowns"]
    assert cooldowns == [{"account": "a", "until": clock.now + 60, "reason": "x-ratelimit-reset"}]


def test_a_later_cooldown_wins_and_an_earlier_one_does_not_shorten_it(
    make: MakeLimiter, clock: FakeClock
) -> None:
    limiter = make({})
    limiter.cooldown("x", "a", clock.now + 100, "first")
    limiter.cooldown("x", "a", clock.now + 10, "earlier")
    assert limiter.acquire("x", "a").retry_at == pytest.approx(clock.now + 100)
    limiter.cooldown("x", "a", clock.now + 200, "later")
    assert limiter.snapshot()["x"]["cooldowns"][0]["reason"] == "later"


def test_refused_callers_get_distinct_increasing_retry_times(
    make: MakeLimiter, clock: FakeClock
) -> None:
    limiter = make({"p": "provider=10/1s"})
    decisions = [limiter.acquire("p", f"job{i}") for i in range(50)]
    refused = [d.retry_at for d in decisions if not d.allowed]
    assert len(refused) == 40
    assert refused == sorted(set(refused))
    assert refused[0] > clock.now
    # ... spaced at the allowed rate, so they wake in turn rather than together
    assert min(b - a for a, b in itertools.pairwise(refused)) >= 0.1 - 1e-6


def test_a_refused_caller_that_returns_on_time_is_served(
    make: MakeLimiter, clock: FakeClock
) -> None:
    limiter = make({"p": "provider=10/1s"})
    refused = [d for d in (limiter.acquire("p", f"j{i}") for i in range(30)) if not d.allowed]
    for decision in refused:
        clock.set(decision.retry_at)
        assert limiter.acquire("p", "back").allowed


def test_cooldown_refusals_are_spread_after_the_cooldown(
    make: MakeLimiter, clock: FakeClock
) -> None:
    limiter = make({"p": "provider=10/1s"})
    limiter.cooldown("p", None, clock.now + 5, "Retry-After")
    times = [limiter.acquire("p", f"j{i}").retry_at for i in range(20)]
    assert times == sorted(set(times)) and times[0] >= clock.now + 5


def test_slots_are_leases_that_expire_renew_and_release(
    make: MakeLimiter, clock: FakeClock
) -> None:
    limiter = make({"meta_ads": "concurrency=2"})
    assert limiter.acquire_slot("meta_ads", "job1", 10).allowed
    assert limiter.acquire_slot("meta_ads", "job2", 10).allowed
    full = limiter.acquire_slot("meta_ads", "job3", 10)
    assert not full.allowed and full.scope == "slots" and full.retry_at > clock.now
    assert limiter.acquire_slot("meta_ads", "job1", 10).allowed  # re-entrant for its holder
    clock.advance(8)
    assert limiter.renew_slot("meta_ads", "job1", 10)
    clock.advance(3)
    # job2 did not renew: its lease ran out and it lost the slot
    assert not limiter.renew_slot("meta_ads", "job2", 10)
    assert limiter.snapshot()["meta_ads"]["slots"] == {"limit": 2, "in_use": 1}
    assert limiter.acquire_slot("meta_ads", "job3", 10).allowed
    limiter.release_slot("meta_ads", "job1")
    limiter.release_slot("meta_ads", "job1")
    assert limiter.acquire_slot("meta_ads", "job4", 10).allowed


def test_a_provider_without_a_cap_holds_no_slot(make: MakeLimiter) -> None:
    limiter = make({"github": "concurrency=none"})
    assert all(limiter.acquire_slot("github", f"job{i}", 10).allowed for i in range(50))
    assert limiter.renew_slot("github", "job1", 10)
    limiter.release_slot("github", "job1")
    assert limiter.snapshot()["github"]["slots"] == {"limit": None, "in_use": 0}


def test_an_uncapped_provider_needs_no_redis_for_slots(clock: FakeClock) -> None:
    client = redis.Redis(
        port=_closed_port(), socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    limiter = RedisLimiter(client, "trt-down", LimitConfig(), clock)
    assert limiter.acquire_slot("github", "job", 10).allowed
    assert limiter.renew_slot("github", "job", 10)
    limiter.release_slot("github", "job")


def test_refused_slot_holders_get_distinct_retry_times(make: MakeLimiter) -> None:
    limiter = make({"google_ads": "concurrency=1"})
    assert limiter.acquire_slot("google_ads", "running", 30).allowed
    times = [limiter.acquire_slot("google_ads", f"j{i}", 30).retry_at for i in range(20)]
    assert len(set(times)) == 20


def test_a_provider_without_concurrency_cap_grants_every_slot(make: MakeLimiter) -> None:
    limiter = make({"github": "account=10/1h"})
    assert all(limiter.acquire_slot("github", f"j{i}", 10).allowed for i in range(50))


def test_both_backends_take_identical_decisions(redis_client: redis.Redis, namespace: str) -> None:
    overrides = {"p": "provider=4/1s,12/10s;account=3/2s;concurrency=2"}
    rng = random.Random(7)
    ops = [(rng.random() * 0.3, rng.choice("abc"), rng.choice([1, 1, 2])) for _ in range(400)]
    results: list[list[Any]] = []
    for backend in ("memory", "redis"):
        clock = FakeClock()
        config = LimitConfig.from_overrides(overrides)
        limiter: RateLimiter = (
            MemoryLimiter(config, clock)
            if backend == "memory"
            else RedisLimiter(redis_client, namespace, config, clock)
        )
        out: list[Any] = []
        for step, account, cost in ops:
            clock.advance(step)
            if account == "c" and cost == 2:
                limiter.cooldown("p", "c", clock.now + 1.5, "provider said so")
            out.append(limiter.acquire("p", account, cost))
        out.append(limiter.snapshot())
        results.append(out)
    assert results[0] == results[1]


# --- Redis specifics ---------------------------------------------------------------


class RecordingRedis(redis.Redis):
    """A client that records the keys declared to each script call."""

    declared: list[list[str]]

    def evalsha(self, sha: str, numkeys: int, *keys_and_args: Any) -> Any:  # type: ignore[override]
        self.declared.append([str(k) for k in keys_and_args[:numkeys]])
        return super().evalsha(sha, numkeys, *keys_and_args)


def test_scripts_declare_every_key_they_touch_under_one_hash_tag(
    redis_url: str, redis_client: redis.Redis, namespace: str, clock: FakeClock
) -> None:
    client = RecordingRedis.from_url(redis_url)
    client.declared = []
    overrides = {"meta_ads": "provider=2/1m;account=1/1m;concurrency=1"}
    limiter = RedisLimiter(client, namespace, LimitConfig.from_overrides(overrides), clock)
    for account in ("act_1", "act_2", "act_1"):
        limiter.acquire("meta_ads", account)
    limiter.cooldown("meta_ads", "act_1", clock.now + 5, "BUC")
    limiter.acquire_slot("meta_ads", "job", 10)
    limiter.acquire_slot("meta_ads", "job2", 10)
    # Each call's keys hash to one Cluster slot under the provider's tag
    for keys in client.declared:
        assert len({key_slot(k.encode()) for k in keys}) == 1
        assert all(k.startswith(f"{{{namespace}:meta_ads}}") for k in keys)
    # ... and every key that now exists was declared to some call
    declared = {k for keys in client.declared for k in keys}
    existing = {k.decode() for k in redis_client.scan_iter(match=f"*{namespace}*")}
    assert existing and existing <= declared
    assert f"{{{namespace}:meta_ads}}:acct:act_1:win:1m" in existing


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_redis_unreachable_fails_closed(clock: FakeClock) -> None:
    # No client-side retries: redis-py 8 otherwise backs off for seconds before failing.
    client = redis.Redis(
        port=_closed_port(), socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    limiter = RedisLimiter(client, "trt-down", LimitConfig(), clock)
    decision = limiter.acquire("github", "a")
    assert (decision.allowed, decision.scope) == (False, UNAVAILABLE)
    assert decision.retry_at == pytest.approx(clock.now + 5)
    # meta_ads has a concurrency cap by default, so its slots live in Redis
    assert limiter.acquire_slot("meta_ads", "job", 10).scope == UNAVAILABLE
    assert not limiter.renew_slot("meta_ads", "job", 10)
    limiter.release_slot("meta_ads", "job")
    limiter.cooldown("github", None, clock.now + 5, "reset")
    assert limiter.snapshot() == {"unavailable": True}


def test_default_redis_limiter_uses_the_server_clock(
    redis_client: redis.Redis, namespace: str
) -> None:
    limiter = build_limiter(
        Settings(namespace=namespace, limit_overrides={"p": "provider=2/1s"}), redis_client
    )
    seconds, micros = redis_client.time()
    server_now = seconds + micros / 1e6
    assert [limiter.acquire("p", "a").allowed for _ in range(3)] == [True, True, False]
    retry_at = limiter.acquire("p", "a").retry_at
    assert server_now + 0.9 < retry_at < server_now + 3
    assert isinstance(build_limiter(Settings(), None), MemoryLimiter)


def test_a_settled_permit_counts_at_its_answer_not_its_grant(
    make: MakeLimiter, clock: FakeClock
) -> None:
    limiter = make({"github": "provider=5/1s;account=none"})
    # Given five grants at t=0 whose requests were answered (so sent) by t=0.3
    permits = [limiter.acquire("github", f"a{i}") for i in range(5)]
    assert all(p.allowed and p.permit is not None for p in permits)
    clock.advance(0.3)
    for p in permits:
        assert p.permit is not None
        limiter.settle(p.permit)
    # When the grant window has passed but the arrival window has not
    clock.advance(0.75)
    # Then nothing more is granted until one second after the answers
    assert not limiter.acquire("github", "late").allowed
    clock.set(clock.now + 0.26)
    assert limiter.acquire("github", "later").allowed


def test_settle_never_moves_an_entry_earlier_and_tolerates_repeats(
    make: MakeLimiter, clock: FakeClock
) -> None:
    limiter = make({"github": "provider=2/1s;account=none"})
    first = limiter.acquire("github", "a")
    assert first.permit is not None
    clock.advance(0.5)
    limiter.settle(first.permit)
    clock.advance(0.2)
    limiter.settle(first.permit)  # a second settle moves it to 0.7, never back
    assert limiter.acquire("github", "b").allowed
    clock.set(clock.now + 0.95)  # 1.65: the first (at 0.7) still counts
    assert not limiter.acquire("github", "c").allowed


def test_arrivals_never_exceed_the_limit_whatever_the_transit_delay(
    make: MakeLimiter, clock: FakeClock
) -> None:
    """The promise, measured where a provider measures it: arrival times.

    Twenty callers each send one request at a time; a granted request leaves after a
    random delay (a busy thread, a slow connect), is answered 5 ms after it arrives, and
    the caller settles its permit then; a refused caller comes back at its ``retry_at``.
    A strict provider counts arrivals in every 1 s window: none may hold more than the
    limit (without settle, grants at the limit's pace arrive bunched and some do).
    """
    rng = random.Random(7)
    limit, window, duration = 5, 1.0, 30.0
    limiter = make({"github": f"provider={limit}/1s;account=none"})
    start = clock.now
    next_try = {f"caller{i}": start + i * 0.01 for i in range(20)}
    answers: list[tuple[float, str, Any]] = []  # (answer time, caller, permit)
    arrivals: list[float] = []
    while clock.now < start + duration:
        for item in sorted(a for a in answers if a[0] <= clock.now):
            answers.remove(item)
            limiter.settle(item[2])
            next_try[item[1]] = clock.now
        for caller, at in sorted(next_try.items(), key=lambda kv: kv[1]):
            if at > clock.now:
                continue
            decision = limiter.acquire("github", caller)
            if decision.allowed:
                arrival = clock.now + rng.choice([0.0, 0.0, 0.01, 0.05, 0.3, 0.6])
                arrivals.append(arrival)
                answers.append((arrival + 0.005, caller, decision.permit))
                next_try[caller] = float("inf")
            else:
                next_try[caller] = decision.retry_at
        clock.advance(0.005)
    arrivals.sort()
    worst = max(sum(1 for t in arrivals if a <= t < a + window) for a in arrivals)
    assert worst <= limit
    # and the limit is still mostly used: each permit is held for its transit time too
    assert len(arrivals) >= 0.7 * limit * duration / window
