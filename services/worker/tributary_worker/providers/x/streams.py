"""X streams: a user's posts timeline within one UTC day."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from tributary_common.connectors import Record, SyncContext

from ..responses import json_object

PAGE_SIZE = 100
TWEET_FIELDS = "created_at,public_metrics"
#: X refuses an ``end_time`` too close to now; stay this far behind the clock.
END_TIME_MARGIN_SECONDS = 15


@dataclass
class PostsCursor:
    """Where a pass over ``window`` stands.

    ``next_token`` continues the pass (None with ``in_pass`` False: complete);
    ``newest_id`` is the newest post stored, the ``since_id`` of the next pass;
    ``since_id`` is the one this pass runs with; ``oldest_id`` the oldest post handled,
    so a resumed page never counts one twice.
    """

    window: str
    next_token: str | None = None
    in_pass: bool = True
    newest_id: int = 0
    since_id: int = 0
    oldest_id: int | None = None
    day_count: int = 0

    @classmethod
    def load(cls, raw: dict[str, Any] | None, window: str) -> PostsCursor | None:
        if not raw or raw.get("window") != window:
            return None
        return cls(**{k: raw[k] for k in cls.__dataclass_fields__ if k in raw})

    def dump(self) -> dict[str, Any]:
        return dict(self.__dict__)


class UserPostsStream:
    """``GET /2/users/{id}/tweets`` with ``start_time``/``end_time`` and ``since_id``."""

    resource = "posts"
    kind = "post"

    def __init__(self, user_id: str, day: date, clock: Callable[[], float]) -> None:
        self.user_id = user_id
        self.day = day
        self.start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        self.end = self.start + timedelta(days=1) - timedelta(seconds=1)  # inclusive
        self.clock = clock

    def sync(self, ctx: SyncContext) -> None:
        window = self.day.isoformat()
        cursor = PostsCursor.load(ctx.load_cursor(self.resource), window)
        if cursor is None:
            cursor = PostsCursor(window=window)
        elif not cursor.in_pass:
            cursor = PostsCursor(
                window=window,
                newest_id=cursor.newest_id,
                since_id=cursor.newest_id,
                day_count=cursor.day_count,
            )
        end = min(self.end, datetime.fromtimestamp(self.clock() - END_TIME_MARGIN_SECONDS, UTC))
        while cursor.in_pass and end >= self.start:
            self._page(ctx, cursor, end)
            if cursor.in_pass:
                ctx.check_stop()
        ctx.set_activity(self.day, cursor.day_count)

    def _page(self, ctx: SyncContext, cursor: PostsCursor, end: datetime) -> None:
        params: dict[str, Any] = {
            "start_time": _iso(self.start),
            "end_time": _iso(end),
            "max_results": PAGE_SIZE,
            "tweet.fields": TWEET_FIELDS,
        }
        if cursor.since_id:
            params["since_id"] = str(cursor.since_id)
        if cursor.next_token:
            params["pagination_token"] = cursor.next_token
        path = f"/2/users/{quote(self.user_id, safe='')}/tweets"
        body = json_object(ctx.http.request("GET", path, params=params))
        records: list[Record] = []
        for post in body.get("data") or []:
            post_id = int(post["id"])
            if cursor.oldest_id is not None and post_id >= cursor.oldest_id:
                continue
            cursor.oldest_id = post_id
            cursor.newest_id = max(cursor.newest_id, post_id)
            created = datetime.fromisoformat(post["created_at"].replace("Z", "+00:00"))
            records.append(Record(self.kind, post["id"], created, post))
        cursor.next_token = (body.get("meta") or {}).get("next_token")
        cursor.in_pass = cursor.next_token is not None
        cursor.day_count += len(records)
        ctx.save_page(self.resource, records, cursor.dump())


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
