"""The scheduler's operations, shared by its CLI and the api's cron endpoints.

- `enqueue_due`: scheduled jobs for every due connection, in batches (one INSERT … SELECT
  and one Redis pipeline per batch).
- `reconcile`: the ledger is the source of truth; re-send pending jobs whose message is
  gone (send failed, Redis flushed) and recover jobs whose worker died (lease expired),
  dead-lettering a job that keeps killing workers.
- `cleanup`: retention of finished jobs (dead letters stay until purged).
"""

from __future__ import annotations

import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from psycopg_pool import ConnectionPool

from .categories import ErrorCategory
from .db import transaction
from .dispatch import Dispatcher, Send
from .ledger import jobs
from .ledger.sql import queries

Q = queries("jobs")
BATCH = 5000


def today_utc() -> date:
    return datetime.now(UTC).date()


@dataclass
class EnqueueReport:
    enqueued: int = 0
    skipped: int = 0


def enqueue_due(
    pool: ConnectionPool,
    dispatcher: Dispatcher,
    *,
    sync_date: date | None = None,
    everything: bool = False,
    batch: int = BATCH,
) -> EnqueueReport:
    """Enqueue scheduled jobs for due connections (all active ones with ``everything``).

    ``skipped`` counts connections that already had an active job for the window. If a
    send fails the jobs stay pending in the ledger and `reconcile` sends them.
    """
    report = EnqueueReport()
    day = sync_date or today_utc()
    # Batch n's messages go out while batch n+1's rows are written: the ledger and Redis
    # work overlap, and a batch is only sent once its transaction has committed.
    with ThreadPoolExecutor(1, thread_name_prefix="enqueue-send") as sender:
        sending: Future[int] | None = None
        while True:
            found = jobs.enqueue_due(pool, sync_date=day, limit=batch, everything=everything)
            report.enqueued += len(found.jobs)
            report.skipped += found.due - len(found.jobs)
            if sending is not None:
                sending.result()
            sends = [Send(job_id, "sync.scheduled", mid) for job_id, mid in found.jobs]
            sending = sender.submit(dispatcher.send_many, sends)
            # With `everything`, each connection's due time moves forward, so a second
            # pass would pick the same rows again: one pass over all of them is the run.
            if found.due < batch or everything:
                sending.result()
                return report


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
    """Put jobs whose worker died (lease expired) back to pending, or dead-letter them.

    Workers run this every few seconds too, so recovery does not wait for the CronJob;
    every transition is guarded, so concurrent runs recover each job once.
    """
    report = report if report is not None else ReconcileReport()
    with transaction(pool) as conn:
        expired = conn.execute(Q["expired_leases"], {"limit": batch}).fetchall()
    now = datetime.now(UTC)
    for row in expired:
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
                Q["recover_expired"], {"id": row["id"], "message_id": message_id}
            ).fetchone()
        if recovered is not None:
            dispatcher.send(recovered["id"], recovered["queue"], message_id)
            report.recovered += 1
    return report


def cleanup(pool: ConnectionPool, *, retention_days: float, batch: int = BATCH) -> int:
    """Delete completed and failed jobs older than the retention; return how many."""
    deleted = 0
    while True:
        with transaction(pool) as conn:
            cur = conn.execute(
                Q["cleanup"], {"retention_seconds": retention_days * 86400, "limit": batch}
            )
            deleted += cur.rowcount
        if cur.rowcount < batch:
            return deleted
