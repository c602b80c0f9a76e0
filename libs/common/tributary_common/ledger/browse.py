"""Read-only ledger views for the operator console: job and connection search, overview.

Every function reads; changes go through the modules that own them (`jobs`, `connections`,
`deadletters`, `replay`), so the console and the api cannot drift apart.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from psycopg_pool import ConnectionPool

from .. import bands
from ..db import statement, transaction
from .deadletters import Filter
from .sql import queries

Q = queries("browse")


@dataclass(frozen=True)
class JobFilter:
    """Job search filters; None means any. ``day`` is the UTC day the job was created."""

    status: str | None = None
    provider: str | None = None
    user_id: str | None = None
    trigger: str | None = None
    day: date | None = None


def jobs(
    pool: ConnectionPool,
    where: JobFilter,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> list[dict[str, Any]]:
    """Up to ``limit`` jobs matching ``where``, newest first, strictly after ``after``."""
    params = {
        "status": where.status,
        "provider": where.provider,
        "user_id": where.user_id,
        "trigger": where.trigger,
        "day": where.day,
        "after_created": after[0] if after else None,
        "after_id": after[1] if after else None,
        "limit": limit,
    }
    with statement(pool) as conn:
        return conn.execute(Q["job_search"], params).fetchall()


def connections(
    pool: ConnectionPool,
    search: str | None,
    *,
    status: str | None = None,
    limit: int,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Connections whose user or account id starts with ``search`` (case-insensitive)."""
    pattern = None
    if search:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"{escaped}%"
    params = {"pattern": pattern, "status": status, "limit": limit, "offset": offset}
    with statement(pool) as conn:
        return conn.execute(Q["connection_search"], params).fetchall()


def overview(pool: ConnectionPool) -> dict[str, Any]:
    """The console's overview figures from the ledger, one snapshot.

    Shape: ``{"bands": {name: {"waiting", "dueDelayed", "notYetDue", "running"}},
    "finished": {"completed1h", "failed1h", "completed24h", "failed24h"},
    "successRate24h": percent or None (no finished job), "oldestPendingSeconds": float}``.
    """
    with transaction(pool) as conn:
        by_band = conn.execute(Q["band_counts"]).fetchall()
        done = conn.execute(Q["finished_counts"]).fetchone()
        oldest = conn.execute(Q["oldest_pending"]).fetchone()
    counts = {
        b.name: {"waiting": 0, "dueDelayed": 0, "notYetDue": 0, "running": 0} for b in bands.BANDS
    }
    for r in by_band:
        counts[bands.by_priority(r["priority"]).name] = {
            "waiting": int(r["waiting"]),
            "dueDelayed": int(r["due_delayed"]),
            "notYetDue": int(r["not_yet_due"]),
            "running": int(r["running"]),
        }
    assert done is not None  # an aggregate always answers one row
    finished = {
        "completed1h": int(done["completed_1h"]),
        "failed1h": int(done["failed_1h"]),
        "completed24h": int(done["completed_24h"]),
        "failed24h": int(done["failed_24h"]),
    }
    total = finished["completed24h"] + finished["failed24h"]
    return {
        "bands": counts,
        "finished": finished,
        "successRate24h": round(100.0 * finished["completed24h"] / total, 1) if total else None,
        "oldestPendingSeconds": round(float(oldest["age"]), 1) if oldest else 0.0,
    }


def replay_jobs(pool: ConnectionPool, letter_ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    """The jobs replay created for these letters, each row with its ``letter_id``."""
    if not letter_ids:
        return []
    with statement(pool) as conn:
        return conn.execute(Q["replay_jobs"], {"ids": letter_ids}).fetchall()


def letters_for_job(pool: ConnectionPool, job_id: uuid.UUID) -> list[dict[str, Any]]:
    """The dead letters a job left (replayed ones included), oldest first."""
    with statement(pool) as conn:
        return conn.execute(Q["letters_for_job"], {"job_id": job_id}).fetchall()


def count_letters(pool: ConnectionPool, where: Filter) -> int:
    """How many letters (replayed ones included) match ``where``: what a purge deletes."""
    with statement(pool) as conn:
        row = conn.execute(Q["count_letters"], where.params()).fetchone()
    return int(row["n"]) if row else 0
