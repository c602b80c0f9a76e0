"""Error categories and what each means for a job: retried or not, and the backoff."""

from __future__ import annotations

import random
from enum import StrEnum


class ErrorCategory(StrEnum):
    RATE_LIMIT = "RATE_LIMIT"
    NETWORK_ERROR = "NETWORK_ERROR"
    UNKNOWN = "UNKNOWN"
    API_ERROR = "API_ERROR"
    VALIDATION_ERROR = "VALIDATION_ERROR"

    @property
    def retryable(self) -> bool:
        return self in RETRYABLE

    @property
    def needs_reauth(self) -> bool:
        """API_ERROR means the credentials are bad: the connection must be re-authorised."""
        return self is ErrorCategory.API_ERROR


RETRYABLE = frozenset(
    {ErrorCategory.RATE_LIMIT, ErrorCategory.NETWORK_ERROR, ErrorCategory.UNKNOWN}
)

#: Jitter is bounded to this fraction of the backoff, so 2 s never becomes 4 s.
JITTER_FRACTION = 0.25


def backoff_seconds(
    retry_number: int, base_seconds: float = 2.0, rng: random.Random | None = None
) -> float:
    """Return the delay before retry ``retry_number`` (1-based): base * 2**(n-1) + 0-25 %."""
    delay = base_seconds * (2 ** (retry_number - 1))
    jitter = (rng or random).uniform(0.0, JITTER_FRACTION) * delay
    return delay + jitter
