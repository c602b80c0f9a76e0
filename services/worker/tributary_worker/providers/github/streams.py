"""GitHub streams: the user events timeline, read for one UTC day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from tributary_common.connectors import Record, SyncContext

from ..responses import json_list
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

    def dump(self) -> dict[str, Any]:
        return dict(self.__dict__)


class UserEventsStream:
    """``GET /users/{login}/events``, newest first, paged until before the day."""

    resource = "events"
    kind = "event"

    def __init__(self, login: str, day: date, base_url: str) -> None:
        self.login = login
        self.day = day
        self.base_url = base_url
        self.start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        self.end = self.start + timedelta(days=1)

    def first_page(self) -> str:
        return f"/users/{quote(self.login, safe='')}/events?per_page={PAGE_SIZE}"

    def sync(self, ctx: SyncContext) -> None:
        window = self.day.isoformat()
        cursor = EventsCursor.load(ctx.load_cursor(self.resource), window)
        if cursor is None:
            cursor = EventsCursor(window=window, next=self.first_page())
        elif cursor.next is None:
            # A finished pass: start a new one that only goes down to what it stored.
            cursor = EventsCursor(
                window=window,
                next=self.first_page(),
                etag=cursor.etag,
                stop_id=cursor.newest_id,
                newest_id=cursor.newest_id,
                day_count=cursor.day_count,
            )
        while cursor.next is not None:
            self._page(ctx, cursor)
            if cursor.next is not None:
                ctx.check_stop()
        ctx.set_activity(self.day, cursor.day_count)

    def _page(self, ctx: SyncContext, cursor: EventsCursor) -> None:
        assert cursor.next is not None
        first = cursor.oldest_id is None and cursor.fetched == 0
        headers = {"If-None-Match": cursor.etag} if first and cursor.etag else {}
        response = ctx.http.request("GET", cursor.next, headers=headers)
        if response.status_code == 304:
            cursor.next = None
            ctx.save_page(self.resource, [], cursor.dump())
            return
        items = json_list(response)
        if first:
            cursor.etag = response.headers.get("etag")
            cursor.newest_id = max([cursor.newest_id, *(int(i["id"]) for i in items[:1])])
        records, reached_end = self._records(items, cursor)
        cursor.fetched += len(items)
        more = not reached_end and cursor.fetched < EVENT_CAP
        cursor.next = next_link(response, self.base_url) if more else None
        cursor.day_count += len(records)
        ctx.save_page(self.resource, records, cursor.dump())

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
            if created < self.end:
                records.append(Record(self.kind, item["id"], created, item))
        return records, False
