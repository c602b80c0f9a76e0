"""Signed events out through the real pipeline: a worker ends jobs, its sender delivers the
outbox to a receiver that verifies every request with the `standardwebhooks` library."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from datetime import date

import pytest
from tributary_common.ledger import endpoints

from tests.e2e.stack import Stack
from tests.support.receiver import Receiver, start_receiver
from tests.support.simulator import SimAdmin

ALL = ["sync.completed", "sync.failed", "sync.dead_lettered", "connection.needs_reauth"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from start_receiver()


def register(stack: Stack, receiver: Receiver, types: list[str] = ALL) -> dict:
    row = endpoints.create(stack.pool, url=receiver.url, event_types=types)
    receiver.secret = row["secret"]
    return row


def outbox(stack: Stack) -> list[dict]:
    return stack.query("SELECT * FROM webhook_outbox ORDER BY created_at, event_type")


def test_a_completed_sync_is_delivered_once_signed(
    stack: Stack, sim: SimAdmin, receiver: Receiver
) -> None:
    # Given an endpoint for sync.completed and a running worker
    register(stack, receiver, ["sync.completed"])
    stack.start_workers(processes=1, threads=2)
    conn = stack.connect("github", "octocat")

    # When a sync completes
    job = stack.enqueue(conn["id"], sim.today).job
    stack.wait_status([job["id"]], "completed")

    # Then the receiver gets exactly one verified sync.completed for that job
    stack.wait_for(lambda: len(receiver.verified()) == 1, timeout=20, what="the event")
    time.sleep(2)
    (got,) = receiver.received
    assert got.verified and got.answered == 200
    assert got.payload["type"] == "sync.completed"
    assert got.payload["data"]["jobId"] == str(job["id"])
    assert got.payload["data"]["userId"] == conn["user_id"]
    (row,) = outbox(stack)
    assert (row["id"], row["status"], row["attempts"]) == (got.webhook_id, "delivered", 1)


def test_retried_through_500s_and_timeouts(stack: Stack, sim: SimAdmin, receiver: Receiver) -> None:
    # Given a receiver that answers 500, then holds past the timeout, then 500, then 200
    register(stack, receiver, ["sync.completed"])
    receiver.script[:] = [500, ("hang", 3.0), 503]
    stack.start_workers(
        processes=1,
        threads=2,
        TRIBUTARY_EVENTS_TIMEOUT_SECONDS="1",
        TRIBUTARY_EVENTS_RETRY_SCHEDULE="0.5,0.5,0.5,0.5",
    )
    conn = stack.connect("github", "octocat")

    # When a sync completes
    job = stack.enqueue(conn["id"], sim.today).job
    stack.wait_status([job["id"]], "completed")

    # Then the event is retried until the receiver takes it, always with the same id
    stack.wait_for(
        lambda: outbox(stack)[0]["status"] == "delivered", timeout=30, what="the delivery"
    )
    answers = [r.answered for r in receiver.received]
    assert answers == [500, None, 503, 200]
    assert all(r.verified for r in receiver.received)
    assert len({r.webhook_id for r in receiver.received}) == 1
    assert outbox(stack)[0]["attempts"] == 4
    # The sync itself never waited on the endpoint
    assert stack.job(job["id"])["duration_ms"] < 3000


def test_failure_events_and_needs_reauth(stack: Stack, sim: SimAdmin, receiver: Receiver) -> None:
    # Given an endpoint for every event type and a token the provider refuses
    register(stack, receiver)
    stack.start_workers(processes=1, threads=2)
    conn = stack.connect("github", "revoked")
    sim.fault("github", "auth", account="revoked", count=None)

    # When its sync fails for good
    job = stack.enqueue(conn["id"], sim.today).job
    stack.wait_status([job["id"]], "failed")

    # Then failed, dead-lettered and needs_reauth each arrive once, verified
    stack.wait_for(lambda: len(receiver.verified()) == 3, timeout=20, what="three events")
    by_type = {r.payload["type"]: r.payload["data"] for r in receiver.verified()}
    assert set(by_type) == {"sync.failed", "sync.dead_lettered", "connection.needs_reauth"}
    assert by_type["sync.failed"]["jobId"] == str(job["id"])
    assert by_type["sync.failed"]["errorCategory"] == "API_ERROR"
    letter = stack.query("SELECT id FROM dead_letters WHERE job_id = %s", job["id"])[0]["id"]
    assert by_type["sync.dead_lettered"]["deadLetterId"] == str(letter)
    assert by_type["connection.needs_reauth"]["connectionId"] == str(conn["id"])


def test_no_loss_when_the_worker_is_killed_before_the_delivery(
    stack: Stack, sim: SimAdmin, receiver: Receiver
) -> None:
    # Given a receiver that holds the first request (the worker will die during it)
    register(stack, receiver, ["sync.completed"])
    receiver.script[:] = [("hang", 6.0)]
    env = {"TRIBUTARY_EVENTS_TIMEOUT_SECONDS": "2"}
    worker = stack.start_workers(processes=1, threads=2, **env)
    conn = stack.connect("github", "octocat")
    job = stack.enqueue(conn["id"], sim.today).job
    stack.wait_status([job["id"]], "completed")
    stack.wait_for(lambda: len(receiver.received) == 1, timeout=20, what="the first attempt")

    # When the worker is killed (SIGKILL, no goodbye) after the ending, before delivering
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)
    stack.workers.clear()
    assert outbox(stack)[0]["status"] == "pending"

    # Then a new worker delivers it once its predecessor's lease ran out, same webhook-id
    stack.start_workers(processes=1, threads=2, **env)
    stack.wait_for(lambda: outbox(stack)[0]["status"] == "delivered", timeout=40, what="redelivery")
    ids = {r.webhook_id for r in receiver.received}
    assert len(ids) == 1 and [r.answered for r in receiver.received] == [None, 200]
    assert receiver.verified()[-1].payload["data"]["jobId"] == str(job["id"])


def test_an_endpoint_failing_too_long_is_disabled_with_a_reason(
    stack: Stack, sim: SimAdmin, receiver: Receiver
) -> None:
    # Given a receiver that always answers 500
    endpoint = register(stack, receiver, ["sync.completed"])
    receiver.script[:] = [500] * 1000
    stack.start_workers(
        processes=1,
        threads=2,
        TRIBUTARY_EVENTS_DISABLE_AFTER_SECONDS="2",
        TRIBUTARY_EVENTS_RETRY_SCHEDULE=",".join(["0.3"] * 100),
    )
    conn = stack.connect("github", "octocat")

    # When syncs keep completing
    job = stack.enqueue(conn["id"], sim.today).job
    stack.wait_status([job["id"]], "completed")

    # Then after 2 s of failures the endpoint is disabled, with the reason, and left alone
    def disabled() -> bool:
        return not endpoints.get(stack.pool, endpoint["id"])["enabled"]

    stack.wait_for(disabled, timeout=30, what="the endpoint to be disabled")
    row = endpoints.get(stack.pool, endpoint["id"])
    assert "HTTP 500" in row["disabled_reason"] and row["disabled_at"] is not None
    attempts = len(receiver.received)
    second = stack.enqueue(conn["id"], date.fromordinal(sim.today.toordinal() - 1)).job
    stack.wait_status([second["id"]], "completed")
    time.sleep(2)
    assert len(receiver.received) == attempts
