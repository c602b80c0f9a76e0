"""Health of the pipeline as the scheduler sees it: PostgreSQL, Redis, queue age."""

from __future__ import annotations

from typing import Any

import redis
from psycopg_pool import ConnectionPool
from tributary_common.db import transaction
from tributary_common.errors import LedgerUnavailable

OLDEST_PENDING = """
SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0) AS age
FROM sync_jobs WHERE status = 'pending' AND (not_before IS NULL OR not_before <= now())
"""


def check_health(
    pool: ConnectionPool, client: redis.Redis, *, max_oldest_pending_seconds: float
) -> dict[str, Any]:
    report: dict[str, Any] = {"postgres": "ok", "redis": "ok", "oldestPendingSeconds": None}
    try:
        with transaction(pool) as conn:
            row = conn.execute(OLDEST_PENDING).fetchone()
        report["oldestPendingSeconds"] = round(float(row["age"]), 3) if row else 0.0
    except LedgerUnavailable as exc:
        report["postgres"] = str(exc)
    try:
        client.ping()
    except redis.RedisError as exc:
        report["redis"] = type(exc).__name__
    age = report["oldestPendingSeconds"]
    report["healthy"] = (
        report["postgres"] == "ok"
        and report["redis"] == "ok"
        and age is not None
        and age <= max_oldest_pending_seconds
    )
    return report
