"""The scheduler's operations, shared by its CLI and the api's cron endpoints.

- `enqueue_due`: scheduled jobs for every due connection, in batches (one INSERT … SELECT
  and one Redis pipeline per batch), two batches at a time.
- `reconcile`: the ledger is the source of truth; re-send pending jobs whose message is
  gone (send failed, Redis flushed) and recover jobs whose worker died (lease expired and
  the holder's liveness key gone), dead-lettering a job that keeps killing workers.
- `cleanup`: retention of finished jobs (not those of unreplayed dead letters) and the
  dead letters' own, longer, retention.
"""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import redis
from psycopg_pool import ConnectionPool

from .categories import ErrorCategory
from .db import transaction
from .dispatch import Dispatcher, Send
from .errors import LedgerConflict
from .ledger import jobs
from .ledger.sql import queries
from .liveness import Liveness
from .logs import event

log = logging.getLogger(__name__)

Q = queries("jobs")
BATCH = 5000
#: Batches of `enqueue_due` written at once (measured on 2 cores: 1 lane ~21k rows/s,
#: 2 lanes ~33k rows/s of ledger work).
LANES = 2


def today_utc() -> date:
    return datetime.now(UTC).date()


#: Times one batch is tried again after a deadlock or lock timeout.
CONFLICT_RETRIES = 3


@dataclass
class EnqueueReport:
    """``enqueued`` jobs were written to the ledger; of those, ``dispatched`` were sent to
    Redis and ``left_for_reconcile`` could not be (Redis down): they are pending in the
    ledger and `reconcile` sends them. ``skipped``: connections that had an active job."""

    enqueued: int = 0
    skipped: int = 0
    dispatched: int = 0
    left_for_reconcile: int = 0


def enqueue_due(
    pool: ConnectionPool,
    dispatcher: Dispatcher,
    *,
    sync_date: date | None = None,
    everything: bool = False,
    batch: int = BATCH,
    lanes: int = LANES,
) -> EnqueueReport:
    """Enqueue scheduled jobs for due connections (all active ones with ``everything``).

    ``skipped`` counts connections that already had an active job for the window. If a
    send fails (Redis down) the jobs stay pending in the ledger, counted in
    ``left_for_reconcile``, and the run goes on: `reconcile` sends them later. Raises
    `LedgerUnavailable`, or `LedgerConflict` when a batch kept conflicting.

    ``lanes`` batches are written at once, each on its own PostgreSQL connection, and a
    batch's messages are sent once its transaction has committed; so one lane's Redis
    send overlaps another's insert. Due connections are shared out by SKIP LOCKED; with
    ``everything`` each lane pages through its own slice of the id space.
    """
    day = sync_date or today_utc()
    bounds = _id_bounds(lanes)
    with ThreadPoolExecutor(lanes, thread_name_prefix="enqueue-due") as executor:
        futures = [
            executor.submit(
                _lane, pool, dispatcher, day, batch, everything, bounds[i], bounds[i + 1]
            )
            for i in range(lanes)
        ]
        reports = [f.result() for f in futures]
    return EnqueueReport(
        enqueued=sum(r.enqueued for r in reports),
        skipped=sum(r.skipped for r in reports),
        dispatched=sum(r.dispatched for r in reports),
        left_for_reconcile=sum(r.left_for_reconcile for r in reports),
    )


def enqueue_summary(report: EnqueueReport) -> dict[str, int]:
    """The report as the CLI prints it and `/api/cron/sync-all` answers it."""
    return {
        "enqueued": report.enqueued,
        "skipped": report.skipped,
        "dispatched": report.dispatched,
        "leftForReconcile": report.left_for_reconcile,
    }


