"""`/api/dead-letters`: list (keyset pages), replay by ids or filter, delete, bulk purge."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Any

import falcon
from tributary_common.ledger import deadletters
from tributary_common.replay import replay_dead_letters

from .. import schemas, serialize
from ..deps import ApiDeps
from ..errors import ApiError
from ..validation import query, read_json
from .common import parse_id

FILTER_PARAMS: dict[str, dict[str, Any]] = {
    "provider": {"schema": schemas.PROVIDER},
    "category": {"schema": schemas.CATEGORY},
    "userId": {"schema": schemas.ID},
}
LIST_PARAMS: dict[str, dict[str, Any]] = {
    **FILTER_PARAMS,
    "limit": {"schema": {"type": "integer", "minimum": 1, "maximum": 500}},
    #: Opaque: unpadded base64url of "<created_at ISO>|<letter id>", as `nextCursor` gives.
    "cursor": {"schema": {"type": "string", "maxLength": 200, "pattern": "^[A-Za-z0-9_-]+$"}},
    "includeReplayed": {"schema": {"type": "boolean"}},
}
PURGE_PARAMS: dict[str, dict[str, Any]] = {
    **FILTER_PARAMS,
    "replayedOnly": {"schema": {"type": "boolean"}},
    "all": {"schema": {"type": "boolean"}},
}


def _filter(values: dict[str, Any]) -> deadletters.Filter:
    return deadletters.Filter(values.get("provider"), values.get("category"), values.get("userId"))


def encode_cursor(row: dict[str, Any]) -> str:
    raw = f"{row['created_at'].isoformat()}|{row['id']}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, _, letter_id = raw.partition("|")
        return datetime.fromisoformat(created), uuid.UUID(letter_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(400, "invalid_parameter", "cursor is not valid", field="cursor") from None


class DeadLetterCollection:
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params = query(req, LIST_PARAMS)
        limit = params.get("limit", 50)
        after = decode_cursor(params["cursor"]) if "cursor" in params else None
        rows = deadletters.page(
            self.deps.pool,
            _filter(params),
            limit=limit + 1,
            after=after,
            include_replayed=params.get("includeReplayed", False),
        )
        more = len(rows) > limit
        rows = rows[:limit]
        resp.media = {
            "deadLetters": [serialize.dead_letter(r) for r in rows],
            "nextCursor": encode_cursor(rows[-1]) if more else None,
        }

    def on_delete(self, req: falcon.Request, resp: falcon.Response) -> None:
        params = query(req, PURGE_PARAMS)
        where = _filter(params)
        if (
            where == deadletters.Filter()
            and not params.get("all")
            and not params.get("replayedOnly")
        ):
            raise ApiError(
                400, "missing_filter", "give provider, category, userId, replayedOnly or all=true"
            )
        purged = deadletters.purge(
            self.deps.pool, where, replayed_only=params.get("replayedOnly", False)
        )
        resp.media = {"purged": purged}


class DeadLetterItem:
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response, letter_id: str) -> None:
        query(req, {})
        resp.media = serialize.dead_letter(
            deadletters.get(self.deps.pool, parse_id(letter_id, "dead letter"))
        )

    def on_delete(self, req: falcon.Request, resp: falcon.Response, letter_id: str) -> None:
        query(req, {})
        deadletters.delete(self.deps.pool, parse_id(letter_id, "dead letter"))
        resp.status = falcon.HTTP_204


class DeadLetterReplay:
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        query(req, {})
        body = read_json(req, schemas.REPLAY, self.deps.settings.max_body_bytes)
        ids = [uuid.UUID(i) for i in body["ids"]] if "ids" in body else None
        limit = body.get("limit", len(ids) if ids else 100)
        replayed, failed = replay_dead_letters(
            self.deps.pool,
            self.deps.dispatcher,
            _filter(body.get("filter", {})),
            ids=ids,
            limit=limit,
        )
        resp.media = {
            "replayed": [
                {
                    "id": str(r.letter_id),
                    "jobId": str(r.enqueued.job["id"]),
                    "connectionId": str(r.enqueued.job["connection_id"]),
                    "deduplicated": r.enqueued.deduplicated,
                    "dispatched": r.dispatched,
                }
                for r in replayed
            ],
            # Each is marked (replayError): filter replays walk past it from now on.
            "errors": [{"id": str(f.letter_id), "error": f.error, "marked": True} for f in failed],
        }
