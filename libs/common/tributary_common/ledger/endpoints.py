"""Event endpoints: where the embedding product receives signed events.

The secret is a Standard Webhooks key, ``whsec_`` + base64 of 32 random bytes, returned
once by `create` (the api shows it at registration and never again).
"""

from __future__ import annotations

import base64
import secrets
import uuid
from typing import Any

from psycopg_pool import ConnectionPool

from ..db import statement
from ..errors import NotFound
from .sql import queries

Q = queries("endpoints")
UPDATABLE = {"url", "event_types", "description", "enabled"}


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def create(
    pool: ConnectionPool, *, url: str, event_types: list[str], description: str = ""
) -> dict[str, Any]:
    """Insert an endpoint; the returned row includes its secret."""
    params = {
        "id": uuid.uuid4(),
        "url": url,
        "event_types": event_types,
        "description": description,
        "secret": new_secret(),
    }
    with statement(pool) as conn:
        row = conn.execute(Q["insert"], params).fetchone()
    assert row is not None
    return row


def all_endpoints(pool: ConnectionPool) -> list[dict[str, Any]]:
    with statement(pool) as conn:
        return conn.execute(Q["list"]).fetchall()


def get(pool: ConnectionPool, endpoint_id: uuid.UUID) -> dict[str, Any]:
    with statement(pool) as conn:
        row = conn.execute(Q["get"], {"id": endpoint_id}).fetchone()
    if row is None:
        raise NotFound(f"endpoint {endpoint_id} not found")
    return row


def update(pool: ConnectionPool, endpoint_id: uuid.UUID, **fields: Any) -> dict[str, Any]:
    """Change url, event types, description or enabled; enabling clears the reason and
    the run of failures."""
    unknown = set(fields) - UPDATABLE
    if unknown:
        raise ValueError(f"cannot update {sorted(unknown)}")
    sets = [f"{name} = %({name})s" for name in fields]
    if fields.get("enabled") is True:
        sets.append("disabled_reason = NULL, disabled_at = NULL, failing_since = NULL")
    sql = (
        f"UPDATE webhook_endpoints SET {', '.join(sets) or 'id = id'}, updated_at = now()"
        " WHERE id = %(id)s RETURNING *"
    )
    with statement(pool) as conn:
        row = conn.execute(sql.encode(), {**fields, "id": endpoint_id}).fetchone()
    if row is None:
        raise NotFound(f"endpoint {endpoint_id} not found")
    return row


def delete(pool: ConnectionPool, endpoint_id: uuid.UUID) -> None:
    with statement(pool) as conn:
        if conn.execute(Q["delete"], {"id": endpoint_id}).fetchone() is None:
            raise NotFound(f"endpoint {endpoint_id} not found")
