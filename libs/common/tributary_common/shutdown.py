"""The worker's shutdown signal: jobs may finish within a grace period, then must stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class StopSignal:
    def __init__(self, grace_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.grace_seconds = grace_seconds
        self.clock = clock
        self._requested_at: float | None = None
        self._event = threading.Event()

    def request(self) -> None:
        if self._requested_at is None:
            self._requested_at = self.clock()
        self._event.set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, waking early when shutdown is requested."""
        return self._event.wait(seconds)

    def is_set(self) -> bool:
        return self._event.is_set()

    def expired(self) -> bool:
        """True once shutdown was requested and the grace period has passed."""
        return (
            self._requested_at is not None
            and self.clock() - self._requested_at >= self.grace_seconds
        )

    def wait_past_grace(self, extra_seconds: float) -> None:
        """Block until shutdown was requested and its grace plus ``extra_seconds`` passed."""
        self._event.wait()
        assert self._requested_at is not None
        left = self._requested_at + self.grace_seconds + extra_seconds - self.clock()
        if left > 0:
            time.sleep(left)
