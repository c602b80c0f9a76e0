"""Sync jobs: enqueue with dedup, claim, and every way a run ends.

Each transition is one guarded UPDATE (`WHERE status = … AND lease_owner = …`), so a
duplicate delivery or a worker that lost its lease changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.rows import DictRow
from psycopg_pool import ConnectionPool

from .. import bands
from ..db import statement, transaction
from ..errors import NotFound
from . import outbox, textsafe
from .sql import queries

Q = queries("jobs")


def new_message_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Enqueued:
    job: dict[str, Any]
    deduplicated: bool
    #: True when a pending scheduled/retry job was raised to the manual band: it needs a
    #: new message on `sync.manual`.
    raised: bool

    @property
    def needs_send(self) -> bool:
        """A message is due unless the job was already sent or is held (paused connection)."""
        return (not self.deduplicated or self.raised) and self.job["status"] != "held"


def enqueue(
    pool: ConnectionPool,
    *,
    connection_id: uuid.UUID,
    sync_date: date,
    trigger: str,
    options: dict[str, Any] | None = None,
) -> Enqueued:
    """Insert a pending job, or return the connection's active job for that window.

    A manual request for a window that already has a pending lower-band job raises that
    job to the manual band instead of creating a second one.
    """
    with transaction(pool) as conn:
        return enqueue_in(
            conn,
            connection_id=connection_id,
            sync_date=sync_date,
            trigger=trigger,
            options=options,
        )


def enqueue_in(
    conn: psycopg.Connection[DictRow],
    *,
    connection_id: uuid.UUID,
    sync_date: date,
    trigger: str,
    options: dict[str, Any] | None = None,
) -> Enqueued:
    """`enqueue` inside the caller's transaction (it commits or rolls back the whole)."""
    band = bands.for_trigger(trigger)
    params = {
        "id": uuid.uuid4(),
        "connection_id": connection_id,
        "sync_date": sync_date,
        "trigger": trigger,
        "priority": band.priority,
        "queue": band.queue,
        "options": textsafe.jsonb(options or {}),
        "message_id": new_message_id(),
    }
    row = conn.execute(Q["insert"], params).fetchone()
    if row is not None:
        return Enqueued(row, deduplicated=False, raised=False)
    existing = conn.execute(
        Q["active_for_window"], {"connection_id": connection_id, "sync_date": sync_date}
    ).fetchone()
    if existing is None:
        # The connection vanished, or the active job finished between the two statements.
        if conn.execute("SELECT 1 FROM connections WHERE id = %s", (connection_id,)).fetchone():
            row = conn.execute(Q["insert"], params).fetchone()
            if row is not None:
                return Enqueued(row, deduplicated=False, raised=False)
        raise NotFound(f"connection {connection_id} not found")
    if trigger == "manual":
        raised = conn.execute(
            Q["raise_to_manual"], {"id": existing["id"], "message_id": params["message_id"]}
        ).fetchone()
        if raised is not None:
            return Enqueued(raised, deduplicated=True, raised=True)
    return Enqueued(existing, deduplicated=True, raised=False)


@dataclass(frozen=True)
class DueBatch:
    due: int
    jobs: list[tuple[uuid.UUID, str]]  # (job id, message id)
    #: The highest connection id of the batch: where the next page of `everything` starts.
    last_id: uuid.UUID | None = None


FIRST_ID = uuid.UUID(int=0)
LAST_ID = uuid.UUID(int=2**128 - 1)


def enqueue_due(
    pool: ConnectionPool,
    *,
    sync_date: date,
    limit: int,
    everything: bool = False,
    after: uuid.UUID = FIRST_ID,
    upto: uuid.UUID = LAST_ID,
) -> DueBatch:
    """Enqueue scheduled jobs for up to ``limit`` due connections, or with ``everything``
    for the next ``limit`` active connections with ``after`` < id <= ``upto``."""
    params = {
        "sync_date": sync_date,
        "limit": limit,
        "everything": everything,
        "after": after,
        "upto": upto,
    }
    with transaction(pool) as conn:
        rows = conn.execute(Q["enqueue_due"], params).fetchall()
    if not rows:
        return DueBatch(due=0, jobs=[])
    return DueBatch(
        due=rows[0]["due"],
        jobs=[(r["id"], r["message_id"]) for r in rows if r["id"]],
        last_id=rows[0]["last_id"],
    )


