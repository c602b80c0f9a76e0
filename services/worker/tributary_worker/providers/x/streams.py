"""X streams: a user's posts timeline within one UTC day."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from tributary_common.connectors import Record, SyncContext

from ..responses import json_object
from ..stream import PagedStream

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

    @property
    def token(self) -> str | None:
        return self.next_token

    @token.setter
    def token(self, value: str | None) -> None:
        # None ends the pass (a read at the last page, or the stream base's guards).
        self.next_token = value
        self.in_pass = value is not None

    @classmethod
    def load(cls, raw: dict[str, Any] | None, window: str) -> PostsCursor | None:
        if not raw or raw.get("window") != window:
            return None
        return cls(**{k: raw[k] for k in cls.__dataclass_fields__ if k in raw})

    def dump(self) -> dict[str, Any]:
        return dict(self.__dict__)


class UserPostsStream(PagedStream[PostsCursor]):
    """``GET /2/users/{id}/tweets`` with ``start_time``/``end_time`` and ``since_id``."""

    resource = "posts"
    kind = "post"
    page_size = PAGE_SIZE

    def __init__(self, user_id: str, day: date, clock: Callable[[], float]) -> None:
        self.user_id = user_id
        self.day = day
        self.start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        self.end_at = self.start + timedelta(days=1) - timedelta(seconds=1)  # inclusive
        self.clock = clock
        self.until = self.end_at

    def sync(self, ctx: SyncContext) -> int:
        self.until = min(
            self.end_at, datetime.fromtimestamp(self.clock() - END_TIME_MARGIN_SECONDS, UTC)
        )
        if self.until < self.start:  # the day has not begun on X's side yet
            ctx.set_activity(self.day, self.begin(ctx, ctx.load_cursor(self.resource)).day_count)
            return 0
        return super().sync(ctx)

    def begin(self, ctx: SyncContext, raw: dict[str, Any] | None) -> PostsCursor:
        window = self.day.isoformat()
        cursor = PostsCursor.load(raw, window)
        if cursor is None:
            return PostsCursor(window=window)
        if cursor.in_pass:
            return cursor
        return PostsCursor(
            window=window,
            newest_id=cursor.newest_id,
            since_id=cursor.newest_id,
            day_count=cursor.day_count,
        )

    def restart(self, ctx: SyncContext, state: PostsCursor) -> PostsCursor:
        return PostsCursor(window=state.window)

    def fetch(self, ctx: SyncContext, state: PostsCursor, page_size: int) -> dict[str, Any]:
        params: dict[str, Any] = {
            "start_time": _iso(self.start),
            "end_time": _iso(self.until),
            "max_results": page_size,
            "tweet.fields": TWEET_FIELDS,
        }
        if state.since_id:
            params["since_id"] = str(state.since_id)
        if state.token:
            params["pagination_token"] = state.token
        path = f"/2/users/{quote(self.user_id, safe='')}/tweets"
        return json_object(ctx.http.request("GET", path, params=params))

    def read(self, ctx: SyncContext, state: PostsCursor, page: dict[str, Any]) -> list[Record]:
        records: list[Record] = []
        for post in page.get("data") or []:
            post_id = int(post["id"])
            if state.oldest_id is not None and post_id >= state.oldest_id:
                continue
            state.oldest_id = post_id
            state.newest_id = max(state.newest_id, post_id)
            created = datetime.fromisoformat(post["created_at"].replace("Z", "+00:00"))
            records.append(Record(self.kind, post["id"], created, post))
        state.token = (page.get("meta") or {}).get("next_token")
        state.day_count += len(records)
        return records

    def end(self, ctx: SyncContext, state: PostsCursor) -> None:
        ctx.set_activity(self.day, state.day_count)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
