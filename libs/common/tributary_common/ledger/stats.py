"""Read-only ledger statistics for the api: queue position, user status, queue and health."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import DictRow
from psycopg_pool import ConnectionPool

from .. import bands
from ..categories import ErrorCategory
from ..db import statement, transaction
from .sql import queries

Q = queries("stats")


def queue_position(pool: ConnectionPool, job: dict[str, Any]) -> int | None:
    """Jobs that will start before ``job``: pending, due now, same band or higher, enqueued
    earlier (None unless it is pending). A deferred job does not count; its own wait is
    `due_at`. Bounded at any backlog (kept counts plus one bucket of at most 4,096 jobs)."""
    if job["status"] != "pending":
        return None
    with statement(pool) as conn:
        return _position(conn, job["priority"], job["seq"])


def _position(conn: psycopg.Connection[DictRow], priority: int, seq: int) -> int:
    row = conn.execute(Q["queue_position"], {"priority": priority, "seq": seq}).fetchone()
    return max(int(row["ahead"]), 0) if row else 0


def due_at(job: dict[str, Any]) -> datetime | None:
    """When a deferred or backing-off job may start (its future not_before), else None."""
    not_before = job.get("not_before")
    return not_before if not_before is not None and not_before > datetime.now(UTC) else None


def user_status(
    pool: ConnectionPool, user_id: str, provider: str, *, recent: int = 10
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """Return the user's connection/active-job row (None: no connection) and recent jobs."""
    params = {"user_id": user_id, "provider": provider, "limit": recent}
    # Two reads, each its own snapshot: a status page needs no more, and it saves the
    # BEGIN/COMMIT round trips on the api's busiest route.
    with statement(pool) as conn:
        row = conn.execute(Q["user_status"], params).fetchone()
        if row is None:
            return None, []
        status = row["job_status"]
        row["queue_position"] = (
            _position(conn, row["priority"], row["seq"])
            if status == "pending"
            else 0
            if status == "processing"
            else None
        )
        syncs = conn.execute(Q["recent_syncs"], params).fetchall()
    return row, syncs


def queue_totals(pool: ConnectionPool) -> dict[str, int]:
    """Jobs waiting (pending) and running (processing), over the whole ledger."""
    with statement(pool) as conn:
        row = conn.execute(Q["queue_totals"]).fetchone()
    assert row is not None  # an aggregate always answers one row
    return {"waiting": int(row["waiting"]), "processing": int(row["processing"])}


def queue_stats(pool: ConnectionPool) -> dict[str, Any]:
    """Ledger side of the queue statistics: jobs by status, pending per band, dead letters."""
    with transaction(pool) as conn:
        by_status = conn.execute(Q["jobs_by_status"]).fetchall()
        by_band = conn.execute(Q["pending_by_band"]).fetchall()
        oldest = conn.execute(
            Q["oldest_due_pending"], {"priorities": [b.priority for b in bands.BANDS]}
        ).fetchone()
        dead = conn.execute(Q["dead_letter_counts"]).fetchall()
    statuses = {s: 0 for s in ("pending", "processing", "completed", "failed", "held")}
    statuses.update({r["status"]: int(r["n"]) for r in by_status})
    pending = {b.name: {"pending": 0, "delayed": 0, "oldestSeconds": 0.0} for b in bands.BANDS}
    for r in by_band:
        pending[bands.by_priority(r["priority"]).name] = {
            "pending": int(r["n"]),
            "delayed": int(r["delayed"]),
            "oldestSeconds": round(float(r["oldest_seconds"]), 3),
        }
    letters: dict[str, dict[str, int]] = {}
    for r in dead:
        letters.setdefault(r["platform"], {})[r["category"]] = int(r["n"])
    return {
        "jobsByStatus": statuses,
        "pendingByBand": pending,
        "oldestPendingSeconds": round(float(oldest["age"]), 3) if oldest else 0.0,
        "deadLetters": {
            "total": sum(sum(c.values()) for c in letters.values()),
            "byProvider": letters,
        },
    }


def health_stats(pool: ConnectionPool) -> dict[str, Any]:
    """The seed's health figures: connections, syncs of the last 24 h, queue counts."""
    with transaction(pool) as conn:
        connections = conn.execute(Q["connection_totals"]).fetchone() or {"total": 0, "active": 0}
        syncs = conn.execute(Q["syncs_24h"]).fetchone() or {"total": 0, "failed": 0, "completed": 0}
        by_status = {r["status"]: int(r["n"]) for r in conn.execute(Q["jobs_by_status"]).fetchall()}
    total = int(syncs["total"])
    rate = round(100.0 * int(syncs["completed"]) / total, 1) if total else 100.0
    return {
        "connections": {"total": int(connections["total"]), "active": int(connections["active"])},
        "syncs24h": {
            "total": total,
            "failed": int(syncs["failed"]),
            # The seed's document writes the rate as text ("98.0%"); the number sits beside it.
            "successRate": f"{rate:.1f}%",
            "successRatePercent": rate,
        },
        "queue": {
            "waiting": by_status.get("pending", 0),
            "active": by_status.get("processing", 0),
            "completed": by_status.get("completed", 0),
        },
    }


def error_categories_24h(pool: ConnectionPool) -> dict[str, int]:
    """Failed attempts of the last 24 h per error category, every category present (0 if none).

    Counted over `sync_attempts` (each retried failure counts), the seed's troubleshooting
    query `.stats.errorCategories`; deferrals carry no category and are not counted.
    """
    counts = {c.value: 0 for c in ErrorCategory}
    with statement(pool) as conn:
        for r in conn.execute(Q["error_categories_24h"]).fetchall():
            counts[r["category"]] = int(r["n"])
    return counts


def due_jobs(pool: ConnectionPool, limit: int) -> list[dict[str, Any]]:
    """``{id, queue, message_id}`` of pending jobs whose time has come, band order then age."""
    with transaction(pool) as conn:
        return conn.execute(Q["due_jobs"], {"limit": limit}).fetchall()