def claim(
    pool: ConnectionPool, job_id: uuid.UUID, *, owner: str, lease_seconds: float
) -> dict[str, Any] | None:
    with statement(pool) as conn:
        return conn.execute(
            Q["claim"], {"id": job_id, "owner": owner, "lease_seconds": lease_seconds}
        ).fetchone()


def state(pool: ConnectionPool, job_id: uuid.UUID) -> dict[str, Any] | None:
    with statement(pool) as conn:
        return conn.execute(Q["state"], {"id": job_id}).fetchone()


def get(pool: ConnectionPool, job_id: uuid.UUID) -> dict[str, Any]:
    with statement(pool) as conn:
        row = conn.execute(Q["get"], {"id": job_id}).fetchone()
    if row is None:
        raise NotFound(f"job {job_id} not found")
    return row


def attempts(pool: ConnectionPool, job_id: uuid.UUID) -> list[dict[str, Any]]:
    with transaction(pool) as conn:
        return conn.execute(Q["attempts_for_job"], {"id": job_id}).fetchall()


def renew_leases(
    pool: ConnectionPool, job_ids: list[uuid.UUID], *, owner: str, lease_seconds: float
) -> set[uuid.UUID]:
    """Extend the leases of running jobs; return the ids still held."""
    with statement(pool) as conn:
        rows = conn.execute(
            Q["renew_leases"], {"ids": job_ids, "owner": owner, "lease_seconds": lease_seconds}
        ).fetchall()
    return {r["id"] for r in rows}


@dataclass(frozen=True)
class AttemptEnd:
    """How one run of a job ended, for the attempt row."""

    owner: str
    started_at: datetime
    outcome: str
    records: int
    duration_ms: int
    category: str | None = None
    #: Stored as given to `textsafe.error_text`: secrets masked, NUL and lone surrogates gone.
    error: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "error", textsafe.error_text(self.error))


def _attempt(
    conn: psycopg.Connection[DictRow], job: dict[str, Any], end: AttemptEnd, number: int
) -> None:
    conn.execute(
        Q["insert_attempt"],
        {
            "job_id": job["id"],
            "attempt": number,
            "worker": end.owner,
            "started_at": end.started_at,
            "outcome": end.outcome,
            "category": end.category,
            "error": end.error,
            "records": end.records,
            "duration_ms": end.duration_ms,
        },
    )


def complete(pool: ConnectionPool, job_id: uuid.UUID, end: AttemptEnd) -> dict[str, Any] | None:
    """Mark the job completed (with its attempt row); None when this worker no longer held it.

    Then, as a statement of its own, the connection's last sync time: no transaction
    here holds the job row while it waits for the connection row (see `fail`).
    """
    with statement(pool) as conn:
        row = conn.execute(
            Q["complete"],
            {
                "id": job_id,
                "owner": end.owner,
                "started_at": end.started_at,
                "records": end.records,
                "duration_ms": end.duration_ms,
            },
        ).fetchone()
        if row is not None:
            conn.execute(Q["touch_connection"], {"id": row["connection_id"]})
        return row


def back_to_pending(
    pool: ConnectionPool,
    job_id: uuid.UUID,
    end: AttemptEnd,
    *,
    not_before: datetime | None,
    message_id: str,
    delay_seconds: float | None = None,
    throttled: bool = False,
) -> dict[str, Any] | None:
    """Return the job to pending (deferral or shutdown) without counting an attempt.

    It is due at ``not_before``, or ``delay_seconds`` from the ledger's now() (the one
    clock of every host), or at once when both are None. ``throttled``: the deferral is
    a provider's throttle; it adds one to ``throttles`` and sets ``throttled_since`` if
    unset (migration 0005)."""
    with transaction(pool) as conn:
        row = conn.execute(
            Q["back_to_pending"],
            {
                "id": job_id,
                "owner": end.owner,
                "not_before": not_before,
                "delay_seconds": delay_seconds,
                "deferred": 1 if end.outcome == "deferred" else 0,
                "throttled": 1 if throttled else 0,
                "records": end.records,
                "message_id": message_id,
            },
        ).fetchone()
        if row is not None:
            _attempt(conn, row, end, row["attempts"] + 1)
        return row


