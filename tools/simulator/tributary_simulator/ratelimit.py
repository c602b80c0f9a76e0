"""Strict sliding-window-log rate limits, per provider or per provider+account.

A request is admitted only if the weighted sum of admitted requests in the last
``window_seconds`` plus its own cost stays within ``requests``; a refused request is
not logged in the window (it never reached the "provider") but counts as a violation.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class LimitSpec:
    requests: int
    window_seconds: float
    scope: str = "account"  # "provider" | "account"

    def as_json(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "windowSeconds": self.window_seconds,
            "scope": self.scope,
        }


@dataclass(frozen=True)
class LimitState:
    """The window as a provider would report it in its headers."""

    limit: int
    used: int
    reset_at: float  # epoch seconds when the oldest admitted request leaves the window

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


class SlidingWindowLimiter:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._specs: dict[str, LimitSpec] = {}
        self._logs: dict[tuple[str, str], deque[tuple[float, int]]] = {}
        self._violations: dict[str, int] = {}
        self._max_seen: dict[str, int] = {}

    def configure(self, provider: str, spec: LimitSpec | None) -> None:
        with self._lock:
            if spec is None:
                self._specs.pop(provider, None)
            else:
                self._specs[provider] = spec
            self._logs = {k: v for k, v in self._logs.items() if k[0] != provider}
            self._max_seen.pop(provider, None)

    def spec(self, provider: str) -> LimitSpec | None:
        return self._specs.get(provider)

    def reset(self) -> None:
        with self._lock:
            self._specs.clear()
            self._logs.clear()
            self._violations.clear()
            self._max_seen.clear()

    def take(self, provider: str, account: str | None, cost: int) -> tuple[bool, LimitState | None]:
        """Admit ``cost`` units or refuse (a violation); return the window state after."""
        with self._lock:
            spec = self._specs.get(provider)
            if spec is None:
                return True, None
            now = self._clock()
            log = self._window(provider, account, spec, now)
            used = sum(c for _, c in log)
            if used + cost > spec.requests:
                self._violations[provider] = self._violations.get(provider, 0) + 1
                return False, self._state(spec, log, used, now)
            if cost > 0:
                log.append((now, cost))
                used += cost
            self._max_seen[provider] = max(self._max_seen.get(provider, 0), used)
            return True, self._state(spec, log, used, now)

    def peek(self, provider: str, account: str | None) -> LimitState | None:
        with self._lock:
            spec = self._specs.get(provider)
            if spec is None:
                return None
            now = self._clock()
            log = self._window(provider, account, spec, now)
            return self._state(spec, log, sum(c for _, c in log), now)

    def stats(self, provider: str) -> dict[str, object]:
        spec = self._specs.get(provider)
        return {
            "limit": spec.as_json() if spec else None,
            "rateLimitViolations": self._violations.get(provider, 0),
            "maxInWindow": self._max_seen.get(provider, 0),
        }

    def _window(
        self, provider: str, account: str | None, spec: LimitSpec, now: float
    ) -> deque[tuple[float, int]]:
        key = (provider, (account or "") if spec.scope == "account" else "*")
        log = self._logs.setdefault(key, deque())
        while log and log[0][0] <= now - spec.window_seconds:
            log.popleft()
        return log

    @staticmethod
    def _state(spec: LimitSpec, log: deque[tuple[float, int]], used: int, now: float) -> LimitState:
        oldest = log[0][0] if log else now
        return LimitState(spec.requests, used, oldest + spec.window_seconds)
