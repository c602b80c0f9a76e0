"""The YouTube Data API v3 simulator: channels, playlistItems and search, quota in units.

The default limit is the project's 10,000 units a day (``scope: provider``); each call
costs its units (list = 1, search = 100) before it is answered, invalid ones included.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

from ...data import parse_iso
from ...messages import NotFoundRoute, SimRequest, SimResponse
from ...ratelimit import LimitSpec
from ...router import Router
from ..base import Provider, ProviderContext
from . import data, responses

MAX_RESULTS = 50
DEFAULT_RESULTS = 5
COSTS = {"/search": 100}


def _token(offset: int) -> str:
    return "CD" + base64.urlsafe_b64encode(f"o{offset}".encode()).decode().rstrip("=")


def _offset(token: str) -> int:
    """Return the offset a page token stands for; ValueError when it is not ours."""
    if not token.startswith("CD"):
        raise ValueError(token)
    raw = token[2:] + "=" * (-len(token[2:]) % 4)
    text = base64.urlsafe_b64decode(raw).decode()
    if not text.startswith("o"):
        raise ValueError(token)
    return int(text[1:])


class YouTubeProvider(Provider):
    name = "youtube"
    default_limit: ClassVar[LimitSpec | None] = LimitSpec(10_000, 86_400, "provider")

    def __init__(self) -> None:
        self.router: Router[Callable[[SimRequest, ProviderContext], SimResponse]] = Router()
        self.router.add("GET", "/channels", self._channels)
        self.router.add("GET", "/playlistItems", self._playlist_items)
        self.router.add("GET", "/search", self._search)

    def account_of(self, request: SimRequest) -> str | None:
        playlist = request.arg("playlistId")
        if playlist:
            return data.channel_of_playlist(playlist)
        return request.arg("id") or request.arg("channelId")

    def cost_of(self, request: SimRequest, ctx: ProviderContext) -> int:
        return COSTS.get(request.path.rstrip("/"), 1)

    def handle(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        token = request.bearer_token()
        if (token is None and not request.arg("key")) or (token or "").startswith("invalid"):
            return responses.error("authError")
        found = self.router.match(request.method, request.path)
        if found is None:
            raise NotFoundRoute(request.path)
        handler, _ = found
        if not request.arg("part"):
            return responses.error("missingRequiredParameter")
        try:
            return handler(request, ctx)
        except ValueError:
            return responses.error("invalidPageToken")

    def _page(self, request: SimRequest, items: list[dict[str, Any]], kind: str) -> SimResponse:
        size = int(request.arg("maxResults") or DEFAULT_RESULTS)
        if not 0 <= size <= MAX_RESULTS:
            return responses.error("invalidValue")
        token = request.arg("pageToken")
        offset = _offset(token) if token else 0
        body: dict[str, Any] = {
            "kind": kind,
            "etag": f"e{offset}-{size}-{len(items)}",
            "pageInfo": {"totalResults": len(items), "resultsPerPage": size},
            "items": items[offset : offset + size],
        }
        if offset + size < len(items):
            body["nextPageToken"] = _token(offset + size)
        if offset > 0:
            body["prevPageToken"] = _token(max(offset - size, 0))
        return SimResponse.json(200, body)

    def _channels(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        ids = [i for i in (request.arg("id") or "").split(",") if data.exists(i)]
        items = [
            {
                "kind": "youtube#channel",
                "etag": f"ch-{channel}",
                "id": channel,
                "contentDetails": {"relatedPlaylists": {"uploads": data.uploads_playlist(channel)}},
            }
            for channel in ids
        ]
        return self._page(request, items, "youtube#channelListResponse")

    def _playlist_items(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        channel = data.channel_of_playlist(request.arg("playlistId") or "")
        if channel is None or not data.exists(channel):
            return responses.error("playlistNotFound")
        items = list(data.uploads(channel, ctx.today))
        return self._page(request, items, "youtube#playlistItemListResponse")

    def _search(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        channel = request.arg("channelId") or ""
        after = _time(request.arg("publishedAfter"))
        before = _time(request.arg("publishedBefore"))
        items = []
        for item in data.uploads(channel, ctx.today) if data.exists(channel) else ():
            published = parse_iso(item["contentDetails"]["videoPublishedAt"])
            if (after is None or published >= after) and (before is None or published < before):
                video = item["contentDetails"]["videoId"]
                items.append(
                    {
                        "kind": "youtube#searchResult",
                        "id": {"kind": "youtube#video", "videoId": video},
                        "snippet": {
                            "publishedAt": item["snippet"]["publishedAt"],
                            "channelId": channel,
                        },
                    }
                )
        return self._page(request, items, "youtube#searchListResponse")

    def render_rate_limit(
        self, request: SimRequest, ctx: ProviderContext, retry_after_seconds: float
    ) -> SimResponse:
        variant = self.variant(ctx, "quotaExceeded")
        if variant == "429":
            return responses.error("rateLimitExceeded", 429)
        return responses.error(variant)

    def render_quota(
        self, request: SimRequest, ctx: ProviderContext, retry_after_seconds: float
    ) -> SimResponse:
        return responses.error(self.variant(ctx, "quotaExceeded"))

    def render_auth(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        return responses.error("authError")

    def render_forbidden(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        return responses.error(self.variant(ctx, "forbidden"))

    def render_bad_request(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        return responses.error(self.variant(ctx, "invalidPageToken"))

    def render_not_found(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        return responses.error("playlistNotFound")

    def render_server_error(
        self, request: SimRequest, ctx: ProviderContext, status: int
    ) -> SimResponse:
        reason = {502: "badGateway", 503: "serviceUnavailable"}.get(status, "backendError")
        return responses.error(reason, status)


def _time(text: str | None) -> datetime | None:
    return parse_iso(text) if text else None


def create_provider() -> Provider:
    return YouTubeProvider()
