"""Dead letters: failed jobs kept with their payload, listable, replayable and purgeable."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from psycopg_pool import ConnectionPool

from ..db import transaction
from ..errors import NotFound
from . import jobs, textsafe
from .sql import queries

Q = queries("deadletters")


@dataclass(frozen=True)
class Filter:
    provider: str | None = None
    category: str | None = None
    user_id: str | None = None

    def params(self) -> dict[str, Any]:
        return {"provider": self.provider, "category": self.category, "user_id": self.user_id}


def page(
    pool: ConnectionPool,
    where: Filter,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None = None,
    include_replayed: bool = False,
) -> list[dict[str, Any]]:
    """Up to ``limit`` letters, newest first, strictly after the ``after`` keyset position."""
    params = {
        **where.params(),
        "limit": limit,
        "include_replayed": include_replayed,
        "after_created": after[0] if after else None,
        "after_id": after[1] if after else None,
    }
    with transaction(pool) as conn:
        return conn.execute(Q["page"], params).fetchall()


def get(pool: ConnectionPool, letter_id: uuid.UUID) -> dict[str, Any]:
    with transaction(pool) as conn:
        row = conn.execute(Q["get"], {"id": letter_id}).fetchone()
    if row is None:
        raise NotFound(f"dead letter {letter_id} not found")
    return row


def delete(pool: ConnectionPool, letter_id: uuid.UUID) -> None:
    with transaction(pool) as conn:
        if conn.execute(Q["delete"], {"id": letter_id}).fetchone() is None:
            raise NotFound(f"dead letter {letter_id} not found")


def purge(pool: ConnectionPool, where: Filter, *, replayed_only: bool = False) -> int:
    """Delete every letter matching the filter; return how many."""
    with transaction(pool) as conn:
        cur = conn.execute(Q["purge"], {**where.params(), "replayed_only": replayed_only})
        return cur.rowcount


def select_for_replay(
    pool: ConnectionPool,
    where: Filter,
    *,
    ids: list[uuid.UUID] | None,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> list[tuple[datetime, uuid.UUID]]:
    """(created_at, id) of unreplayed letters matching ``ids`` (when given) and the filter,
    oldest first, strictly after ``after``. Without ``ids``, letters marked unreplayable are
    left out unless their account has been connected again."""
    params = {
        **where.params(),
        "ids": ids,
        "limit": limit,
        "after_created": after[0] if after else None,
        "after_id": after[1] if after else None,
    }
    with transaction(pool) as conn:
        rows = conn.execute(Q["select_for_replay"], params).fetchall()
    return [(r["created_at"], r["id"]) for r in rows]


def mark_unreplayable(pool: ConnectionPool, letter_id: uuid.UUID, error: str) -> None:
    """Record why the letter could not be replayed (filter replays then walk past it)."""
    with transaction(pool) as conn:
        conn.execute(Q["mark_unreplayable"], {"id": letter_id, "error": textsafe.error_text(error)})


@dataclass(frozen=True)
class Replayed:
    letter: dict[str, Any]
    enqueued: jobs.Enqueued


def replay(pool: ConnectionPool, letter_id: uuid.UUID) -> Replayed | None:
    """Re-enqueue one letter as a `retry` job; None when it was already replayed.

    The job goes to the letter's connection, or, when that was deleted, to the connection
    the same user has since made for the same provider and account (a reconnect).

    One transaction marks the letter, creates the job and links the two, so a failure
    part-way (PostgreSQL gone, connection deleted: `NotFound`) leaves the letter as it was.
    The mark's row lock makes a concurrent replay of the same letter wait, then skip it.
    """
    with transaction(pool) as conn:
        letter = conn.execute(Q["claim_replay"], {"id": letter_id}).fetchone()
        if letter is None:
            return None
        payload = letter["payload"]
        old_id = uuid.UUID(payload.get("connectionId") or str(letter["connection_id"]))
        current = conn.execute(
            Q["current_connection"],
            {
                "connection_id": old_id,
                "user_id": letter["user_id"],
                "provider": letter["platform"],
                "account_id": payload.get("accountId"),
            },
        ).fetchone()
        if current is None:
            raise NotFound(
                f"connection {old_id} was deleted and the user has not connected"
                f" {letter['platform']} account {payload.get('accountId')!r} again"
            )
        enqueued = jobs.enqueue_in(
            conn,
            connection_id=current["id"],
            sync_date=date.fromisoformat(payload["syncDate"]),
            trigger="retry",
            options=payload.get("options") or {},
        )
        row = conn.execute(
            Q["set_replay_job"], {"id": letter_id, "job_id": enqueued.job["id"]}
        ).fetchone()
    return Replayed(row or letter, enqueued)
