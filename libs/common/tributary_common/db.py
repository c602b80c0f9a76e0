"""PostgreSQL connection pool. Open it after fork (gunicorn `post_fork`, worker boot).

Pooled connections are in autocommit mode. `transaction` wraps its block in BEGIN/COMMIT;
`statement` is for one statement that is atomic by itself (the hot path's claim and
complete are single statements), which saves the BEGIN and COMMIT round trips.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from .errors import LedgerUnavailable


def open_pool(database_url: str, *, min_size: int = 1, max_size: int = 8) -> ConnectionPool[Any]:
    """Open a pool of dict-row connections; connections are opened lazily in the background."""
    pool = ConnectionPool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        kwargs={"row_factory": dict_row, "autocommit": True},
        open=False,
        timeout=5.0,
        name="tributary",
    )
    pool.open(wait=False)
    return pool


@contextmanager
def statement(pool: ConnectionPool[Any]) -> Iterator[psycopg.Connection[DictRow]]:
    """Yield a connection outside any transaction: each statement commits by itself.

    Only for a block that runs one statement (or reads that need no common snapshot).
    PostgreSQL outages become `LedgerUnavailable`.
    """
    try:
        with pool.connection() as conn:
            # Every pool is opened by `open_pool`, whose connections return dict rows.
            yield cast("psycopg.Connection[DictRow]", conn)
    except (psycopg.OperationalError, PoolTimeout) as exc:
        raise LedgerUnavailable(f"PostgreSQL unavailable: {type(exc).__name__}") from exc


@contextmanager
def transaction(pool: ConnectionPool[Any]) -> Iterator[psycopg.Connection[DictRow]]:
    """Yield a connection inside a transaction; PostgreSQL outages become `LedgerUnavailable`
    (a failed COMMIT too: it happens inside `statement`)."""
    with statement(pool) as conn, conn.transaction():
        yield conn
