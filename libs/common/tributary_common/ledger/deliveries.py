"""Inbound webhook deliveries: record each once and enqueue one debounced sync per
connection it concerns, in one transaction.

The debounce is the ledger's own dedup: the first delivery for a connection inserts a
`sync.webhook` job due ``debounce_seconds`` later; every delivery until that job is
claimed finds it pending and adds nothing, so a burst becomes one sync.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from psycopg_pool import ConnectionPool

from ..db import statement, transaction
from ..dispatch import Send
from .sql import queries

Q = queries("deliveries")


@dataclass(frozen=True)
class Delivery:
    """What a verified delivery says: its id, event name and the accounts it concerns."""

    provider: str
    delivery_id: str
    event: str
    #: (connection provider, provider-side account id) pairs; a pair may match nothing.
    accounts: tuple[tuple[str, str], ...] = ()
    #: False for events that ask for no sync (GitHub `ping`).
    wants_sync: bool = True


@dataclass(frozen=True)
class Recorded:
    #: enqueued, unmatched, ignored — or duplicate (seen before; nothing done).
    outcome: str
    connection_ids: list[uuid.UUID] = field(default_factory=list)
    #: Messages to send after the commit: new jobs only (a pending job already has one).
    sends: list[Send] = field(default_factory=list)


def record(
    pool: ConnectionPool, delivery: Delivery, *, sync_date: date, debounce_seconds: float
) -> Recorded:
    """Record ``delivery`` (or count it as a duplicate) and enqueue its syncs."""
    with transaction(pool) as conn:
        row = conn.execute(
            Q["record"],
            {
                "provider": delivery.provider,
                "delivery_id": delivery.delivery_id,
                "event": delivery.event[:100],
            },
        ).fetchone()
        assert row is not None
        if not row["inserted"]:
            return Recorded("duplicate")
        if not delivery.wants_sync:
            return Recorded("ignored")
        matched = conn.execute(
            Q["enqueue_for_accounts"],
            {
                "providers": [p for p, _ in delivery.accounts],
                "accounts": [a for _, a in delivery.accounts],
                "sync_date": sync_date,
                "debounce_seconds": debounce_seconds,
            },
        ).fetchall()
        connection_ids = [m["connection_id"] for m in matched]
        sends = [
            Send(m["job_id"], m["queue"], m["message_id"], debounce_seconds)
            for m in matched
            if m["job_id"] is not None
        ]
        outcome = "enqueued" if matched else "unmatched"
        conn.execute(
            Q["finish"],
            {
                "id": row["id"],
                "outcome": outcome,
                "connection_ids": connection_ids,
                "job_ids": [s.job_id for s in sends],
            },
        )
    return Recorded(outcome, connection_ids, sends)


def recent(
    pool: ConnectionPool, *, provider: str | None, limit: int, before: int | None = None
) -> list[dict[str, Any]]:
    """Newest deliveries first (keyset on ``before``, the last id of the previous page)."""
    with statement(pool) as conn:
        return conn.execute(
            Q["list"], {"provider": provider, "limit": limit, "before": before}
        ).fetchall()
