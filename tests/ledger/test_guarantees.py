"""The ledger's guards, one deterministic test each (no worker, no timing).

Each test names the guard it protects; removing the guard from the SQL in
`ledger/queries/*.sql` makes the test fail (see docs/testing.md for the mapping).
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from psycopg_pool import ConnectionPool
from tributary_common import bands
from tributary_common.db import statement
from tributary_common.ledger import connections, deadletters, jobs
from tributary_common.ledger.sql import queries

from tests.support.keys import local_box

DAY = date(2026, 12, 1)


def _connection(pool: ConnectionPool, user: str = "u1") -> dict[str, Any]:
    return connections.create(
        pool,
        box=local_box(),
        user_id=user,
        provider="github",
        account_id=f"acct-{uuid.uuid4().hex[:6]}",
        access_token="t0ken",
    )


def _end(owner: str, outcome: str = "completed", **kw: Any) -> jobs.AttemptEnd:
    return jobs.AttemptEnd(
        owner=owner,
        started_at=datetime.now(UTC),
        outcome=outcome,
        records=0,
        duration_ms=1,
        **kw,
    )


def _jobs_of(pool: ConnectionPool, connection_id: uuid.UUID) -> list[dict[str, Any]]:
    with statement(pool) as conn:
        return conn.execute(
            "SELECT * FROM sync_jobs WHERE connection_id = %s ORDER BY created_at",
            (connection_id,),
        ).fetchall()


def _expire_lease(pool: ConnectionPool, job_id: uuid.UUID) -> None:
    with statement(pool) as conn:
        conn.execute(
            "UPDATE sync_jobs SET lease_expires_at = now() - interval '1 second' WHERE id = %s",
            (job_id,),
        )


def test_dedup_covers_a_running_job(pool: ConnectionPool) -> None:
    """Guard: one active (pending *or processing*) job per connection and day."""
    conn = _connection(pool)
    first = jobs.enqueue(pool, connection_id=conn["id"], sync_date=DAY, trigger="scheduled")
    assert jobs.claim(pool, first.job["id"], owner="w1", lease_seconds=60) is not None

    again = jobs.enqueue(pool, connection_id=conn["id"], sync_date=DAY, trigger="scheduled")

    assert again.deduplicated
    assert again.job["id"] == first.job["id"]
    assert len(_jobs_of(pool, conn["id"])) == 1


def test_raise_to_manual_leaves_a_running_job_alone(pool: ConnectionPool) -> None:
    """Guard: only a *pending* lower-band job is raised to the manual band."""
    conn = _connection(pool)
    first = jobs.enqueue(pool, connection_id=conn["id"], sync_date=DAY, trigger="scheduled")
    running = jobs.claim(pool, first.job["id"], owner="w1", lease_seconds=60)
    assert running is not None

    jobs.enqueue(pool, connection_id=conn["id"], sync_date=DAY, trigger="manual")

    row = jobs.get(pool, first.job["id"])
    scheduled = bands.for_trigger("scheduled")
    assert (row["status"], row["queue"], row["priority"]) == (
        "processing",
        scheduled.queue,
        scheduled.priority,
    )
    assert row["message_id"] == running["message_id"]


def test_raise_to_manual_moves_a_pending_job(pool: ConnectionPool) -> None:
    """The other side of the guard above: a pending scheduled job is raised."""
    conn = _connection(pool)
    first = jobs.enqueue(pool, connection_id=conn["id"], sync_date=DAY, trigger="scheduled")
    raised = jobs.enqueue(pool, connection_id=conn["id"], sync_date=DAY, trigger="manual")
    assert raised.raised and raised.job["id"] == first.job["id"]
    assert raised.job["queue"] == bands.for_trigger("manual").queue


def test_complete_requires_the_current_lease_owner(pool: ConnectionPool) -> None:
    """Guard: a worker whose lease expired cannot complete a job another worker holds."""
    conn = _connection(pool)
    job = jobs.enqueue(pool, connection_id=conn["id"], sync_date=DAY, trigger="scheduled").job
    assert jobs.claim(pool, job["id"], owner="old", lease_seconds=60) is not None
    _expire_lease(pool, job["id"])
    # a claim never takes a leased job, even an expired one: recovery does (once the
    # holder is known dead), and then another worker claims it
    assert jobs.claim(pool, job["id"], owner="new", lease_seconds=60) is None
    with statement(pool) as conn:
        recovered = conn.execute(
            queries("jobs")["recover_expired"],
            {"id": job["id"], "owner": "old", "message_id": "m2"},
        ).fetchone()
    assert recovered is not None and recovered["crash_count"] == 1
    assert jobs.claim(pool, job["id"], owner="new", lease_seconds=60) is not None

    assert jobs.complete(pool, job["id"], _end("old")) is None

    row = jobs.get(pool, job["id"])
    assert (row["status"], row["lease_owner"]) == ("processing", "new")
    assert [a["outcome"] for a in jobs.attempts(pool, job["id"])] == ["crashed"]
    assert jobs.complete(pool, job["id"], _end("new")) is not None


def test_claim_once_under_concurrent_claims(pool: ConnectionPool) -> None:
    """Guard: of many simultaneous claims of one pending job exactly one wins."""
    conn = _connection(pool)
    job = jobs.enqueue(pool, connection_id=conn["id"], sync_date=DAY, trigger="scheduled").job
    barrier = threading.Barrier(6)
    won: list[str] = []

    def claim(owner: str) -> None:
        barrier.wait()
        if jobs.claim(pool, job["id"], owner=owner, lease_seconds=60) is not None:
            won.append(owner)

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    # and a second delivery of the same message while the lease is live claims nothing
    assert jobs.claim(pool, job["id"], owner="late", lease_seconds=60) is None


def test_retry_counts_each_failed_attempt_once(pool: ConnectionPool) -> None:
    """Guard: a retry adds exactly one to retry_count and attempts; a stale owner adds none."""
    conn = _connection(pool)
    job = jobs.enqueue(pool, connection_id=conn["id"], sync_date=DAY, trigger="scheduled").job
    for n in (1, 2):
        assert jobs.claim(pool, job["id"], owner=f"w{n}", lease_seconds=60) is not None
        with statement(pool) as c:
            c.execute("UPDATE sync_jobs SET not_before = NULL WHERE id = %s", (job["id"],))
        row = jobs.retry(
            pool,
            job["id"],
            _end(f"w{n}", "retried", category="SERVER_ERROR", error="503"),
            not_before=datetime.now(UTC),
            message_id=jobs.new_message_id(),
        )
        assert row is not None
        assert (row["retry_count"], row["attempts"]) == (n, n)
        # the same ending delivered twice (stale owner) counts nothing
        assert (
            jobs.retry(
                pool,
                job["id"],
                _end(f"w{n}", "retried", category="SERVER_ERROR", error="503"),
                not_before=datetime.now(UTC),
                message_id=jobs.new_message_id(),
            )
            is None
        )
        with statement(pool) as c:
            c.execute("UPDATE sync_jobs SET not_before = NULL WHERE id = %s", (job["id"],))
    row = jobs.get(pool, job["id"])
    assert (row["retry_count"], row["attempts"]) == (2, 2)
    assert [a["outcome"] for a in jobs.attempts(pool, job["id"])] == ["retried", "retried"]


@pytest.fixture
def dead_letter(pool: ConnectionPool) -> tuple[dict[str, Any], uuid.UUID]:
    conn = _connection(pool)
    job = jobs.enqueue(pool, connection_id=conn["id"], sync_date=DAY, trigger="scheduled").job
    assert jobs.claim(pool, job["id"], owner="w1", lease_seconds=60) is not None
    assert (
        jobs.fail(
            pool, job["id"], _end("w1", "failed", category="API_ERROR", error="gone"), owner="w1"
        )
        is not None
    )
    with statement(pool) as c:
        letter = c.execute("SELECT id FROM dead_letters WHERE job_id = %s", (job["id"],)).fetchone()
    assert letter is not None
    return conn, letter["id"]


def test_a_dead_letter_is_replayed_once(
    pool: ConnectionPool, dead_letter: tuple[dict[str, Any], uuid.UUID]
) -> None:
    """Guard: replaying the same letter again (after its replay job finished) does nothing."""
    conn, letter_id = dead_letter
    first = deadletters.replay(pool, letter_id)
    assert first is not None
    replay_job = first.enqueued.job
    assert jobs.claim(pool, replay_job["id"], owner="w2", lease_seconds=60) is not None
    assert jobs.complete(pool, replay_job["id"], _end("w2")) is not None

    assert deadletters.replay(pool, letter_id) is None

    assert [j["status"] for j in _jobs_of(pool, conn["id"])] == ["failed", "completed"]


def test_concurrent_replays_of_one_letter_create_one_job(
    pool: ConnectionPool, dead_letter: tuple[dict[str, Any], uuid.UUID]
) -> None:
    conn, letter_id = dead_letter
    barrier = threading.Barrier(4)
    results: list[object] = []

    def replay() -> None:
        barrier.wait()
        results.append(deadletters.replay(pool, letter_id))

    threads = [threading.Thread(target=replay) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r is not None for r in results) == 1
    assert len(_jobs_of(pool, conn["id"])) == 2
