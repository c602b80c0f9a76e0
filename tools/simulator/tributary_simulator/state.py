"""Everything the simulator remembers between requests, and the admin reset."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime

from .faults import FaultBook
from .hub import Hub
from .oauth import OAuthServer
from .providers import Provider, ProviderContext, discover
from .ratelimit import SlidingWindowLimiter
from .requestlog import RequestLog


class SimulatorState:
    def __init__(
        self,
        providers: Mapping[str, Provider] | None = None,
        *,
        clock: Callable[[], float] = time.time,
        today: date | None = None,
    ) -> None:
        self.providers: dict[str, Provider] = dict(providers or discover())
        self.clock = clock
        self.today = today or datetime.fromtimestamp(clock(), tz=UTC).date()
        self.limiter = SlidingWindowLimiter(clock)
        self.faults = FaultBook()
        self.log = RequestLog()
        #: Set on shutdown so held ("timeout"/"slow") requests end at once.
        self.stopping = threading.Event()
        #: The WebSub hub YouTube subscriptions go to (`/_hub/websub`).
        self.hub = Hub()
        #: Authorize/token endpoints and the tokens they issued (`oauth`).
        self.oauth = OAuthServer(clock)
        self._provider_state: dict[str, tuple[dict[str, object], threading.Lock]] = {}
        self.reset()

    def reset(self) -> None:
        """Forget faults, the log, counters and provider state; restore default limits."""
        self.limiter.reset()
        self.faults.clear()
        self.log.clear()
        self.hub.reset()
        self.oauth.reset()
        self._provider_state = {name: ({}, threading.Lock()) for name in self.providers}
        for name, provider in self.providers.items():
            self.limiter.configure(name, provider.default_limit)

    def context(self, provider: str) -> ProviderContext:
        state, lock = self._provider_state[provider]
        return ProviderContext(clock=self.clock, today=self.today, state=state, lock=lock)

    def stats(self) -> dict[str, object]:
        result: dict[str, object] = {}
        for name in self.providers:
            entries = self.log.entries(provider=name)
            by_status: dict[str, int] = {}
            for entry in entries:
                key = str(entry.status) if entry.status is not None else "none"
                by_status[key] = by_status.get(key, 0) + 1
            result[name] = {
                "requests": len(entries),
                "byStatus": by_status,
                "costUnits": sum(e.cost for e in entries),
                "faultsInjected": sum(1 for e in entries if e.fault),
                **self.limiter.stats(name),
            }
        return result
