"""Instagram stream: the IG user's media (``/{ig-user-id}/media``).

The edge has no time filter and no documented order (providers.md §4.2); in practice it
is newest first, which is what lets an incremental pass stop early. A pass pages until
it has seen everything newer than the last pass's newest item *and* everything on the
sync date (the day's activity count is recomputed from the API, not from storage), then
stores the new high-water mark. Days are UTC days.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tributary_common.connectors import Record, SyncContext

from ..meta_ads.graph import fetch_or_restart, parse_graph_time
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


class MediaStream:
    """Pages an IG user's media into ``media`` records and the sync date's activity."""

    resource = "media"
    kind = "media"

    def __init__(self, ig_user_id: str, sync_date: date) -> None:
        self.path = media_path(ig_user_id)
        self.sync_date = sync_date
        self.day_start = datetime.combine(sync_date, time.min, tzinfo=UTC)
        self.day_end = self.day_start + timedelta(days=1)

    def params(self) -> dict[str, Any]:
        return {"fields": ",".join(MEDIA_FIELDS), "limit": PAGE_LIMIT}

    def caught_up(self, stamps: list[datetime], high_water: datetime | None) -> bool:
        """True once a page reaches items older than both the mark and the sync date."""
        if high_water is None:
            return False
        return any(ts < self.day_start and ts <= high_water for ts in stamps)

    def sync(self, ctx: SyncContext) -> int:
        """Fetch new media and the sync date's count; return how many records were new."""
        cursor = ctx.load_cursor(self.resource) or {}
        high_water = _parse_iso(cursor.get("high_water"))
        after: str | None = None
        newest, day_count = high_water, 0
        if cursor.get("after") and cursor.get("sync_date") == self.sync_date.isoformat():
            # Resume an interrupted pass, with the count it had reached.
            after = cursor["after"]
            newest = _parse_iso(cursor.get("pass_newest")) or high_water
            day_count = int(cursor.get("day_count", 0))
        new, resuming = 0, after is not None
        while True:
            page = fetch_or_restart(ctx.http, self.path, self.params(), after, resuming)
            if page is None:
                after, newest, day_count = None, high_water, 0
                resuming = False
                continue
            resuming = False
            records = [self.record(item) for item in page.items if item.get("id")]
            stamps = [r.occurred_at for r in records if r.occurred_at is not None]
            day_count += sum(1 for ts in stamps if self.day_start <= ts < self.day_end)
            done = page.after is None or self.caught_up(stamps, high_water)
            newest = max([*stamps, newest] if newest is not None else stamps, default=None)
            next_cursor: dict[str, Any] = {"high_water": _iso(newest if done else high_water)}
            if not done:
                next_cursor |= {
                    "after": page.after,
                    "pass_newest": _iso(newest),
                    "sync_date": self.sync_date.isoformat(),
                    "day_count": day_count,
                }
            new += ctx.save_page(self.resource, records, next_cursor)
            if done:
                ctx.set_activity(self.sync_date, day_count)
                return new
            after = page.after
            ctx.check_stop()

    def record(self, item: Mapping[str, Any]) -> Record:
        return Record(
            kind=self.kind,
            external_id=str(item["id"]),
            occurred_at=parse_graph_time(item.get("timestamp")),
            data=dict(item),
        )
