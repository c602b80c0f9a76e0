"""`/api/sync/manual` (enqueue one sync, or one per active connection) and `/api/sync/status` (a user's or the queue's)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import falcon
import redis
from tributary_common.ledger import connections, stats

from .. import schemas, serialize
from ..cache import Expiring
from ..deps import ApiDeps
from ..enqueue import enqueue_and_send
from ..errors import ApiError
from ..validation import query, read_json

STATUS_PARAMS: dict[str, dict[str, Any]] = {
    "userId": {"schema": schemas.ID},
    "provider": {"schema": schemas.PROVIDER},
}


class ManualSync:
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        query(req, {})
        body = read_json(req, schemas.MANUAL_SYNC, self.deps.settings.max_body_bytes)
        today = self.deps.clock().date()
        sync_date = _sync_date(body.get("syncDate"), today)
        resp.status = falcon.HTTP_202
        if "provider" not in body:
            resp.media = self._all(body["userId"], sync_date, "campaignIds" in body)
            return
        user_id, provider = body["userId"], body["provider"]
        connection = connections.find_for_user(self.deps.pool, user_id, provider)
        if connection is None:
            raise ApiError(404, "connection_not_found", f"user has no {provider} connection")
        if connection["status"] == "needs_reauth":
            raise ApiError(
                409,
                "needs_reauth",
                f"the {provider} connection needs re-authorisation: reconnect the account",
            )
        if connection["status"] == "paused":
            raise ApiError(409, "connection_paused", f"the {provider} connection is paused")
        options = {"campaignIds": body["campaignIds"]} if "campaignIds" in body else None
        resp.media = self._enqueue(connection["id"], sync_date, options)

    def _all(self, user_id: str, sync_date: date, campaigns: bool) -> dict[str, Any]:
        """The seed's `enqueueUserSync`: one manual job per active connection of the user.

        Paused and `needs_reauth` connections are left out; 404 when none is active.
        """
        if campaigns:
            raise ApiError(
                400, "invalid_field", "campaignIds needs a provider", field="campaignIds"
            )
        active = [
            c for c in connections.list_for_user(self.deps.pool, user_id) if c["status"] == "active"
        ]
        if not active:
            raise ApiError(404, "connection_not_found", "user has no active connection")
        return {
            "jobs": [
                {
                    "provider": c["provider"],
                    "connectionId": str(c["id"]),
                    **self._enqueue(c["id"], sync_date, None),
                }
                for c in active
            ]
        }

    def _enqueue(
        self, connection_id: Any, sync_date: date, options: dict[str, Any] | None
    ) -> dict[str, Any]:
        accepted = enqueue_and_send(
            self.deps.pool,
            self.deps.dispatcher,
            connection_id=connection_id,
            sync_date=sync_date,
            trigger="manual",
            options=options,
        )
        job = accepted.result.job
        return {
            "jobId": str(job["id"]),
            "status": job["status"],
            "deduplicated": accepted.result.deduplicated,
            "queuePosition": stats.queue_position(self.deps.pool, job),
            "dueAt": serialize.iso(stats.due_at(job)),
            "queue": job["queue"],
            "dispatched": accepted.dispatched,
        }


def _sync_date(raw: str | None, today: date) -> date:
    """The window to sync: today (UTC) by default; never in the future, at most a year back."""
    if raw is None:
        return today
    day = date.fromisoformat(raw)
    # One day of slack: the caller's "today" may be ahead of UTC.
    if day > today + timedelta(days=1):
        raise ApiError(400, "invalid_field", "syncDate is in the future", field="syncDate")
    if day < today - timedelta(days=366):
        raise ApiError(400, "invalid_field", "syncDate is more than a year ago", field="syncDate")
    return day


#: How old the queue totals (`waiting`, `active`) in a user's status may be. Counting the
#: pending jobs walks an index of all of them, too much for every status request.
TOTALS_TTL_SECONDS = 1.0


class SyncStatus:
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps
        self.totals = Expiring(lambda: stats.queue_totals(deps.pool), TOTALS_TTL_SECONDS)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params = query(req, STATUS_PARAMS)
        if "userId" in params:
            if "provider" not in params:
                raise ApiError(
                    400, "missing_parameter", "provider is required with userId", field="provider"
                )
            resp.media = self._user(params["userId"], params["provider"])
        else:
            resp.media = self._queue()

    def _user(self, user_id: str, provider: str) -> dict[str, Any]:
        row, recent = stats.user_status(self.deps.pool, user_id, provider)
        if row is None:
            raise ApiError(404, "connection_not_found", f"user has no {provider} connection")
        totals = self.totals.get()
        return {
            "provider": provider,
            "connection": {
                "status": row["connection_status"],
                "lastSyncedAt": serialize.iso(row["last_synced_at"]),
            },
            "queue": {
                "isActive": row["job_id"] is not None,
                "queuePosition": row["queue_position"],
                "dueAt": serialize.iso(row["due_at"]),
                "jobId": None if row["job_id"] is None else str(row["job_id"]),
                "waiting": totals["waiting"],
                "active": totals["processing"],
            },
            "recentSyncs": [serialize.recent_sync(r) for r in recent],
        }

    def _queue(self) -> dict[str, Any]:
        ledger = stats.queue_stats(self.deps.pool)
        try:
            bands: dict[str, Any] | None = self.deps.dispatcher.depth()
            limits: dict[str, Any] | None = self.deps.limiter.snapshot()
            redis_state = "ok"
        except redis.RedisError as exc:
            bands, limits, redis_state = None, None, f"unavailable: {type(exc).__name__}"
        return {
            "bands": bands,
            **ledger,
            "limits": limits,
            "redis": redis_state,
            "stats": {"errorCategories": stats.error_categories_24h(self.deps.pool)},
            "providers": connections.counts_by_provider(self.deps.pool),
        }
