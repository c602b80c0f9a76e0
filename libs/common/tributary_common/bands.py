"""The queue contract: priority bands, their Dramatiq queues and actors.

Dramatiq's Redis broker has no per-message priority, so each band is its own queue,
consumed by every worker; actor priorities (lower runs first) make a worker take
manual work before provider pushes (webhooks), those before scheduled, and scheduled
before retries.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Band:
    name: str
    queue: str
    priority: int
    actor: str


MANUAL = Band("manual", "sync.manual", 1, "sync_manual")
#: Syncs asked for by a provider's webhook delivery (debounced): between manual and scheduled.
WEBHOOK = Band("webhook", "sync.webhook", 3, "sync_webhook")
SCHEDULED = Band("scheduled", "sync.scheduled", 5, "sync_scheduled")
RETRY = Band("retry", "sync.retry", 10, "sync_retry")
BANDS: tuple[Band, ...] = (MANUAL, WEBHOOK, SCHEDULED, RETRY)

_BY_QUEUE = {band.queue: band for band in BANDS}
_BY_PRIORITY = {band.priority: band for band in BANDS}


def by_queue(queue: str) -> Band:
    return _BY_QUEUE[queue]


def by_priority(priority: int) -> Band:
    return _BY_PRIORITY[priority]


def for_trigger(trigger: str) -> Band:
    """Manual requests go to the manual band, webhook deliveries to the webhook band;
    scheduled runs and replays to the scheduled one."""
    if trigger == "manual":
        return MANUAL
    return WEBHOOK if trigger == "webhook" else SCHEDULED
