"""The Dead letters pages: filter, inspect the payload, replay one or all matching, purge.

Replay and purge are two steps: the first POST shows what would be touched and asks for
confirmation; only the second (``confirm=yes``) acts. The replay result lists the jobs it
created, each linked to its job page.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

import falcon
from tributary_common.ledger import browse, deadletters
from tributary_common.replay import replay_dead_letters

from .. import schemas
from ..deps import ApiDeps
from ..errors import ApiError
from ..resources.common import parse_id
from ..resources.deadletters import decode_cursor, encode_cursor
from .forms import ConsoleInputError, form, query, values
from .render import page, redirect

PAGE_SIZE = 50
#: At most this many letters are replayed (or listed for confirmation) per action.
BULK_LIMIT = 500
FILTERS: dict[str, dict[str, Any]] = {
    "provider": schemas.PROVIDER,
    "category": schemas.CATEGORY,
    "userId": schemas.ID,
}
LIST_EXTRA: dict[str, dict[str, Any]] = {
    "includeReplayed": {"type": "boolean"},
    "cursor": {"type": "string", "maxLength": 200},
}
ACTION: dict[str, dict[str, Any]] = {**FILTERS, "id": schemas.UUID, "confirm": {"enum": ["yes"]}}


def _filter(chosen: dict[str, Any]) -> deadletters.Filter:
    return deadletters.Filter(chosen.get("provider"), chosen.get("category"), chosen.get("userId"))


class LetterList:
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        error, chosen, extra, rows = None, {}, {}, []
        try:
            chosen = query(req, FILTERS)
            extra = query(req, LIST_EXTRA)
            after = decode_cursor(extra["cursor"]) if "cursor" in extra else None
            rows = deadletters.page(
                self.deps.pool,
                _filter(chosen),
                limit=PAGE_SIZE + 1,
                after=after,
                include_replayed=extra.get("includeReplayed", False),
            )
        except (ConsoleInputError, ApiError) as exc:
            error, resp.status = str(exc), falcon.HTTP_400
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        keep = {**chosen, **({"includeReplayed": "true"} if extra.get("includeReplayed") else {})}
        next_url = (
            "/console/dead-letters?" + urlencode({**keep, "cursor": encode_cursor(rows[-1])})
            if more
            else None
        )
        page(
            req,
            resp,
            "deadletters.html",
            letters=rows,
            chosen=chosen,
            include_replayed=extra.get("includeReplayed", False),
            error=error,
            next_url=next_url,
            filters=FILTERS,
        )


class LetterPage:
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response, letter_id: str) -> None:
        letter = deadletters.get(self.deps.pool, parse_id(letter_id, "dead letter"))
        page(req, resp, "deadletter.html", letter=letter)


def _action(req: falcon.Request) -> tuple[dict[str, Any], uuid.UUID | None, bool]:
    try:
        chosen = values(form(req), ACTION)
    except ConsoleInputError as exc:
        raise ApiError(400, "invalid_field", str(exc)) from None
    one = uuid.UUID(chosen.pop("id")) if "id" in chosen else None
    confirmed = chosen.pop("confirm", None) == "yes"
    return chosen, one, confirmed


class Replay:
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        chosen, one, confirmed = _action(req)
        where = _filter(chosen)
        ids = [one] if one else None
        if not confirmed:
            pending = deadletters.select_for_replay(
                self.deps.pool, where, ids=ids, limit=BULK_LIMIT
            )
            page(
                req,
                resp,
                "confirm.html",
                action="replay",
                chosen=chosen,
                one=one,
                count=len(pending),
                capped=len(pending) == BULK_LIMIT,
            )
            return
        replayed, failed = replay_dead_letters(
            self.deps.pool, self.deps.dispatcher, where, ids=ids, limit=BULK_LIMIT
        )
        created = browse.replay_jobs(self.deps.pool, [r.letter_id for r in replayed])
        page(req, resp, "replayed.html", jobs=created, replayed=replayed, failed=failed)


class Purge:
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        chosen, one, confirmed = _action(req)
        where = _filter(chosen)
        if not confirmed:
            count = 1 if one else browse.count_letters(self.deps.pool, where)
            page(
                req,
                resp,
                "confirm.html",
                action="purge",
                chosen=chosen,
                one=one,
                count=count,
                capped=False,
            )
            return
        if one:
            deadletters.delete(self.deps.pool, one)
        else:
            deadletters.purge(self.deps.pool, where)
        redirect(resp, "/console/dead-letters?" + urlencode(chosen))
