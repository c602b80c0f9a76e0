"""Sends the events outbox to registered endpoints, signed as Standard Webhooks specify.

Each worker process runs one `Sender` thread (beside its job threads, so a slow or dead
endpoint never holds a sync). It claims due rows (`outbox.claim`: SKIP LOCKED, a lease of
the timeout plus a margin), POSTs each with the ``webhook-id`` (the row id, stable across
retries), ``webhook-timestamp`` (Unix seconds) and ``webhook-signature`` (``v1,`` +
base64 HMAC-SHA256 of ``id.timestamp.body`` with the endpoint secret) headers, signed by
the `standardwebhooks` package. A 2xx is delivered; anything else (another status, a
timeout, a refused connection) is retried after the next step of
`EventSettings.retry_schedule` (5 s … 10 h, about 27 h in all) and fails after the last.
An endpoint whose every delivery has failed for `disable_after_seconds` is disabled with a
reason. A sender killed mid-delivery loses nothing: its lease runs out and another sender
(or the same, restarted) sends the row again, with the same webhook-id.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from psycopg_pool import ConnectionPool
from standardwebhooks import Webhook

from . import metrics
from .errors import LedgerUnavailable
from .ledger import outbox
from .logs import event
from .settings import EventSettings

log = logging.getLogger(__name__)

#: Rows claimed per round; how long an idle sender waits before looking again.
BATCH = 20
IDLE_SECONDS = 0.5
#: Lease beyond the HTTP timeout, so a live sender never loses a row it is sending.
LEASE_MARGIN_SECONDS = 5.0


def signed_headers(secret: str, message_id: str, body: str, at: datetime) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body`` (plus the JSON content type)."""
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


class Sender:
    def __init__(
        self,
        pool: ConnectionPool,
        settings: EventSettings,
        *,
        client: httpx.Client | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.client = client or httpx.Client(
            timeout=settings.timeout_seconds, follow_redirects=False
        )
        self.clock = clock

    def run_once(self) -> int:
        """Send one batch of due deliveries; return how many were attempted."""
        rows = outbox.claim(
            self.pool,
            limit=BATCH,
            lease_seconds=self.settings.timeout_seconds + LEASE_MARGIN_SECONDS,
        )
        for row in rows:
            self._send(row)
        return len(rows)

    def loop(self, stopped: Callable[[], bool], wait: Callable[[float], Any]) -> None:
        """Run until ``stopped()``; ``wait(seconds)`` idles (returns early on stop)."""
        while not stopped():
            try:
                sent = self.run_once()
            except LedgerUnavailable as exc:
                event(log, "events.ledger_unavailable", logging.WARNING, error=str(exc))
                sent = 0
            if sent == 0:
                wait(IDLE_SECONDS)

    def _send(self, row: dict[str, Any]) -> None:
        body = json.dumps(row["payload"], separators=(",", ":"), sort_keys=True)
        headers = signed_headers(row["secret"], row["id"], body, self.clock())
        started = time.monotonic()
        status: int | None = None
        try:
            response = self.client.post(row["url"], content=body.encode(), headers=headers)
            status = response.status_code
            error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        seconds = time.monotonic() - started
        if status is not None and 200 <= status < 300:
            outbox.delivered(self.pool, row["id"], status)
            metrics.event_delivery(row["event_type"], "delivered", seconds)
            return
        schedule = self.settings.retry_schedule
        attempt = int(row["attempts"])
        retry_in = schedule[attempt - 1] if attempt <= len(schedule) else None
        disabled = outbox.attempt_failed(
            self.pool,
            row["id"],
            status=status,
            error=error,
            retry_in=retry_in,
            disable_after_seconds=self.settings.disable_after_seconds,
        )
        metrics.event_delivery(
            row["event_type"], "retried" if retry_in is not None else "failed", seconds
        )
        event(
            log,
            "events.delivery_failed",
            logging.WARNING,
            delivery_id=row["id"],
            event_type=row["event_type"],
            attempt=attempt,
            error=error,
            retry_in_seconds=retry_in,
        )
        if disabled:
            metrics.endpoint_disabled()
            event(
                log,
                "events.endpoint_disabled",
                logging.ERROR,
                endpoint_id=str(row["endpoint_id"]),
                error=error,
            )
