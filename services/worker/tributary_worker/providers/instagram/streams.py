"""Instagram stream: the IG user's media (``/{ig-user-id}/media``).

The edge has no time filter and no documented order (providers.md §4.2); in practice it
is newest first, which is what lets an incremental pass stop early. A pass pages until
it has seen everything newer than the last pass's newest item *and* everything on the
sync date (the day's activity count is recomputed from the API, not from storage), then
stores the new high-water mark. Days are UTC days.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tributary_common.connectors import Record, SyncContext

from ..meta_ads.graph import EdgePage, fetch_edge_page, parse_graph_time
from ..stream import PagedStream
from .client import PAGE_LIMIT, media_path

MEDIA_FIELDS = (
    "id",
    "caption",
    "media_type",
    "media_product_type",
    "media_url",
    "permalink",
    "thumbnail_url",
    "timestamp",
    "username",
    "like_count",
    "comments_count",
)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _parse_iso(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


@dataclass
class MediaCursor:
    """A pass over the media: the mark (newest stored), the next ``after``, the pass's
    newest timestamp and the sync date's count so far."""

    sync_date: str
    high_water: datetime | None
    token: str | None = None
    newest: datetime | None = None
    day_count: int = 0

    def dump(self) -> dict[str, Any]:
        if self.token is None:
            return {"high_water": _iso(self.newest)}
        return {
            "high_water": _iso(self.high_water),
            "after": self.token,
            "pass_newest": _iso(self.newest),
            "sync_date": self.sync_date,
            "day_count": self.day_count,
        }


class MediaStream(PagedStream[MediaCursor]):
    """Pages an IG user's media into ``media`` records and the sync date's activity."""

    resource = "media"
    kind = "media"
    page_size = PAGE_LIMIT
    min_page_size = 5

    def __init__(self, ig_user_id: str, sync_date: date) -> None:
        self.path = media_path(ig_user_id)
        self.sync_date = sync_date
        self.day_start = datetime.combine(sync_date, time.min, tzinfo=UTC)
        self.day_end = self.day_start + timedelta(days=1)

    def params(self, limit: int = PAGE_LIMIT) -> dict[str, Any]:
        return {"fields": ",".join(MEDIA_FIELDS), "limit": limit}

    def caught_up(self, stamps: list[datetime], high_water: datetime | None) -> bool:
        """True once a page reaches items older than both the mark and the sync date."""
        if high_water is None:
            return False
        return any(ts < self.day_start and ts <= high_water for ts in stamps)

    def begin(self, ctx: SyncContext, raw: dict[str, Any] | None) -> MediaCursor:
        cursor = raw or {}
        day = self.sync_date.isoformat()
        high_water = _parse_iso(cursor.get("high_water"))
        if cursor.get("after") and cursor.get("sync_date") == day:
            # Resume an interrupted pass, with the count it had reached.
            newest = _parse_iso(cursor.get("pass_newest")) or high_water
            count = int(cursor.get("day_count", 0))
            return MediaCursor(day, high_water, cursor["after"], newest, count)
        return MediaCursor(day, high_water, None, high_water)

    def restart(self, ctx: SyncContext, state: MediaCursor) -> MediaCursor:
        return MediaCursor(state.sync_date, state.high_water, None, state.high_water)

    def fetch(self, ctx: SyncContext, state: MediaCursor, page_size: int) -> EdgePage:
        return fetch_edge_page(ctx.http, self.path, self.params(page_size), state.token)

    def read(self, ctx: SyncContext, state: MediaCursor, page: EdgePage) -> list[Record]:
        records = [self.record(item) for item in page.items if item.get("id")]
        stamps = [r.occurred_at for r in records if r.occurred_at is not None]
        state.day_count += sum(1 for ts in stamps if self.day_start <= ts < self.day_end)
        done = page.after is None or self.caught_up(stamps, state.high_water)
        newest = state.newest
        state.newest = max([*stamps, newest] if newest is not None else stamps, default=None)
        state.token = None if done else page.after
        return records

    def end(self, ctx: SyncContext, state: MediaCursor) -> None:
        ctx.set_activity(self.sync_date, state.day_count)

    def record(self, item: Mapping[str, Any]) -> Record:
        return Record(
            kind=self.kind,
            external_id=str(item["id"]),
            occurred_at=parse_graph_time(item.get("timestamp")),
            data=dict(item),
        )
