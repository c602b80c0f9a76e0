"""`tributary-scheduler websub-renew`: (re)subscribe YouTube channels at the WebSub hub
before their lease ends.

For each active YouTube connection whose subscription is missing, unverified or ends
within ``TRIBUTARY_WEBSUB_RENEW_BEFORE_SECONDS``: ``POST`` the hub a form with
``hub.callback``, ``hub.mode=subscribe``, ``hub.topic``, ``hub.lease_seconds``,
``hub.verify=async`` and ``hub.secret`` [C WS-1; S WS-3]. The hub answers 202 (async) or
204 (verified) and then calls the callback, which sets the lease
(`tributary_api.webhooks.resources.YoutubeWebhook.on_get`). A refused or failed request
(Google's hub has answered 503 with ``retry-after: 120`` for days [S ISS-12]) is tried
again on a later run, at most once per ``RETRY_AFTER_SECONDS``.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from psycopg_pool import ConnectionPool
from tributary_common.ledger import websub
from tributary_common.logs import event
from tributary_common.settings import WebhookSettings

log = logging.getLogger("tributary.scheduler.websub")

#: A subscription asked for is not asked for again sooner (the hub verifies asynchronously).
RETRY_AFTER_SECONDS = 600.0
BATCH = 500


def renew(pool: ConnectionPool, settings: WebhookSettings, client: httpx.Client) -> dict[str, Any]:
    """Send the due subscribe requests; return ``{due, accepted, failed}``."""
    rows = websub.due(
        pool,
        renew_before_seconds=settings.websub_renew_before_seconds,
        retry_after_seconds=RETRY_AFTER_SECONDS,
        limit=BATCH,
    )
    accepted = failed = 0
    for row in rows:
        topic = websub.topic_for(row["account_id"])
        form = {
            "hub.callback": settings.websub_callback_url,
            "hub.mode": "subscribe",
            "hub.topic": topic,
            "hub.lease_seconds": str(settings.websub_lease_seconds),
            "hub.verify": "async",
        }
        if settings.youtube_secret:
            form["hub.secret"] = settings.youtube_secret
        try:
            status = client.post(settings.websub_hub_url, data=form).status_code
        except httpx.HTTPError as exc:
            event(log, "websub.request_failed", logging.WARNING, error=type(exc).__name__)
            status = 0
        websub.requested(pool, row["connection_id"], topic, status)
        if status in (202, 204):
            accepted += 1
        else:
            failed += 1
            event(log, "websub.refused", logging.WARNING, status=status)
    return {"due": len(rows), "accepted": accepted, "failed": failed}
