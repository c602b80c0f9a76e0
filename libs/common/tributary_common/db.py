"""PostgreSQL connection pool. Open it after fork (gunicorn `post_fork`, worker boot).

Pooled connections are in autocommit mode. `transaction` wraps its block in BEGIN/COMMIT;
`statement` is for one statement that is atomic by itself (the hot path's claim and
complete are single statements), which saves the BEGIN and COMMIT round trips.

Failures are classified once, here, by kind:

- `LedgerConflict`: PostgreSQL answered but refused for concurrency (deadlock 40P01,
  lock timeout 55P03, serialization failure 40001); the work may simply be tried again.
- `LedgerUnavailable`: PostgreSQL could not be reached (connection refused or lost, pool
  timeout). Once a pool saw that, its `Breaker` opens: further calls fail at once instead
  of each waiting the pool timeout, and one call at a time probes (with a short timeout)
  until PostgreSQL answers again.

The pool reconnects after an outage within about a second (psycopg_pool's own backoff
doubles from 1 s, so it could take ~20 s after a 30 s outage).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool, PoolTimeout
from psycopg_pool.base import AttemptWithBackoff

from .errors import LedgerConflict, LedgerUnavailable

#: SQLSTATEs that mean "try again", not "PostgreSQL is down".
CONFLICT_SQLSTATES = frozenset({"40P01", "55P03", "40001"})
#: Seconds a call waits for a connection from a pool (psycopg_pool's own default is 30).
POOL_TIMEOUT_SECONDS = 5.0


class _QuickReconnect(AttemptWithBackoff):
    """Reconnection attempts every 0.2 s growing to at most 1 s (instead of 1 s doubling)."""

    INITIAL_DELAY = 0.2
    DELAY_BACKOFF = 1.5
    MAX_DELAY = 1.0

    def update_delay(self, now: float) -> None:
        super().update_delay(now)
        self.delay = min(self.delay, self.MAX_DELAY)


class Breaker:
    """Fail fast while PostgreSQL is known to be down; let one probe through at a time.

    ``probe_every``: seconds between probes while open; ``probe_timeout``: how long a probe
    waits for a pooled connection. Short: the pool's background reconnection makes the
    connection, the probe only takes one that is there, so no call waits long.
    """

    def __init__(
        self,
        *,
        probe_every: float = 0.25,
        probe_timeout: float = 0.005,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.probe_every = probe_every
        self.probe_timeout = probe_timeout
        self.clock = clock
        self._lock = threading.Lock()
        self._open = False
        self._probing = False
        self._last_probe = 0.0

    @property
    def is_open(self) -> bool:
        return self._open

    def admit(self) -> float | None:
        """Return the connection timeout for this call, or None when it must fail now."""
        with self._lock:
            if not self._open:
                return POOL_TIMEOUT_SECONDS
            now = self.clock()
            if self._probing or now - self._last_probe < self.probe_every:
                return None
            self._probing, self._last_probe = True, now
            return self.probe_timeout

    def succeeded(self) -> None:
        with self._lock:
            self._open = self._probing = False

    def failed(self) -> None:
        with self._lock:
            if not self._open:
                self._last_probe = self.clock()
            self._open, self._probing = True, False

    def released(self) -> None:
        """The call ended neither way (an error unrelated to availability)."""
        with self._lock:
            self._probing = False


class LedgerPool(ConnectionPool[Any]):
    """`ConnectionPool` with a `Breaker` and quick reconnection."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.breaker = Breaker()

    def _add_connection(self, attempt: AttemptWithBackoff | None, growing: bool = False) -> None:
        super()._add_connection(
            attempt or _QuickReconnect(timeout=self.reconnect_timeout), growing=growing
        )


def open_pool(database_url: str, *, min_size: int = 1, max_size: int = 8) -> LedgerPool:
    """Open a pool of dict-row connections; connections are opened lazily in the background."""
    pool = LedgerPool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        kwargs={"row_factory": dict_row, "autocommit": True},
        open=False,
        timeout=POOL_TIMEOUT_SECONDS,
        name="tributary",
    )
    pool.open(wait=False)
    return pool


def cut_off(exc: psycopg.Error) -> bool:
    """True when the error means the server is out of reach (no SQLSTATE: the connection
    failed or broke; class 08; server shutting down or starting), not a refused statement."""
    if not isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return False
    state = exc.sqlstate
    return state is None or state.startswith("08") or state in {"57P01", "57P02", "57P03"}


def classify(exc: psycopg.Error) -> LedgerConflict | LedgerUnavailable | None:
    """The Tributary error for a psycopg error, by SQLSTATE; None for anything else."""
    if exc.sqlstate in CONFLICT_SQLSTATES:
        return LedgerConflict(f"PostgreSQL conflict {exc.sqlstate}: {type(exc).__name__}")
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return LedgerUnavailable(f"PostgreSQL unavailable: {type(exc).__name__}")
    return None


@contextmanager
def statement(pool: ConnectionPool[Any]) -> Iterator[psycopg.Connection[DictRow]]:
    """Yield a connection outside any transaction: each statement commits by itself.

    Only for a block that runs one statement (or reads that need no common snapshot).
    Raises `LedgerUnavailable` (PostgreSQL unreachable, or known to be) and
    `LedgerConflict` (deadlock, lock or serialization failure).
    """
    breaker: Breaker | None = getattr(pool, "breaker", None)
    timeout = POOL_TIMEOUT_SECONDS if breaker is None else breaker.admit()
    if timeout is None:
        raise LedgerUnavailable("PostgreSQL unavailable (known down; retrying shortly)")
    reached = False
    try:
        with pool.connection(timeout=timeout) as conn:
            reached = True
            # Every pool is opened by `open_pool`, whose connections return dict rows.
            yield cast("psycopg.Connection[DictRow]", conn)
    except PoolTimeout as exc:
        if breaker is not None:
            breaker.failed()
        raise LedgerUnavailable("PostgreSQL unavailable: PoolTimeout") from exc
    except psycopg.Error as exc:
        converted = classify(exc)
        if breaker is not None:
            # A statement timeout is unavailable for this call, but the server answered.
            (breaker.failed if cut_off(exc) else breaker.succeeded)()
        if converted is None:
            raise
        raise converted from exc
    except BaseException:
        if breaker is not None:
            (breaker.succeeded if reached else breaker.released)()
        raise
    else:
        if breaker is not None:
            breaker.succeeded()


@contextmanager
def transaction(pool: ConnectionPool[Any]) -> Iterator[psycopg.Connection[DictRow]]:
    """Yield a connection inside a transaction; errors are converted as by `statement`
    (a failed COMMIT too: it happens inside `statement`)."""
    with statement(pool) as conn, conn.transaction():
        yield conn
