"""YouTube streams: resolve a channel's uploads playlist, then read its items for a day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tributary_common.categories import ErrorCategory
from tributary_common.connectors import Record, SyncContext
from tributary_common.errors import ProviderError

from ..responses import json_object
from .client import LIST_COST_UNITS

PAGE_SIZE = 50


class ChannelStream:
    """``GET /channels?part=contentDetails&id=…``: the uploads playlist id (1 unit)."""

    def __init__(self, channel_id: str) -> None:
        self.channel_id = channel_id

    def uploads_playlist(self, ctx: SyncContext) -> str:
        params = {"part": "contentDetails", "id": self.channel_id, "maxResults": 1}
        response = ctx.http.request("GET", "/channels", params=params, cost=LIST_COST_UNITS)
        items = json_object(response).get("items") or []
        try:
            return str(items[0]["contentDetails"]["relatedPlaylists"]["uploads"])
        except (IndexError, KeyError, TypeError):
            raise ProviderError(
                ErrorCategory.VALIDATION_ERROR,
                f"channel {self.channel_id} not found or has no uploads playlist",
                status=response.status_code,
            ) from None


@dataclass
class UploadsCursor:
    """Where a pass over the uploads playlist for ``window`` stands.

    ``page_token`` None with ``in_pass`` False means the pass is complete. ``newest_video``
    is the newest upload seen at the top; ``stop_video`` the previous pass's, where a new
    pass stops. ``oldest_at`` is the publish time of the last item handled, so a resumed
    page whose items shifted down never counts one twice.
    """

    window: str
    playlist: str
    page_token: str | None = None
    in_pass: bool = True
    newest_video: str | None = None
    stop_video: str | None = None
    oldest_at: str | None = None
    day_count: int = 0

    @classmethod
    def load(cls, raw: dict[str, Any] | None) -> UploadsCursor | None:
        if not raw or "playlist" not in raw:
            return None
        return cls(**{k: raw[k] for k in cls.__dataclass_fields__ if k in raw})

    def dump(self) -> dict[str, Any]:
        return dict(self.__dict__)


class PlaylistItemsStream:
    """``GET /playlistItems`` of the uploads playlist, newest first, until before the day."""

    resource = "uploads"
    kind = "video"

    def __init__(self, channel_id: str, day: date) -> None:
        self.channel = ChannelStream(channel_id)
        self.day = day
        self.start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        self.end = self.start + timedelta(days=1)

    def sync(self, ctx: SyncContext) -> None:
        cursor = self._start(ctx)
        while cursor.in_pass:
            self._page(ctx, cursor)
            if cursor.in_pass:
                ctx.check_stop()
        ctx.set_activity(self.day, cursor.day_count)

    def _start(self, ctx: SyncContext) -> UploadsCursor:
        window = self.day.isoformat()
        saved = UploadsCursor.load(ctx.load_cursor(self.resource))
        if saved is None:
            return UploadsCursor(window=window, playlist=self.channel.uploads_playlist(ctx))
        if saved.window != window:
            # Another day: keep only the playlist id, which saves the channels call.
            return UploadsCursor(window=window, playlist=saved.playlist)
        if saved.in_pass:
            return saved
        return UploadsCursor(
            window=window,
            playlist=saved.playlist,
            newest_video=saved.newest_video,
            stop_video=saved.newest_video,
            day_count=saved.day_count,
        )

    def _page(self, ctx: SyncContext, cursor: UploadsCursor) -> None:
        params: dict[str, Any] = {
            "part": "snippet,contentDetails",
            "playlistId": cursor.playlist,
            "maxResults": PAGE_SIZE,
        }
        first = cursor.page_token is None
        if cursor.page_token:
            params["pageToken"] = cursor.page_token
        response = ctx.http.request("GET", "/playlistItems", params=params, cost=LIST_COST_UNITS)
        body = json_object(response)
        items: list[dict[str, Any]] = body.get("items") or []
        if first and items:
            cursor.newest_video = _video_id(items[0])
        records, reached_end = self._records(items, cursor)
        cursor.page_token = None if reached_end else body.get("nextPageToken")
        cursor.in_pass = cursor.page_token is not None
        cursor.day_count += len(records)
        ctx.save_page(self.resource, records, cursor.dump())

    def _records(
        self, items: list[dict[str, Any]], cursor: UploadsCursor
    ) -> tuple[list[Record], bool]:
        records: list[Record] = []
        for item in items:
            video = _video_id(item)
            published = _published_at(item)
            if video == cursor.stop_video or published < self.start:
                return records, True
            if cursor.oldest_at is not None and published >= _parse(cursor.oldest_at):
                continue
            cursor.oldest_at = published.isoformat()
            if published < self.end:
                records.append(Record(self.kind, video, published, item))
        return records, False


def _video_id(item: dict[str, Any]) -> str:
    return str(item["contentDetails"]["videoId"])


def _published_at(item: dict[str, Any]) -> datetime:
    details = item.get("contentDetails", {})
    text = details.get("videoPublishedAt") or item["snippet"]["publishedAt"]
    return _parse(text)


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
