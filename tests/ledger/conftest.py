"""Ledger tests: the ledger functions against a real PostgreSQL database of their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from psycopg_pool import ConnectionPool
from tributary_common.db import open_pool


@pytest.fixture
def pool(database_url: str) -> Iterator[ConnectionPool]:
    p = open_pool(database_url, max_size=8)
    yield p
    p.close()
