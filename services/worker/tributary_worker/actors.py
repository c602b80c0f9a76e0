"""One actor per band; actor priority makes a worker take manual work first."""

from __future__ import annotations

import logging
import uuid

import dramatiq
from tributary_common import bands
from tributary_common.errors import LedgerUnavailable
from tributary_common.logs import event

from . import runtime

log = logging.getLogger(__name__)


def _run(job_id: str) -> None:
    try:
        parsed = uuid.UUID(job_id)
    except ValueError:
        event(log, "job.bad_message", logging.ERROR, job_id=job_id)
        return
    try:
        runtime.current().runner.run(parsed)
    except LedgerUnavailable as exc:
        # The job stays as the ledger last recorded it; reconcile re-dispatches it once
        # PostgreSQL is back (a pending job without a live message, or an expired lease).
        event(log, "job.ledger_unavailable", logging.ERROR, job_id=job_id, error=str(exc))


def _actor(band: bands.Band) -> dramatiq.Actor:
    return dramatiq.actor(
        _run, actor_name=band.actor, queue_name=band.queue, priority=band.priority
    )


sync_manual = _actor(bands.MANUAL)
sync_webhook = _actor(bands.WEBHOOK)
sync_scheduled = _actor(bands.SCHEDULED)
sync_retry = _actor(bands.RETRY)
