"""Connections: a user's account at a provider, its credential, status and schedule.

Secrets (access and refresh token) are encrypted with the caller's `SecretBox` before
they reach PostgreSQL; rows handed back hold ciphertext, which no serializer reads.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from psycopg_pool import ConnectionPool

from ..connectors import ConnectionInfo
from ..credentials.box import SecretBox
from ..credentials.model import KINDS
from ..db import statement, transaction
from ..errors import Conflict, NotFound
from ..settings import PROVIDERS
from . import textsafe
from .sql import queries

Q = queries("connections")
JOBS = queries("jobs")
STATUSES = ("active", "paused", "needs_reauth")
#: Credential fields (plaintext in, ciphertext stored for the two secrets).
CREDENTIAL_FIELDS = {
    "access_token",
    "refresh_token",
    "token_expires_at",
    "token_issued_at",
    "scopes",
    "token_type",
    "token_kind",
}
SECRET_FIELDS = ("access_token", "refresh_token")
UPDATABLE = {"private", "status", "sync_interval_minutes", "metadata"} | CREDENTIAL_FIELDS


def to_info(row: dict[str, Any], access_token: str) -> ConnectionInfo:
    """The connector's view of a connection row, with the decrypted ``access_token``."""
    return ConnectionInfo(
        id=row["id"],
        user_id=row["user_id"],
        provider=row["provider"],
        account_id=row["account_id"],
        access_token=access_token,
        metadata=row.get("metadata") or {},
    )


def _encrypted(box: SecretBox, fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` with its secrets encrypted; an unknown token kind is a `ValueError`."""
    if fields.get("token_kind", "user") not in KINDS:
        raise ValueError(f"token_kind must be one of {KINDS}")
    out = dict(fields)
    for name in SECRET_FIELDS:
        if out.get(name) is not None:
            out[name] = box.encrypt(out[name])
    return out


def create(
    pool: ConnectionPool,
    *,
    box: SecretBox,
    user_id: str,
    provider: str,
    account_id: str,
    access_token: str,
    refresh_token: str | None = None,
    token_expires_at: datetime | None = None,
    token_issued_at: datetime | None = None,
    scopes: str | None = None,
    token_type: str = "bearer",
    token_kind: str = "user",
    private: bool = False,
    sync_interval_minutes: int = 60,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Insert a connection (secrets encrypted with ``box``); raise `Conflict` when the user
    already connected that account."""
    params = {
        "id": uuid.uuid4(),
        "user_id": user_id,
        "provider": provider,
        "account_id": textsafe.text(account_id),
        **_encrypted(
            box,
            {
                "access_token": access_token,
                "refresh_token": refresh_token,
                "token_expires_at": token_expires_at,
                "token_issued_at": token_issued_at or datetime.now(UTC),
                "scopes": scopes,
                "token_type": token_type,
                "token_kind": token_kind,
            },
        ),
        "metadata": textsafe.jsonb(metadata or {}),
        "private": private,
        "interval": sync_interval_minutes,
    }
    with transaction(pool) as conn:
        row = conn.execute(Q["insert"], params).fetchone()
    if row is None:
        raise Conflict(f"user {user_id!r} already connected {provider} account {account_id!r}")
    return row


def get(pool: ConnectionPool, connection_id: uuid.UUID) -> dict[str, Any]:
    with transaction(pool) as conn:
        row = conn.execute(Q["get"], {"id": connection_id}).fetchone()
    if row is None:
        raise NotFound(f"connection {connection_id} not found")
    return row


def list_for_user(pool: ConnectionPool, user_id: str) -> list[dict[str, Any]]:
    with transaction(pool) as conn:
        return conn.execute(Q["list_for_user"], {"user_id": user_id}).fetchall()


def counts_by_provider(pool: ConnectionPool) -> list[dict[str, Any]]:
    """Per provider (every known one, `PROVIDERS` order), connection counts by status.

    Shape: ``[{"provider": "github", "connection": {"total": 3, "active": 2, "paused": 1,
    "needs_reauth": 0}}, ...]`` — the seed's `.providers[].connection`.
    """
    counts = {p: dict.fromkeys(STATUSES, 0) for p in PROVIDERS}
    with statement(pool) as conn:
        for r in conn.execute(Q["counts_by_status"]).fetchall():
            counts.setdefault(r["provider"], dict.fromkeys(STATUSES, 0))[r["status"]] = int(r["n"])
    return [
        {"provider": p, "connection": {"total": sum(c.values()), **c}} for p, c in counts.items()
    ]


def find_for_user(pool: ConnectionPool, user_id: str, provider: str) -> dict[str, Any] | None:
    with transaction(pool) as conn:
        return conn.execute(
            Q["find_for_user"], {"user_id": user_id, "provider": provider}
        ).fetchone()


def status_of(pool: ConnectionPool, connection_id: uuid.UUID) -> str | None:
    """The connection's status, or None when it no longer exists."""
    with statement(pool) as conn:
        row = conn.execute(Q["status_of"], {"id": connection_id}).fetchone()
    return None if row is None else str(row["status"])


def update(
    pool: ConnectionPool,
    connection_id: uuid.UUID,
    *,
    box: SecretBox | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Update the given fields; a new access token (encrypted with ``box``, required then)
    bumps the credential version and clears `needs_reauth`.

    Pausing holds the connection's pending jobs in the same transaction (status `held`:
    not claimable, not failed); `jobs.release_held` makes them pending again on resume.
    """
    unknown = set(fields) - UPDATABLE
    if unknown:
        raise ValueError(f"cannot update {sorted(unknown)}")
    if "status" in fields and fields["status"] not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}")
    credential = CREDENTIAL_FIELDS & set(fields)
    if credential:
        if box is None:
            raise ValueError("updating a credential needs the SecretBox")
        fields = _encrypted(box, fields)
    sets = [f"{name} = %({name})s" for name in fields]
    if credential:
        sets.append("credential_version = credential_version + 1")
    if "access_token" in fields and "token_issued_at" not in fields:
        sets.append("token_issued_at = now()")
    params: dict[str, Any] = {**fields, "id": connection_id}
    if "metadata" in fields:
        params["metadata"] = textsafe.jsonb(fields["metadata"])
    if "access_token" in fields and "status" not in fields:
        sets.append(
            "status = CASE WHEN status = 'needs_reauth' THEN 'active' ELSE status END,"
            " status_reason = NULL"
        )
    sql = f"UPDATE connections SET {', '.join(sets)}, updated_at = now() WHERE id = %(id)s RETURNING *"
    with transaction(pool) as conn:
        row = conn.execute(sql.encode(), params).fetchone()
        if row is not None and row["status"] == "paused":
            conn.execute(JOBS["hold_for_connection"], {"connection_id": connection_id})
    if row is None:
        raise NotFound(f"connection {connection_id} not found")
    return row


def delete(pool: ConnectionPool, connection_id: uuid.UUID) -> None:
    with transaction(pool) as conn:
        if conn.execute(Q["delete"], {"id": connection_id}).fetchone() is None:
            raise NotFound(f"connection {connection_id} not found")
