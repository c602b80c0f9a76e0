"""PostgreSQL connection pool. Open it after fork (gunicorn `post_fork`, worker boot)."""

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
        kwargs={"row_factory": dict_row, "autocommit": False},
        open=False,
        timeout=5.0,
        name="tributary",
    )
    pool.open(wait=False)
    return pool


@contextmanager
def transaction(pool: ConnectionPool[Any]) -> Iterator[psycopg.Connection[DictRow]]:
    """Yield a connection inside a transaction; PostgreSQL outages become `LedgerUnavailable`."""
    try:
        with pool.connection() as conn:
            # Every pool is opened by `open_pool`, whose connections return dict rows.
            yield cast("psycopg.Connection[DictRow]", conn)
    except (psycopg.OperationalError, PoolTimeout) as exc:
        raise LedgerUnavailable(f"PostgreSQL unavailable: {type(exc).__name__}") from exc
