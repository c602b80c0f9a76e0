"""Ledger rows → camelCase JSON objects. Tokens never leave: no serializer reads them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from tributary_common.credentials.model import state


def iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def connection(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "userId": row["user_id"],
        "provider": row["provider"],
        "accountId": row["account_id"],
        "status": row["status"],
        "statusReason": row.get("status_reason"),
        "private": row["private"],
        "syncIntervalMinutes": row["sync_interval_minutes"],
        "nextDueAt": iso(row["next_due_at"]),
        "lastSyncedAt": iso(row["last_synced_at"]),
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
        "credential": credential(row),
    }


def credential(row: dict[str, Any]) -> dict[str, Any]:
    """What may be said about a credential: its state and dates, never a secret."""
    has_refresh = row.get("refresh_token") is not None
    expires_at = row.get("token_expires_at")
    kind = row.get("token_kind") or "user"
    return {
        "state": state(row["provider"], kind, has_refresh, expires_at, datetime.now(UTC)),
        "expiresAt": iso(expires_at),
        "tokenType": row.get("token_type") or "bearer",
        "tokenKind": kind,
        "scopes": row.get("scopes"),
        "hasRefreshToken": has_refresh,
        "version": int(row.get("credential_version") or 1),
        "refreshedAt": iso(row.get("refreshed_at")),
    }


def job(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "userId": row["user_id"],
        "provider": row["platform"],
        "connectionId": str(row["connection_id"]),
        "syncDate": iso(row["sync_date"]),
        "status": row["status"],
        "trigger": row["trigger"],
        "priority": row["priority"],
        "queue": row["queue"],
        "options": row.get("options") or {},
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
        "startedAt": iso(row["started_at"]),
        "completedAt": iso(row["completed_at"]),
        "notBefore": iso(row["not_before"]),
        "error": row["error"],
        "errorCategory": row["error_category"],
        "attempts": row["attempts"],
        "retryCount": row["retry_count"],
        "deferrals": row["deferrals"],
        "recordsSynced": row["records_synced"],
        "durationMs": row["duration_ms"],
        "deadLettered": row["dead_lettered"],
    }


def attempt(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "attempt": row["attempt"],
        "worker": row["worker"],
        "startedAt": iso(row["started_at"]),
        "finishedAt": iso(row["finished_at"]),
        "outcome": row["outcome"],
        "errorCategory": row["error_category"],
        "error": row["error"],
        "recordsSynced": row["records_synced"],
        "durationMs": row["duration_ms"],
    }


def recent_sync(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "jobId": str(row["id"]),
        "status": row["status"],
        "trigger": row["trigger"],
        "syncDate": iso(row["sync_date"]),
        "createdAt": iso(row["created_at"]),
        "startedAt": iso(row["started_at"]),
        "completedAt": iso(row["completed_at"]),
        "recordsSynced": row["records_synced"],
        "attempts": row["attempts"],
        "error": row["error"],
        "errorCategory": row["error_category"],
    }


def dead_letter(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "jobId": str(row["job_id"]),
        "userId": row["user_id"],
        "provider": row["platform"],
        "connectionId": str(row["connection_id"]),
        "category": row["category"],
        "error": row["error"],
        "attempts": row["attempts"],
        "payload": row["payload"],
        "createdAt": iso(row["created_at"]),
        "replayedAt": iso(row["replayed_at"]),
        "replayJobId": None if row["replay_job_id"] is None else str(row["replay_job_id"]),
        "replayError": row.get("replay_error"),
    }
