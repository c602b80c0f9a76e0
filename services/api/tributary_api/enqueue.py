"""Enqueue as the queue contract says: record in the ledger, then send; Redis down is not fatal."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import redis
from psycopg_pool import ConnectionPool
from tributary_common.dispatch import Dispatcher
from tributary_common.ledger import jobs
from tributary_common.logs import event

log = logging.getLogger("tributary.api")


@dataclass(frozen=True)
class Accepted:
    result: jobs.Enqueued
    #: False when the message could not be sent now (Redis down); `reconcile` sends it.
    dispatched: bool


def send(dispatcher: Dispatcher, job: dict[str, Any]) -> bool:
    """Send the job's message; False (logged) when Redis is unreachable."""
    try:
        dispatcher.send(job["id"], job["queue"], job["message_id"])
    except redis.RedisError as exc:
        event(
            log, "api.send_failed", logging.WARNING, job_id=str(job["id"]), error=type(exc).__name__
        )
        return False
    return True


def enqueue_and_send(
    pool: ConnectionPool,
    dispatcher: Dispatcher,
    *,
    connection_id: uuid.UUID,
    sync_date: date,
    trigger: str,
    options: dict[str, Any] | None = None,
) -> Accepted:
    result = jobs.enqueue(
        pool, connection_id=connection_id, sync_date=sync_date, trigger=trigger, options=options
    )
    dispatched = send(dispatcher, result.job) if result.needs_send else True
    return Accepted(result, dispatched)
