"""`Expiring`: the api's per-process cache of a value that may be briefly stale."""

from __future__ import annotations

import pytest
from tributary_api.cache import Expiring


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_loads_once_per_time_to_live() -> None:
    clock, loads = Clock(), []
    cache = Expiring(lambda: loads.append(clock.now) or len(loads), 1.0, clock)

    assert [cache.get(), cache.get()] == [1, 1]
    clock.now += 0.99
    assert cache.get() == 1
    clock.now += 0.01
    assert cache.get() == 2
    assert loads == [100.0, 101.0]


def test_a_failed_load_caches_nothing() -> None:
    clock, calls = Clock(), []

    def load() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("ledger down")
        return 7

    cache = Expiring(load, 1.0, clock)
    with pytest.raises(RuntimeError):
        cache.get()
    assert cache.get() == 7
