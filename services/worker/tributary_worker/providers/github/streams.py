"""GitHub streams: the user events timeline, read for one UTC day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
from tributary_common.connectors import Record, SyncContext

from ..responses import json_list
from ..stream import PagedStream
from .client import next_link

#: The timeline holds at most this many events, whatever the paging says (§1.2).
EVENT_CAP = 300
PAGE_SIZE = 100


@dataclass
class EventsCursor:
    """Where a pass over the timeline for ``window`` stands.

    ``next`` is the page to fetch (None: the pass is complete); ``etag`` is the first
    page's, for a conditional re-check; ``newest_id`` is the newest event seen at the top;
    ``stop_id`` is the previous pass's newest (events at or below it were stored already);
    ``oldest_id`` is the oldest event this pass handled, so a resumed page whose items
    shifted down never counts one twice.
    """

    window: str
    next: str | None = None
    etag: str | None = None
    newest_id: int = 0
    stop_id: int = 0
    oldest_id: int | None = None
    fetched: int = 0
    day_count: int = 0

    @classmethod
    def load(cls, raw: dict[str, Any] | None, window: str) -> EventsCursor | None:
        if not raw or raw.get("window") != window:
            return None
        return cls(**{k: raw[k] for k in cls.__dataclass_fields__ if k in raw})

    @property
    def token(self) -> str | None:
        return self.next

    @token.setter
    def token(self, value: str | None) -> None:
        self.next = value

    def dump(self) -> dict[str, Any]:
        return dict(self.__dict__)


class UserEventsStream(PagedStream[EventsCursor]):
    """``GET /users/{login}/events``, newest first, paged until before the day."""

    resource = "events"
    kind = "event"
    page_size = PAGE_SIZE

    def __init__(self, login: str, day: date, base_url: str) -> None:
        self.login = login
        self.day = day
        self.base_url = base_url
        self.start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        self.end_at = self.start + timedelta(days=1)

    def first_page(self) -> str:
        return f"/users/{quote(self.login, safe='')}/events?per_page={PAGE_SIZE}"

    def begin(self, ctx: SyncContext, raw: dict[str, Any] | None) -> EventsCursor:
        window = self.day.isoformat()
        cursor = EventsCursor.load(raw, window)
        if cursor is None:
            return EventsCursor(window=window, next=self.first_page())
        if cursor.next is None:
            # A finished pass: start a new one that only goes down to what it stored.
            return EventsCursor(
                window=window,
                next=self.first_page(),
                etag=cursor.etag,
                stop_id=cursor.newest_id,
                newest_id=cursor.newest_id,
                day_count=cursor.day_count,
            )
        return cursor

    def resumed(self, state: EventsCursor) -> bool:
        return not _first(state)

    def restart(self, ctx: SyncContext, state: EventsCursor) -> EventsCursor:
        return EventsCursor(window=state.window, next=self.first_page())

    def fetch(self, ctx: SyncContext, state: EventsCursor, page_size: int) -> httpx.Response:
        assert state.next is not None
        headers = {"If-None-Match": state.etag} if _first(state) and state.etag else {}
        return ctx.http.request("GET", state.next, headers=headers)

    def read(self, ctx: SyncContext, state: EventsCursor, page: httpx.Response) -> list[Record]:
        if page.status_code == 304:
            state.next = None
            return []
        items = json_list(page)
        if _first(state):
            state.etag = page.headers.get("etag")
            state.newest_id = max([state.newest_id, *(int(i["id"]) for i in items[:1])])
        records, reached_end = self._records(items, state)
        state.fetched += len(items)
        more = not reached_end and state.fetched < EVENT_CAP
        state.next = next_link(page, self.base_url) if more else None
        state.day_count += len(records)
        return records

    def end(self, ctx: SyncContext, state: EventsCursor) -> None:
        ctx.set_activity(self.day, state.day_count)

    def _records(
        self, items: list[dict[str, Any]], cursor: EventsCursor
    ) -> tuple[list[Record], bool]:
        """Return this page's records of the day, and whether the pass reached its end."""
        records: list[Record] = []
        for item in items:
            event_id = int(item["id"])
            created = datetime.fromisoformat(item["created_at"].replace("Z", "+00:00"))
            if event_id <= cursor.stop_id or created < self.start:
                return records, True
            if cursor.oldest_id is not None and event_id >= cursor.oldest_id:
                continue
            cursor.oldest_id = event_id
            if created < self.end_at:
                records.append(Record(self.kind, item["id"], created, item))
        return records, False


def _first(state: EventsCursor) -> bool:
    """True before the pass's first page was read."""
    return state.oldest_id is None and state.fetched == 0