def _id_bounds(lanes: int) -> list[uuid.UUID]:
    """``lanes`` + 1 ids cutting the uuid space into equal slices (after, upto]."""
    top = 2**128 - 1
    return [uuid.UUID(int=top * i // lanes) for i in range(lanes + 1)]


def _lane(
    pool: ConnectionPool,
    dispatcher: Dispatcher,
    day: date,
    batch: int,
    everything: bool,
    after: uuid.UUID,
    upto: uuid.UUID,
) -> EnqueueReport:
    report = EnqueueReport()
    redis_down = False
    while True:
        found = _due_batch(pool, day, batch, everything, after, upto)
        report.enqueued += len(found.jobs)
        report.skipped += found.due - len(found.jobs)
        if found.jobs and not redis_down:
            try:
                dispatcher.send_many(
                    Send(job_id, "sync.scheduled", mid) for job_id, mid in found.jobs
                )
                report.dispatched += len(found.jobs)
            except redis.RedisError as exc:
                # The jobs are in the ledger: reconcile sends them. Later batches are not
                # tried against a Redis that just failed.
                redis_down = True
                event(log, "enqueue_due.send_failed", logging.WARNING, error=type(exc).__name__)
        if redis_down:
            report.left_for_reconcile += len(found.jobs)
        if found.due < batch or found.last_id is None:
            return report
        after = found.last_id


def _due_batch(
    pool: ConnectionPool,
    day: date,
    batch: int,
    everything: bool,
    after: uuid.UUID,
    upto: uuid.UUID,
) -> jobs.DueBatch:
    """One batch, tried again after a deadlock or lock timeout (its transaction rolled back)."""
    for attempt in range(CONFLICT_RETRIES + 1):
        try:
            return jobs.enqueue_due(
                pool, sync_date=day, limit=batch, everything=everything, after=after, upto=upto
            )
        except LedgerConflict:
            if attempt == CONFLICT_RETRIES:
                raise
            event(log, "enqueue_due.conflict", logging.WARNING, attempt=attempt + 1)
    raise AssertionError("unreachable")


@dataclass
class ReconcileReport:
    resent: int = 0
    recovered: int = 0
    dead_lettered: int = 0
    checked: int = 0
    resent_ids: list[uuid.UUID] = field(default_factory=list)


def reconcile(
    pool: ConnectionPool,
    dispatcher: Dispatcher,
    *,
    grace_seconds: float,
    crash_limit: int,
    batch: int = BATCH,
) -> ReconcileReport:
    """Recover dead workers' jobs, then re-send pending jobs whose message is gone.

    Raises `redis.RedisError` when Redis is down (the command could not do its job) and
    `LedgerUnavailable` when PostgreSQL is.
    """
    dispatcher.client.ping()
    report = ReconcileReport()
    recover_expired(pool, dispatcher, crash_limit=crash_limit, batch=batch, report=report)
    _resend_lost(pool, dispatcher, grace_seconds, batch, report)
    return report


def _resend_lost(
    pool: ConnectionPool,
    dispatcher: Dispatcher,
    grace_seconds: float,
    batch: int,
    report: ReconcileReport,
) -> None:
    after = uuid.UUID(int=0)
    while True:
        with transaction(pool) as conn:
            rows = conn.execute(
                Q["pending_page"], {"after": after, "grace": grace_seconds, "limit": batch}
            ).fetchall()
        if not rows:
            return
        after = rows[-1]["id"]
        report.checked += len(rows)
        live = dispatcher.live([(r["queue"], r["message_id"] or "") for r in rows])
        lost = [r for r, alive in zip(rows, live, strict=True) if not alive]
        if lost:
            sends = [
                Send(r["id"], r["queue"], jobs.new_message_id(), float(r["delay_seconds"]))
                for r in lost
            ]
            with transaction(pool) as conn:
                conn.execute(
                    Q["set_message_ids"],
                    {
                        "ids": [s.job_id for s in sends],
                        "message_ids": [s.message_id for s in sends],
                    },
                )
            dispatcher.send_many(sends)
            report.resent += len(sends)
            report.resent_ids.extend(s.job_id for s in sends)
        if len(rows) < batch:
            return


def recover_expired(
    pool: ConnectionPool,
    dispatcher: Dispatcher,
    *,
    crash_limit: int,
    batch: int = BATCH,
    report: ReconcileReport | None = None,
) -> ReconcileReport:
    """Put jobs whose worker died back to pending (with a `crashed` attempt), or dead-letter
    them once they reached ``crash_limit`` crashes.

    A job counts as its worker's crash only when its lease expired *and* its holder's
    liveness key is gone (`Liveness`): a holder that is alive but cut off from PostgreSQL
    keeps its job and writes its ending once the ledger answers.

    Workers run this every few seconds too, so recovery does not wait for the CronJob;
    every transition is guarded, so concurrent runs recover each job once.
    """
    report = report if report is not None else ReconcileReport()
    with transaction(pool) as conn:
        expired = conn.execute(Q["expired_leases"], {"limit": batch}).fetchall()
    if not expired:
        return report
    alive = Liveness(dispatcher.client, dispatcher.namespace).alive(
        r["lease_owner"] for r in expired if r["lease_owner"]
    )
    now = datetime.now(UTC)
    for row in expired:
        if row["lease_owner"] in alive:
            continue
        if row["crash_count"] + 1 >= crash_limit:
            end = jobs.AttemptEnd(
                owner="reconcile",
                started_at=now,
                outcome="failed",
                records=0,
                duration_ms=0,
                category=ErrorCategory.UNKNOWN.value,
                error=f"worker died {row['crash_count'] + 1} times while running this job",
            )
            if jobs.fail(pool, row["id"], end, owner=None, attempted=False) is not None:
                report.dead_lettered += 1
            continue
        message_id = jobs.new_message_id()
        with transaction(pool) as conn:
            recovered = conn.execute(
                Q["recover_expired"],
                {"id": row["id"], "message_id": message_id, "owner": row["lease_owner"]},
            ).fetchone()
        if recovered is not None:
            dispatcher.send(recovered["id"], recovered["queue"], message_id)
            report.recovered += 1
    return report


def cleanup(
    pool: ConnectionPool,
    *,
    retention_days: float,
    dead_letter_retention_days: float = 30,
    batch: int = BATCH,
) -> int:
    """Delete dead letters older than their retention, then completed and failed jobs older
    than theirs, except jobs an unreplayed dead letter points at; return how many jobs."""
    _delete_batches(pool, "cleanup_dead_letters", dead_letter_retention_days, batch)
    deleted = _delete_batches(pool, "cleanup", retention_days, batch)
    with transaction(pool) as conn:
        conn.execute(Q["compact_job_counts"])
        conn.execute(Q["drop_zero_job_counts"])
    return deleted


def _delete_batches(pool: ConnectionPool, query: str, days: float, batch: int) -> int:
    deleted = 0
    while True:
        with transaction(pool) as conn:
            cur = conn.execute(Q[query], {"retention_seconds": days * 86400, "limit": batch})
            deleted += cur.rowcount
        if cur.rowcount < batch:
            return deleted
