"""The events outbox: rows written in the transaction that ends a job, sent by the
worker's `events.Sender`, visible and replayable through the api.

Each row is one (event, endpoint); its id is the Standard Webhooks ``webhook-id``, the
same on every retry and replay, so a receiver can drop a repeat.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from ..db import statement, transaction
from ..errors import NotFound
from .sql import queries

Q = queries("outbox")

EVENT_TYPES = ("sync.completed", "sync.failed", "sync.dead_lettered", "connection.needs_reauth")


def insert_in(conn: psycopg.Connection[DictRow], event_type: str, data: dict[str, Any]) -> None:
    """Queue ``event_type`` with ``data`` for every subscribed endpoint, inside the
    caller's transaction (so the event exists exactly when the ending does)."""
    conn.execute(Q["insert_event"], {"type": event_type, "data": Jsonb(data)})


def claim(pool: ConnectionPool, *, limit: int, lease_seconds: float) -> list[dict[str, Any]]:
    with transaction(pool) as conn:
        return conn.execute(Q["claim"], {"limit": limit, "lease_seconds": lease_seconds}).fetchall()


def delivered(pool: ConnectionPool, delivery_id: str, status: int) -> None:
    with statement(pool) as conn:
        conn.execute(Q["delivered"], {"id": delivery_id, "status": status})


def attempt_failed(
    pool: ConnectionPool,
    delivery_id: str,
    *,
    status: int | None,
    error: str,
    retry_in: float | None,
    disable_after_seconds: float,
) -> bool:
    """Record a failed attempt; True when it disabled the endpoint."""
    with statement(pool) as conn:
        rows = conn.execute(
            Q["attempt_failed"],
            {
                "id": delivery_id,
                "status": status,
                "error": error[:500],
                "retry_in": retry_in,
                "disable_after": disable_after_seconds,
            },
        ).fetchall()
    return any(r["disable"] for r in rows)


def for_endpoint(
    pool: ConnectionPool, endpoint_id: uuid.UUID, *, status: str | None, limit: int
) -> list[dict[str, Any]]:
    with statement(pool) as conn:
        return conn.execute(
            Q["list_for_endpoint"], {"endpoint_id": endpoint_id, "status": status, "limit": limit}
        ).fetchall()


def replay(pool: ConnectionPool, endpoint_id: uuid.UUID, delivery_id: str) -> dict[str, Any]:
    """Queue a delivery to be sent again now; raise `NotFound` if the endpoint has none such."""
    with statement(pool) as conn:
        row = conn.execute(Q["replay"], {"id": delivery_id, "endpoint_id": endpoint_id}).fetchone()
    if row is None:
        raise NotFound(f"delivery {delivery_id} not found")
    return row


def failed_in(
    conn: psycopg.Connection[DictRow],
    job: dict[str, Any],
    category: str | None,
    error: str | None,
    dead_letter_id: uuid.UUID,
    *,
    reauth: bool,
) -> None:
    """The events of a job's terminal failure, in the transaction that records it:
    ``sync.failed``, ``sync.dead_lettered`` and, when the failure moved the connection
    to re-authorisation, ``connection.needs_reauth``."""
    data = {
        "jobId": str(job["id"]),
        "userId": job["user_id"],
        "provider": job["platform"],
        "connectionId": str(job["connection_id"]),
        "syncDate": job["sync_date"].isoformat(),
        "trigger": job["trigger"],
        "attempts": job["attempts"],
        "errorCategory": category,
        "error": error,
    }
    insert_in(conn, "sync.failed", data)
    insert_in(conn, "sync.dead_lettered", {**data, "deadLetterId": str(dead_letter_id)})
    if reauth:
        insert_in(
            conn,
            "connection.needs_reauth",
            {
                "connectionId": str(job["connection_id"]),
                "userId": job["user_id"],
                "provider": job["platform"],
                "reason": error,
            },
        )