def retry(
    pool: ConnectionPool,
    job_id: uuid.UUID,
    end: AttemptEnd,
    *,
    not_before: datetime | None = None,
    message_id: str,
    delay_seconds: float = 0.0,
) -> dict[str, Any] | None:
    """Count the failed attempt and move the job to the retry band until ``not_before``, or
    ``delay_seconds`` from the ledger's now() (the one clock of every host)."""
    with transaction(pool) as conn:
        row = conn.execute(
            Q["retry"],
            {
                "id": job_id,
                "owner": end.owner,
                "error": end.error,
                "category": end.category,
                "not_before": not_before,
                "delay_seconds": delay_seconds,
                "records": end.records,
                "message_id": message_id,
            },
        ).fetchone()
        if row is not None:
            _attempt(conn, row, end, row["attempts"])
        return row


def hold_running(pool: ConnectionPool, job_id: uuid.UUID, end: AttemptEnd) -> dict[str, Any] | None:
    """A running job whose connection was paused: held (attempts untouched) until resumed."""
    with transaction(pool) as conn:
        row = conn.execute(
            Q["hold_running"], {"id": job_id, "owner": end.owner, "records": end.records}
        ).fetchone()
        if row is not None:
            _attempt(conn, row, end, row["attempts"] + 1)
        return row


@dataclass(frozen=True)
class Released:
    job_id: uuid.UUID
    queue: str
    message_id: str
    delay_seconds: float


def release_held(pool: ConnectionPool, connection_id: uuid.UUID) -> list[Released]:
    """Resume: the connection's held jobs become pending; send each the message returned."""
    with statement(pool) as conn:
        rows = conn.execute(
            Q["release_for_connection"], {"connection_id": connection_id}
        ).fetchall()
    return [Released(r["id"], r["queue"], r["message_id"], float(r["delay_seconds"])) for r in rows]


def fail(
    pool: ConnectionPool,
    job_id: uuid.UUID,
    end: AttemptEnd,
    *,
    owner: str | None,
    attempted: bool = True,
    needs_reauth: bool = False,
) -> dict[str, Any] | None:
    """Fail the job and dead-letter it with its category, error, attempts and payload.

    Lock order, as everywhere: the connection row before the job row (enqueue-due holds
    connection rows while it inserts jobs), so ``needs_reauth`` marks the connection first.
    """
    with transaction(pool) as conn:
        reauth = needs_reauth and bool(
            conn.execute(
                "UPDATE connections SET status = 'needs_reauth', status_reason = %s,"
                " updated_at = now() WHERE status = 'active'"
                " AND id = (SELECT connection_id FROM sync_jobs WHERE id = %s) RETURNING id",
                (end.error, job_id),
            ).fetchall()
        )
        row = conn.execute(
            Q["fail"],
            {
                "id": job_id,
                "owner": owner,
                "attempted": 1 if attempted else 0,
                "error": end.error,
                "category": end.category,
                "records": end.records,
                "duration_ms": end.duration_ms,
            },
        ).fetchone()
        if row is None:
            if reauth:  # not ours to fail: the connection's mark goes too
                conn.execute(
                    "UPDATE connections SET status = 'active', status_reason = NULL"
                    " WHERE id = (SELECT connection_id FROM sync_jobs WHERE id = %s)",
                    (job_id,),
                )
            return None
        _attempt(conn, row, end, max(row["attempts"], 1))
        letter_id = uuid.uuid4()
        conn.execute(
            Q["insert_dead_letter"],
            {
                "id": letter_id,
                "job_id": row["id"],
                "user_id": row["user_id"],
                "platform": row["platform"],
                "connection_id": row["connection_id"],
                "category": end.category,
                "error": end.error or "",
                "attempts": row["attempts"],
                "payload": textsafe.jsonb(dead_letter_payload(row)),
            },
        )
        outbox.failed_in(conn, row, end.category, end.error, letter_id, reauth=reauth)
        return row


def dead_letter_payload(job: dict[str, Any]) -> dict[str, Any]:
    """What a replay needs to recreate the job."""
    return {
        "jobId": str(job["id"]),
        "connectionId": str(job["connection_id"]),
        "userId": job["user_id"],
        "provider": job["platform"],
        "syncDate": job["sync_date"].isoformat(),
        "trigger": job["trigger"],
        "options": job.get("options") or {},
    }
