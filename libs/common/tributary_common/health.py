"""One definition of healthy, used by `sync-hourly` and `tributary_scheduler health`.

Healthy means every check passes:

- ``postgres``: the ledger answers;
- ``redis``: the broker answers PING;
- ``queue``: work is being finished: the due job that has waited longest came due less
  than ``max_oldest_due_seconds`` ago (a deferred job counts from its `not_before`);
- ``successRate``: of the jobs finished in the last 24 h, at least ``min_success_rate``
  percent completed; with nothing finished there is nothing to rate and the check passes
  (the ``queue`` check catches a pipeline that finishes nothing).

The answer names each check with ``ok`` and a ``detail``, and lists the failed ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis
from psycopg_pool import ConnectionPool

from . import bands
from .db import statement
from .errors import LedgerUnavailable
from .ledger.sql import queries

Q = queries("stats")

#: A due job waiting longer than this (seconds) means work is not being finished.
MAX_OLDEST_DUE_SECONDS = 3600.0
#: Below this 24 h success rate (percent) the pipeline is unhealthy.
MIN_SUCCESS_RATE = 80.0


@dataclass(frozen=True)
class Thresholds:
    max_oldest_due_seconds: float = MAX_OLDEST_DUE_SECONDS
    min_success_rate: float = MIN_SUCCESS_RATE


def check(
    pool: ConnectionPool, client: redis.Redis, thresholds: Thresholds = Thresholds()
) -> dict[str, Any]:
    """Run every check; return ``{healthy, failed: [names], checks: {name: {ok, detail}},
    oldestDueSeconds, successRate}`` (the last two None when PostgreSQL is down)."""
    checks: dict[str, dict[str, Any]] = {}
    oldest: float | None = None
    rate: float | None = None
    try:
        with statement(pool) as conn:
            row = conn.execute(
                Q["oldest_due_age"], {"queues": [b.queue for b in bands.BANDS]}
            ).fetchone()
            syncs = conn.execute(Q["syncs_24h"]).fetchone()
        checks["postgres"] = {"ok": True, "detail": "reachable"}
        oldest = round(float(row["age"]) if row else 0.0, 3)
        checks["queue"] = {
            "ok": oldest <= thresholds.max_oldest_due_seconds,
            "detail": f"oldest due job waited {oldest:.0f} s"
            f" (limit {thresholds.max_oldest_due_seconds:.0f} s)",
        }
        total = int(syncs["total"]) if syncs else 0
        if total:
            rate = round(100.0 * int(syncs["completed"]) / total, 1)  # type: ignore[index]
            checks["successRate"] = {
                "ok": rate >= thresholds.min_success_rate,
                "detail": f"{rate:.1f}% of {total} jobs finished in 24 h completed"
                f" (limit {thresholds.min_success_rate:.1f}%)",
            }
        else:
            checks["successRate"] = {"ok": True, "detail": "no job finished in 24 h to rate"}
    except LedgerUnavailable as exc:
        checks["postgres"] = {"ok": False, "detail": str(exc)}
    try:
        client.ping()
        checks["redis"] = {"ok": True, "detail": "reachable"}
    except redis.RedisError as exc:
        checks["redis"] = {"ok": False, "detail": f"unreachable: {type(exc).__name__}"}
    failed = [name for name, c in checks.items() if not c["ok"]]
    return {
        "healthy": not failed,
        "failed": failed,
        "checks": checks,
        "oldestDueSeconds": oldest,
        "successRate": rate,
    }
