"""Daily activity counts per platform, as the app's activity chart reads them."""

from __future__ import annotations

from datetime import date
from typing import Any

from psycopg_pool import ConnectionPool

from ..db import transaction
from .sql import queries

Q = queries("activities")


def daily(
    pool: ConnectionPool, *, user_id: str, start: date, end: date, public_only: bool
) -> tuple[list[dict[str, Any]], list[str]]:
    """Return (rows of activity_date/platform/count, platforms hidden as private)."""
    params = {"user_id": user_id, "from": start, "to": end, "public_only": public_only}
    with transaction(pool) as conn:
        rows = conn.execute(Q["daily"], params).fetchall()
        hidden = conn.execute(Q["private_platforms"], {"user_id": user_id}).fetchall()
    return rows, [r["provider"] for r in hidden] if public_only else []
