"""How long a provider throttle lasts when the provider does not say.

A connector states its default as a `ThrottleWait` (attribute ``throttle_wait``); the
runner passes ``unstated(n)`` for a job already throttled ``n`` times to `ProviderHttp`,
so repeated throttles without a stated wait back off: first, 2 x first, 4 x first, ...
up to ``max_seconds``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ThrottleWait:
    #: Seconds the first unstated throttle of a job defers it.
    first_seconds: float = 60.0
    #: The longest one unstated throttle defers a job (seconds).
    max_seconds: float = 900.0

    def unstated(self, throttles_before: int) -> float:
        """Seconds to wait after a throttle stating no wait, the job's ``throttles_before + 1``th."""
        return min(self.first_seconds * 2 ** max(throttles_before, 0), self.max_seconds)


#: For connectors that state no default of their own.
DEFAULT_THROTTLE_WAIT = ThrottleWait()
