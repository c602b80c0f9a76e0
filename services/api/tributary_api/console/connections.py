"""The Connections page: search by user or account, status and reason, pause/resume, sync now.

Pause and resume apply the same rules as ``PATCH /api/connections/{id}`` (a
`needs_reauth` connection is resumed only by a new token, which the console does not
take); "sync now" enqueues a manual job as ``POST /api/sync/manual`` does.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import falcon
from tributary_common.ledger import browse, connections

from ..deps import ApiDeps
from ..enqueue import enqueue_and_send
from ..errors import ApiError
from ..resources.common import parse_id
from ..resources.connections import apply_patch
from .forms import ConsoleInputError, form, query, values
from .render import page, redirect

PAGE_SIZE = 50
SEARCH: dict[str, dict[str, Any]] = {
    "q": {"type": "string", "maxLength": 200, "pattern": "^[^\\x00-\\x1f\\x7f]+$"},
    "status": {"type": "string", "enum": list(connections.STATUSES)},
    "page": {"type": "integer", "minimum": 1, "maximum": 10000},
}
#: Where to go back to after an action (the list with its search kept).
BACK: dict[str, dict[str, Any]] = {"back": {"type": "string", "maxLength": 500}}


class ConnectionList:
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        error, chosen, rows = None, {}, []
        try:
            chosen = query(req, SEARCH)
        except ConsoleInputError as exc:
            error, resp.status = str(exc), falcon.HTTP_400
        number = chosen.get("page", 1)
        if error is None:
            rows = browse.connections(
                self.deps.pool,
                chosen.get("q"),
                status=chosen.get("status"),
                limit=PAGE_SIZE + 1,
                offset=(number - 1) * PAGE_SIZE,
            )
        keep = {k: v for k, v in chosen.items() if k != "page"}
        more = len(rows) > PAGE_SIZE
        page(
            req,
            resp,
            "connections.html",
            connections=rows[:PAGE_SIZE],
            chosen=chosen,
            error=error,
            notice=req.get_param("done"),
            statuses=connections.STATUSES,
            next_url=f"/console/connections?{urlencode({**keep, 'page': number + 1})}"
            if more
            else None,
            prev_url=f"/console/connections?{urlencode({**keep, 'page': number - 1})}"
            if number > 1
            else None,
            here=req.relative_uri,
        )


def _back(req: falcon.Request, done: str) -> str:
    raw = values(form(req), BACK).get("back", "")
    base = raw if raw.startswith("/console/connections") and "//" not in raw else ""
    base = base.split("?", 1)
    query_part = base[1] if len(base) > 1 else ""
    kept = "&".join(p for p in query_part.split("&") if p and not p.startswith("done="))
    return "/console/connections?" + (kept + "&" if kept else "") + urlencode({"done": done})


class ConnectionAction:
    """POST /console/connections/{id}/{action}: pause, resume or sync."""

    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def on_post(
        self, req: falcon.Request, resp: falcon.Response, connection_id: str, action: str
    ) -> None:
        row = connections.get(self.deps.pool, parse_id(connection_id, "connection"))
        label = f"{row['provider']} connection of {row['user_id']}"
        if action in ("pause", "resume"):
            try:
                apply_patch(self.deps, row, {"paused": action == "pause"})
            except ApiError as exc:
                redirect(resp, _back(req, f"{label}: {exc.message}"))
                return
            redirect(resp, _back(req, f"{label}: {'paused' if action == 'pause' else 'resumed'}"))
        elif action == "sync":
            if row["status"] != "active":
                redirect(resp, _back(req, f"{label} is {row['status']}: not synced"))
                return
            accepted = enqueue_and_send(
                self.deps.pool,
                self.deps.dispatcher,
                connection_id=row["id"],
                sync_date=self.deps.clock().date(),
                trigger="manual",
            )
            job = accepted.result.job
            note = " (already queued)" if accepted.result.deduplicated else ""
            redirect(resp, _back(req, f"{label}: sync job {job['id']} queued{note}"))
        else:
            raise falcon.HTTPNotFound(description=f"no action {action!r}")
