"""YouTube streams: resolve a channel's uploads playlist, then read its items for a day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tributary_common.categories import ErrorCategory
from tributary_common.connectors import Record, SyncContext
from tributary_common.errors import ProviderError

from ..responses import json_object
from ..stream import PagedStream
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

    @property
    def token(self) -> str | None:
        return self.page_token

    @token.setter
    def token(self, value: str | None) -> None:
        # Set by a read (or by the stream base ending the pass): None ends the pass.
        self.page_token = value
        self.in_pass = value is not None

    @classmethod
    def load(cls, raw: dict[str, Any] | None) -> UploadsCursor | None:
        if not raw or "playlist" not in raw:
            return None
        return cls(**{k: raw[k] for k in cls.__dataclass_fields__ if k in raw})

    def dump(self) -> dict[str, Any]:
        return dict(self.__dict__)


class PlaylistItemsStream(PagedStream[UploadsCursor]):
    """``GET /playlistItems`` of the uploads playlist, newest first, until before the day."""

    resource = "uploads"
    kind = "video"
    page_size = PAGE_SIZE
    min_page_size = 5

    def __init__(self, channel_id: str, day: date) -> None:
        self.channel = ChannelStream(channel_id)
        self.day = day
        self.start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        self.end_at = self.start + timedelta(days=1)

    def begin(self, ctx: SyncContext, raw: dict[str, Any] | None) -> UploadsCursor:
        window = self.day.isoformat()
        saved = UploadsCursor.load(raw)
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

    def restart(self, ctx: SyncContext, state: UploadsCursor) -> UploadsCursor:
        return UploadsCursor(window=state.window, playlist=state.playlist)

    def fetch(self, ctx: SyncContext, state: UploadsCursor, page_size: int) -> dict[str, Any]:
        params: dict[str, Any] = {
            "part": "snippet,contentDetails",
            "playlistId": state.playlist,
            "maxResults": page_size,
        }
        if state.token:
            params["pageToken"] = state.token
        response = ctx.http.request("GET", "/playlistItems", params=params, cost=LIST_COST_UNITS)
        return json_object(response)

    def read(self, ctx: SyncContext, state: UploadsCursor, page: dict[str, Any]) -> list[Record]:
        items: list[dict[str, Any]] = page.get("items") or []
        if state.token is None and items:
            state.newest_video = _video_id(items[0])
        records, reached_end = self._records(items, state)
        state.token = None if reached_end else page.get("nextPageToken")
        state.day_count += len(records)
        return records

    def end(self, ctx: SyncContext, state: UploadsCursor) -> None:
        ctx.set_activity(self.day, state.day_count)

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
            if published < self.end_at:
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
