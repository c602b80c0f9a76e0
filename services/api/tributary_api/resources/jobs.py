"""`/api/sync/jobs/{id}`: one job and its attempts, optionally scoped to a user."""

from __future__ import annotations

from typing import Any

import falcon
from tributary_common.ledger import jobs

from .. import schemas, serialize
from ..deps import ApiDeps
from ..validation import query
from .common import parse_id, scoped

PARAMS: dict[str, dict[str, Any]] = {"userId": {"schema": schemas.ID}}


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
