"""Enqueue as the queue contract says: record in the ledger, then send; Redis down is not fatal."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from psycopg_pool import ConnectionPool
from tributary_common.dispatch import Dispatcher
from tributary_common.ledger import jobs


@dataclass(frozen=True)
class Accepted:
    result: jobs.Enqueued
    #: False when the message could not be sent now (Redis down); `reconcile` sends it.
    dispatched: bool


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
    job = result.job
    dispatched = (
        dispatcher.try_send(job["id"], job["queue"], job["message_id"])
        if result.needs_send
        else True
    )
    return Accepted(result, dispatched)
