"""`/api/sync/jobs`: jobs filtered and paged; `/api/sync/jobs/{id}`: one job and its attempts."""

from __future__ import annotations

from datetime import date
from typing import Any

import falcon
from tributary_common.ledger import browse, jobs

from .. import schemas, serialize
from ..deps import ApiDeps
from ..validation import query
from .common import parse_id, scoped
from .deadletters import decode_cursor, encode_cursor

PARAMS: dict[str, dict[str, Any]] = {"userId": {"schema": schemas.ID}}
LIST_PARAMS: dict[str, dict[str, Any]] = {
    "status": {"schema": schemas.JOB_STATUS},
    "provider": {"schema": schemas.PROVIDER},
    "userId": {"schema": schemas.ID},
    "trigger": {"schema": {"type": "string", "enum": ["manual", "scheduled", "retry"]}},
    "date": {"schema": schemas.DATE},
    "limit": {"schema": {"type": "integer", "minimum": 1, "maximum": 500}},
    # Opaque: only a `nextCursor` this route answered is valid (400 otherwise).
    "cursor": {"schema": {"type": "string", "maxLength": 200, "pattern": "^[A-Za-z0-9_-]+$"}},
}


class JobCollection:
    """Jobs newest first, filtered by status, provider, user, trigger and creation day (UTC)."""

    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params = query(req, LIST_PARAMS)
        limit = params.get("limit", 50)
        rows = browse.jobs(
            self.deps.pool,
            browse.JobFilter(
                status=params.get("status"),
                provider=params.get("provider"),
                user_id=params.get("userId"),
                trigger=params.get("trigger"),
                day=date.fromisoformat(params["date"]) if "date" in params else None,
            ),
            limit=limit + 1,
            after=decode_cursor(params["cursor"]) if "cursor" in params else None,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        resp.media = {
            "jobs": [serialize.job(r) for r in rows],
            "nextCursor": encode_cursor(rows[-1]) if more else None,
        }


class JobItem:
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        params = query(req, PARAMS)
        row = jobs.get(self.deps.pool, parse_id(job_id, "job"))
        scoped(row, params.get("userId"), "job", job_id)
        attempts = jobs.attempts(self.deps.pool, row["id"])
        resp.media = {
            "job": serialize.job(row),
            "attempts": [serialize.attempt(a) for a in attempts],
        }
