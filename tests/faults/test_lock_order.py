"""Job completion against enqueue-due on one connection, step by step on two sessions,
and how a deadlock is reported (a conflict to retry, never "PostgreSQL unavailable")."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import psycopg
import pytest
from tributary_common.db import transaction
from tributary_common.errors import LedgerConflict, LedgerUnavailable
from tributary_common.ledger import jobs

from tests.e2e.stack import Stack
from tests.support.simulator import SimAdmin

pytestmark = pytest.mark.timeout(120)


def test_completion_and_enqueue_due_on_one_connection_never_deadlock(
    stack: Stack, sim: SimAdmin
) -> None:
    # Given a job being processed on a connection
    conn = stack.connect("github", "order-acct")
    job = stack.enqueue(conn["id"], sim.today, send=False).job
    claimed = jobs.claim(stack.pool, job["id"], owner="w1", lease_seconds=30)
    assert claimed is not None
    end = jobs.AttemptEnd(
        owner="w1", started_at=datetime.now(UTC), outcome="completed", records=0, duration_ms=5
    )

    # When enqueue-due holds the connection row (as its batch does) while the job
    # completes, and then inserts the connection's next job
    errors: list[BaseException] = []
    with psycopg.connect(stack.database_url, autocommit=True) as scheduler:
        scheduler.execute("SET deadlock_timeout = '200ms'")
        with scheduler.transaction():
            scheduler.execute("SELECT 1 FROM connections WHERE id = %s FOR UPDATE", (conn["id"],))

            def complete() -> None:
                try:
                    jobs.complete(stack.pool, job["id"], end)
                except BaseException as exc:  # recorded for the assertion below
                    errors.append(exc)

            worker = threading.Thread(target=complete)
            worker.start()
            time.sleep(0.5)  # the completion is under way, waiting where it must
            try:
                scheduler.execute(
                    "INSERT INTO sync_jobs (id, user_id, platform, connection_id, sync_date,"
                    " trigger, priority, queue, message_id)"
                    " SELECT gen_random_uuid(), user_id, provider, id, %s, 'scheduled', 5,"
                    " 'sync.scheduled', 'm' FROM connections WHERE id = %s"
                    " ON CONFLICT (connection_id, sync_date)"
                    " WHERE status IN ('pending', 'processing') DO NOTHING",
                    (sim.today, conn["id"]),
                )
            except psycopg.errors.DeadlockDetected as exc:
                errors.append(exc)
        worker.join(10)

    # Then neither side was chosen as a deadlock victim, and the job completed
    assert errors == []
    assert stack.job(job["id"])["status"] == "completed"


def test_a_deadlock_is_a_conflict_not_an_outage(stack: Stack) -> None:
    # Given two connections, and two transactions that lock them in opposite orders
    a, b = stack.connect("github", "dl-a")["id"], stack.connect("github", "dl-b")["id"]
    barrier = threading.Barrier(2)
    raised: list[BaseException] = []

    def lock(first: object, second: object) -> None:
        try:
            with transaction(stack.pool) as conn:
                conn.execute("SET LOCAL deadlock_timeout = '100ms'")
                conn.execute("SELECT 1 FROM connections WHERE id = %s FOR UPDATE", (first,))
                barrier.wait(10)
                conn.execute("SELECT 1 FROM connections WHERE id = %s FOR UPDATE", (second,))
        except BaseException as exc:  # recorded for the assertion below
            raised.append(exc)

    # When they run at once
    threads = [threading.Thread(target=lock, args=p) for p in ((a, b), (b, a))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)

    # Then one is PostgreSQL's victim, and it is reported as a conflict to retry
    assert len(raised) == 1
    assert isinstance(raised[0], LedgerConflict) and not isinstance(raised[0], LedgerUnavailable)
    assert "40P01" in str(raised[0])
    # and the pool is not taken for a server that is down
    with transaction(stack.pool) as conn:
        assert conn.execute("SELECT 1 AS one").fetchone() == {"one": 1}
