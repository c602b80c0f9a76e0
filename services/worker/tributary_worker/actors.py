"""One actor per band; actor priority makes a worker take manual work first."""

from __future__ import annotations

import logging
import random
import uuid

import dramatiq
from dramatiq.middleware import CurrentMessage
from tributary_common import bands
from tributary_common.errors import LedgerConflict, LedgerUnavailable
from tributary_common.logs import event

from . import runtime

log = logging.getLogger(__name__)

#: A message whose claim failed for an infrastructure reason comes back after this long
#: (plus up to the same again, so a whole queue does not return at one instant). At least
#: a second, so this delivery's acknowledgement is done before the copy is due.
LEDGER_RETRY_SECONDS = 1.0


def _run(job_id: str) -> None:
    try:
        parsed = uuid.UUID(job_id)
    except ValueError:
        event(log, "job.bad_message", logging.ERROR, job_id=job_id)
        return
    try:
        runtime.current().runner.run(parsed)
    except (LedgerUnavailable, LedgerConflict) as exc:
        # Nothing was claimed. The job's message must not be lost: the same message comes
        # back in a moment (same id, so the ledger still knows it as the live one), and
        # work resumes within seconds of PostgreSQL answering again, without reconcile.
        _send_again(parsed, str(exc))


def _send_again(job_id: uuid.UUID, error: str) -> None:
    message = CurrentMessage.get_current_message()
    delay = LEDGER_RETRY_SECONDS * (1 + random.random())
    queue = message.queue_name if message is not None else bands.MANUAL.queue
    message_id = (
        message.options.get("redis_message_id", message.message_id)
        if message is not None
        else uuid.uuid4().hex
    )
    sent = runtime.current().runner.dispatcher.try_send(job_id, queue, message_id, delay)
    event(
        log,
        "job.ledger_unavailable",
        logging.WARNING,
        job_id=str(job_id),
        error=error,
        resent=sent,
        delay_seconds=round(delay, 3),
    )


def _actor(band: bands.Band) -> dramatiq.Actor:
    return dramatiq.actor(
        _run, actor_name=band.actor, queue_name=band.queue, priority=band.priority
    )


sync_manual = _actor(bands.MANUAL)
sync_webhook = _actor(bands.WEBHOOK)
sync_scheduled = _actor(bands.SCHEDULED)
sync_retry = _actor(bands.RETRY)
