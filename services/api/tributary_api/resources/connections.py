"""`/api/connections`: create, read, update (privacy, pause, token), delete, list by user."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import falcon
import redis
from tributary_common.dispatch import Send
from tributary_common.ledger import connections, jobs
from tributary_common.logs import event

from .. import schemas, serialize
from ..deps import ApiDeps
from ..errors import ApiError
from ..validation import query, read_json
from .common import parse_id, scoped

log = logging.getLogger(__name__)

USER_SCOPE: dict[str, dict[str, Any]] = {"userId": {"schema": schemas.ID}}
LIST_PARAMS: dict[str, dict[str, Any]] = {"userId": {"schema": schemas.ID, "required": True}}


class ConnectionCollection:
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        query(req, {})
        body = read_json(req, schemas.CONNECTION_CREATE, self.deps.settings.max_body_bytes)
        row = connections.create(
            self.deps.pool,
            box=self.deps.box,
            user_id=body["userId"],
            provider=body["provider"],
            account_id=body["accountId"],
            **credential_fields(body),
            private=body.get("private", False),
            sync_interval_minutes=body.get(
                "syncIntervalMinutes", self.deps.settings.default_sync_interval_minutes
            ),
        )
        resp.status = falcon.HTTP_201
        resp.location = f"/api/connections/{row['id']}"
        resp.media = serialize.connection(row)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params = query(req, LIST_PARAMS)
        rows = connections.list_for_user(self.deps.pool, params["userId"])
        resp.media = {"connections": [serialize.connection(r) for r in rows]}


class ConnectionItem:
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def _load(self, req: falcon.Request, raw_id: str) -> dict[str, Any]:
        params = query(req, USER_SCOPE)
        row = connections.get(self.deps.pool, parse_id(raw_id, "connection"))
        return scoped(row, params.get("userId"), "connection", raw_id)

    def on_get(self, req: falcon.Request, resp: falcon.Response, connection_id: str) -> None:
        resp.media = serialize.connection(self._load(req, connection_id))

    def on_patch(self, req: falcon.Request, resp: falcon.Response, connection_id: str) -> None:
        current = self._load(req, connection_id)
        body = read_json(req, schemas.CONNECTION_PATCH, self.deps.settings.max_body_bytes)
        resp.media = serialize.connection(apply_patch(self.deps, current, body))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, connection_id: str) -> None:
        current = self._load(req, connection_id)
        connections.delete(self.deps.pool, current["id"])
        resp.status = falcon.HTTP_204


def apply_patch(deps: ApiDeps, current: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Apply a validated PATCH body to ``current``; return the updated row.

    Shared with the console's pause/resume. Raises `ApiError` 409 for resuming a
    `needs_reauth` connection without a new token.
    """
    fields = _changes(current, body)
    row = (
        connections.update(deps.pool, current["id"], box=deps.box, **fields) if fields else current
    )
    if current["status"] != "active" and row["status"] == "active":
        _release(deps, row)
    return row


def _release(deps: ApiDeps, row: dict[str, Any]) -> None:
    """Resume: held jobs become pending and are sent (Redis down: `reconcile` sends them)."""
    released = jobs.release_held(deps.pool, row["id"])
    try:
        deps.dispatcher.send_many(
            Send(r.job_id, r.queue, r.message_id, r.delay_seconds) for r in released
        )
    except redis.RedisError as exc:
        event(log, "jobs.release_send_failed", logging.WARNING, error=type(exc).__name__)


#: API field → ledger column of a credential.
CREDENTIAL_COLUMNS = {
    "accessToken": "access_token",
    "refreshToken": "refresh_token",
    "expiresAt": "token_expires_at",
    "scopes": "scopes",
    "tokenType": "token_type",
    "tokenKind": "token_kind",
}


def credential_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The credential columns a validated body sets (times parsed, token type lowered)."""
    fields = {column: body[name] for name, column in CREDENTIAL_COLUMNS.items() if name in body}
    if "token_expires_at" in fields:
        fields["token_expires_at"] = datetime.fromisoformat(
            fields["token_expires_at"].replace("Z", "+00:00")
        )
    if "token_type" in fields:
        fields["token_type"] = fields["token_type"].lower()
    return fields


def _changes(current: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Ledger fields to update; pausing and resuming move between `active` and `paused`."""
    fields: dict[str, Any] = {}
    if "private" in body:
        fields["private"] = body["private"]
    if "syncIntervalMinutes" in body:
        fields["sync_interval_minutes"] = body["syncIntervalMinutes"]
    if "accessToken" in body:
        # A new access token replaces the whole credential: what it does not say is unknown.
        fields.update(refresh_token=None, token_expires_at=None, scopes=None)
    fields.update(credential_fields(body))
    if set(body) & (set(schemas.CREDENTIAL_FIELDS) - {"accessToken"}) and "accessToken" not in body:
        raise ApiError(
            400, "invalid_field", "credential fields come with the accessToken they describe"
        )
    if body.get("paused") is True:
        fields["status"] = "paused"
    elif body.get("paused") is False and current["status"] == "paused":
        fields["status"] = "active"
    elif (
        body.get("paused") is False
        and current["status"] == "needs_reauth"
        and ("accessToken" not in body)
    ):
        raise ApiError(
            409,
            "needs_reauth",
            "connection needs re-authorisation: send a new accessToken to resume it",
        )
    return fields
