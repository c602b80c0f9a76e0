"""Exceptions of Tributary. One root; every class says when it is raised."""

from __future__ import annotations

from datetime import datetime

from .categories import ErrorCategory


class TributaryError(Exception):
    """Base class of every exception Tributary raises on purpose."""


class ConfigError(TributaryError):
    """Raised when a configuration variable is missing or malformed."""


class LedgerUnavailable(TributaryError):
    """Raised when PostgreSQL cannot be reached (wraps psycopg's operational errors)."""


class LedgerConflict(TributaryError):
    """Raised when PostgreSQL refuses a statement for concurrency, not availability:
    deadlock (SQLSTATE 40P01), lock timeout (55P03) or serialization failure (40001).
    The statement's transaction was rolled back; trying again is safe."""


class NotFound(TributaryError):
    """Raised when a ledger lookup finds no row for the given id or key."""


class Conflict(TributaryError):
    """Raised when a request cannot proceed in the resource's current state."""


class ProviderError(TributaryError):
    """Raised when a provider call fails; carries its category and any wait the provider asked for.

    ``retry_at`` is the wall-clock time the provider said we may call again
    (``Retry-After``, reset headers, ``retryDelay``), or None.
    ``scope`` says whose quota was hit: "provider" (app-wide) or "account".
    """

    def __init__(
        self,
        category: ErrorCategory,
        message: str,
        *,
        status: int | None = None,
        retry_at: datetime | None = None,
        scope: str = "account",
    ) -> None:
        super().__init__(message)
        self.category = category
        self.message = message
        self.status = status
        self.retry_at = retry_at
        self.scope = scope

    def __str__(self) -> str:
        prefix = f"HTTP {self.status}: " if self.status is not None else ""
        return f"{prefix}{self.message}"


class Throttled(ProviderError):
    """Raised by `ProviderHttp` when a provider answered "too many requests" (a RATE_LIMIT).

    Not a failure: the runner defers the job to ``until`` without using an attempt, and
    only dead-letters it as RATE_LIMIT once the throttle outlasts the horizon
    (``TRIBUTARY_THROTTLE_HORIZON_SECONDS``). ``until`` is the provider's stated wait, or
    the connector's default for an unstated one (``stated`` False); ``retry_at`` keeps
    only what the provider stated. ``scope`` ("account" or "provider") is the limiter key
    put in cooldown until ``until``.
    """

    def __init__(self, error: ProviderError, until: datetime, *, stated: bool) -> None:
        super().__init__(
            ErrorCategory.RATE_LIMIT,
            error.message,
            status=error.status,
            retry_at=error.retry_at,
            scope=error.scope,
        )
        self.until = until
        self.stated = stated


class Deferred(TributaryError):
    """Raised when a job must wait for a rate limit, cooldown or concurrency slot.

    Not a failure: the runner puts the job back on its band with a delay, attempts untouched.
    """

    def __init__(self, until: datetime, reason: str, scope: str = "provider") -> None:
        super().__init__(f"deferred until {until.isoformat()}: {reason}")
        self.until = until
        self.reason = reason
        self.scope = scope


class ShutdownRequested(TributaryError):
    """Raised inside a job when the worker is shutting down and the job must stop between pages."""


class ConnectionPaused(TributaryError):
    """Raised inside a job, after the page it was saving, when its connection was paused:
    the runner holds the job until the connection resumes."""


class JobCancelled(TributaryError):
    """Raised inside a job when its connection (and so the job) was deleted under it: the
    run ends as `cancelled`, with no error, retry or dead letter."""
