"""Credentials in the ledger: decrypt a row, compare-and-set a refresh, rotate keys.

Every write of a refreshed credential is ``UPDATE … WHERE credential_version = <read>
AND refresh_fence < <fence>``: a writer that lost its lock (it paused past the lock's
lifetime and another process refreshed) cannot overwrite the newer credential.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg_pool import ConnectionPool

from ..db import transaction
from ..errors import NotFound
from .box import SecretBox, is_encrypted
from .model import Credential, TokenSet

_SELECT = (
    "SELECT id, provider, account_id, access_token, refresh_token, token_expires_at,"
    " token_issued_at, scopes, token_type, token_kind, credential_version, refresh_fence,"
    " status,"
    " status_reason FROM connections"
)


def from_row(
    box: SecretBox, row: dict[str, Any], connection_id: uuid.UUID | None = None
) -> Credential:
    """Decrypt a connections row (or a claimed job joined with its connection)."""
    refresh = row.get("refresh_token")
    return Credential(
        connection_id=connection_id or row["id"],
        provider=row.get("provider") or row["platform"],
        account_id=row["account_id"],
        access_token=box.decrypt(row["access_token"]),
        refresh_token=box.decrypt(refresh) if refresh else None,
        expires_at=row.get("token_expires_at"),
        issued_at=row.get("token_issued_at"),
        scopes=row.get("scopes"),
        token_type=row.get("token_type") or "bearer",
        kind=row.get("token_kind") or "user",
        version=int(row.get("credential_version") or 1),
        fence=int(row.get("refresh_fence") or 0),
    )


def load_row(pool: ConnectionPool, connection_id: uuid.UUID) -> dict[str, Any]:
    with transaction(pool) as conn:
        row = conn.execute((_SELECT + " WHERE id = %s").encode(), (connection_id,)).fetchone()
    if row is None:
        raise NotFound(f"connection {connection_id} not found")
    return row


def load(pool: ConnectionPool, box: SecretBox, connection_id: uuid.UUID) -> Credential:
    """The current credential of a connection, decrypted."""
    return from_row(box, load_row(pool, connection_id))


def write_refreshed(
    pool: ConnectionPool,
    box: SecretBox,
    current: Credential,
    tokens: TokenSet,
    *,
    fence: int,
    now: datetime | None = None,
) -> Credential | None:
    """Store ``tokens`` if the credential is still version ``current.version`` and no later
    fence wrote it; return the new credential, or None when the compare-and-set lost."""
    now = now or datetime.now(UTC)
    expires_at = None if tokens.expires_in is None else now + timedelta(seconds=tokens.expires_in)
    refresh = tokens.refresh_token if tokens.refresh_token is not None else current.refresh_token
    with transaction(pool) as conn:
        row = conn.execute(
            b"UPDATE connections SET access_token = %(access)s, refresh_token = %(refresh)s,"
            b" token_expires_at = %(expires)s, token_issued_at = %(now)s,"
            b" scopes = coalesce(%(scopes)s, scopes), token_type = %(type)s,"
            b" credential_version = credential_version + 1, refresh_fence = %(fence)s,"
            b" refreshed_at = %(now)s, updated_at = now()"
            b" WHERE id = %(id)s AND credential_version = %(version)s"
            b" AND refresh_fence < %(fence)s RETURNING credential_version",
            {
                "access": box.encrypt(tokens.access_token),
                "refresh": box.encrypt(refresh) if refresh else None,
                "expires": expires_at,
                "now": now,
                "scopes": tokens.scopes,
                "type": tokens.token_type,
                "fence": fence,
                "id": current.connection_id,
                "version": current.version,
            },
        ).fetchone()
    if row is None:
        return None
    return Credential(
        connection_id=current.connection_id,
        provider=current.provider,
        account_id=current.account_id,
        access_token=tokens.access_token,
        refresh_token=refresh,
        expires_at=expires_at,
        issued_at=now,
        scopes=tokens.scopes or current.scopes,
        token_type=tokens.token_type,
        kind=current.kind,
        version=int(row["credential_version"]),
        fence=fence,
    )


def mark_needs_reauth(pool: ConnectionPool, current: Credential, reason: str) -> bool:
    """Set `needs_reauth` with ``reason`` unless the credential changed since it was read."""
    with transaction(pool) as conn:
        row = conn.execute(
            b"UPDATE connections SET status = 'needs_reauth', status_reason = %s,"
            b" updated_at = now() WHERE id = %s AND credential_version = %s"
            b" AND status <> 'needs_reauth' RETURNING id",
            (reason, current.connection_id, current.version),
        ).fetchone()
    return row is not None


def reencrypt(pool: ConnectionPool, box: SecretBox, *, batch: int = 500) -> dict[str, int]:
    """Re-encrypt every stored secret under the box's first key (plaintext rows included).

    Each row is rewritten only if its ciphertext is unchanged since it was read, so a
    concurrent refresh is never overwritten. Returns {"rows": n, "plaintext": m}."""
    rows = plaintext = 0
    last = uuid.UUID(int=0)
    while True:
        with transaction(pool) as conn:
            page = conn.execute(
                b"SELECT id, access_token, refresh_token FROM connections WHERE id > %s"
                b" ORDER BY id LIMIT %s",
                (last, batch),
            ).fetchall()
            for row in page:
                plaintext += not is_encrypted(row["access_token"])
                result = conn.execute(
                    b"UPDATE connections SET access_token = %s, refresh_token = %s"
                    b" WHERE id = %s AND access_token = %s"
                    b" AND refresh_token IS NOT DISTINCT FROM %s RETURNING id",
                    (
                        box.rotate(row["access_token"]),
                        box.rotate(row["refresh_token"]) if row["refresh_token"] else None,
                        row["id"],
                        row["access_token"],
                        row["refresh_token"],
                    ),
                ).fetchone()
                rows += result is not None
        if len(page) < batch:
            return {"rows": rows, "plaintext": plaintext}
        last = page[-1]["id"]


def encrypt_plaintext(pool: ConnectionPool, box: SecretBox) -> int:
    """Encrypt rows still holding plaintext secrets (written before migration 0006)."""
    count = 0
    with transaction(pool) as conn:
        found = conn.execute(
            b"SELECT id, access_token, refresh_token FROM connections"
            b" WHERE access_token NOT LIKE 'gAAAAA%%'"
            b" OR (refresh_token IS NOT NULL AND refresh_token NOT LIKE 'gAAAAA%%') FOR UPDATE"
        ).fetchall()
        for row in found:
            conn.execute(
                b"UPDATE connections SET access_token = %s, refresh_token = %s WHERE id = %s",
                (
                    box.rotate(row["access_token"]),
                    box.rotate(row["refresh_token"]) if row["refresh_token"] else None,
                    row["id"],
                ),
            )
            count += 1
    return count
