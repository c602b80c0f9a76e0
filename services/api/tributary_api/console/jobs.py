"""The Jobs pages: a filtered, paginated list and one job with its attempts as a timeline."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

import falcon
from tributary_common.ledger import browse, jobs

from .. import schemas
from ..deps import ApiDeps
from ..errors import ApiError
from ..resources.common import parse_id
from ..resources.deadletters import decode_cursor, encode_cursor
from .forms import ConsoleInputError, query
from .render import page

PAGE_SIZE = 50
FILTERS: dict[str, dict[str, Any]] = {
    "status": schemas.JOB_STATUS,
    "provider": schemas.PROVIDER,
    "userId": schemas.ID,
    "trigger": {"type": "string", "enum": ["manual", "scheduled", "retry"]},
    "date": schemas.DATE,
}
CURSOR = {"cursor": {"type": "string", "maxLength": 200}}


class JobList:
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        error, chosen, rows, more = None, {}, [], False
        try:
            chosen = query(req, FILTERS)
            cursor = query(req, CURSOR).get("cursor")
            after = decode_cursor(cursor) if cursor else None
            rows = browse.jobs(
                self.deps.pool,
                browse.JobFilter(
                    status=chosen.get("status"),
                    provider=chosen.get("provider"),
                    user_id=chosen.get("userId"),
                    trigger=chosen.get("trigger"),
                    day=_day(chosen.get("date")),
                ),
                limit=PAGE_SIZE + 1,
                after=after,
            )
        except (ConsoleInputError, ApiError) as exc:
            error = str(exc)
            resp.status = falcon.HTTP_400
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        next_url = None
        if more:
            next_url = "/console/jobs?" + urlencode({**chosen, "cursor": encode_cursor(rows[-1])})
        page(
            req,
            resp,
            "jobs.html",
            jobs=rows,
            chosen=chosen,
            error=error,
            next_url=next_url,
            paged="cursor" in req.params,
            filters=FILTERS,
        )


def _day(raw: str | None) -> date | None:
    return date.fromisoformat(raw) if raw else None


class JobPage:
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        job = jobs.get(self.deps.pool, parse_id(job_id, "job"))
        attempts = jobs.attempts(self.deps.pool, job["id"])
        letters = browse.letters_for_job(self.deps.pool, job["id"]) if job["dead_lettered"] else []
        page(req, resp, "job.html", job=job, attempts=attempts, letters=letters)
