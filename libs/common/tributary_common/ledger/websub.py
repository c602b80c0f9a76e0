"""YouTube WebSub subscriptions: which topics to (re)subscribe, and the hub's verification.

Topic of a channel: ``https://www.youtube.com/xml/feeds/videos.xml?channel_id=<id>``
[C YT-1]. The hub sends no notice when a lease ends, deliveries just stop [U; S ISS-19],
so `websub-renew` subscribes again before it does.
"""

from __future__ import annotations

import uuid
from typing import Any

from psycopg_pool import ConnectionPool

from ..db import statement
from .sql import queries

Q = queries("websub")

TOPIC = "https://www.youtube.com/xml/feeds/videos.xml?channel_id={channel_id}"


def topic_for(channel_id: str) -> str:
    return TOPIC.format(channel_id=channel_id)


def due(
    pool: ConnectionPool, *, renew_before_seconds: float, retry_after_seconds: float, limit: int
) -> list[dict[str, Any]]:
    """Connections to subscribe (rows: connection_id, account_id, lease_expires_at)."""
    with statement(pool) as conn:
        return conn.execute(
            Q["due"],
            {
                "renew_before": renew_before_seconds,
                "retry_after": retry_after_seconds,
                "limit": limit,
            },
        ).fetchall()


def requested(pool: ConnectionPool, connection_id: uuid.UUID, topic: str, status: int) -> None:
    """Record a subscribe request and the hub's HTTP status (0: no answer)."""
    with statement(pool) as conn:
        conn.execute(
            Q["requested"], {"connection_id": connection_id, "topic": topic, "status": status}
        )


def verify(pool: ConnectionPool, topic: str, lease_seconds: int) -> bool:
    """Accept the hub's subscribe verification for ``topic``; False when we never asked."""
    with statement(pool) as conn:
        return bool(
            conn.execute(Q["verify"], {"topic": topic, "lease_seconds": lease_seconds}).fetchall()
        )


def wanted(pool: ConnectionPool, topic: str) -> bool:
    """Whether an active connection still wants ``topic`` (an unsubscribe is then refused)."""
    with statement(pool) as conn:
        return conn.execute(Q["wanted"], {"topic": topic}).fetchone() is not None


def denied(pool: ConnectionPool, topic: str) -> None:
    with statement(pool) as conn:
        conn.execute(Q["denied"], {"topic": topic})
