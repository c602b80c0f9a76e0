"""This process's PostgreSQL pool: opened after fork (gunicorn `post_fork`), never before."""

from __future__ import annotations

import os
import threading

from psycopg_pool import ConnectionPool
from tributary_common.db import open_pool

#: Connections per api process: one per gunicorn thread (4 by default), plus headroom for
#: process-queue's lease keeper.
POOL_MAX_SIZE = 6

_lock = threading.Lock()
_pool: ConnectionPool | None = None
_pid = 0


def pool(database_url: str) -> ConnectionPool:
    """Open this process's pool on first use; a pool inherited across a fork is never reused."""
    global _pool, _pid
    with _lock:
        if _pool is None or _pid != os.getpid():
            _pool = open_pool(database_url, min_size=1, max_size=POOL_MAX_SIZE)
            _pid = os.getpid()
        return _pool


def close() -> None:
    """Close the pool of this process, if it opened one."""
    global _pool
    with _lock:
        if _pool is not None and _pid == os.getpid():
            _pool.close()
        _pool = None
