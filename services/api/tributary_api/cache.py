"""A value recomputed at most once per time-to-live, per api process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Expiring(Generic[T]):
    def __init__(
        self,
        load: Callable[[], T],
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._value: T | None = None
        self._expires = float("-inf")

    def get(self) -> T:
        """The cached value, or a fresh one once it is older than the time-to-live.

        A failed load raises and leaves nothing cached, so the next call tries again.
        """
        with self._lock:
            if self._value is None or self._clock() >= self._expires:
                self._value = self._load()
                self._expires = self._clock() + self._ttl
            return self._value
