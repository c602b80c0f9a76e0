"""Simulated Instagram Graph API: ``GET /{version}/{ig-user-id}/media`` (providers.md §4).

Every IG user id has ``HISTORY_DAYS`` days of media ending at the simulator's "today",
newest first, cursor-paged; about one item in ten is privacy-filtered out of its page.
Tests compute expectations with `visible_media`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ..data import daily_count, last_days, moments, seeded_rng, stable_int
from ..messages import SimRequest, SimResponse
from ..ratelimit import LimitSpec
from .base import ProviderContext
from .meta_ads.graph import GraphError, GraphProvider, edge_page, page_limit, requested_fields

HISTORY_DAYS = 30
MAX_PER_DAY = 4
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
#: The edge returns only ids unless ``fields`` asks for more.
DEFAULT_FIELDS = ("id",)
_TYPES = ("IMAGE", "VIDEO", "CAROUSEL_ALBUM")


def media_on(account: str, day: date) -> list[dict[str, Any]]:
    """Return ``account``'s media posted on ``day`` (hidden ones included), newest first."""
    count = daily_count("instagram", account, day, maximum=MAX_PER_DAY)
    rng = seeded_rng("instagram", account + "#media", day)
    items = []
    for index, moment in enumerate(moments("instagram", account, day, count)):
        media_id = f"179{stable_int('instagram', account, day, index, bits=40):013d}"
        media_type = rng.choice(_TYPES)
        item: dict[str, Any] = {
            "id": media_id,
            "caption": f"Post {index + 1} of {day.isoformat()}",
            "media_type": media_type,
            "media_product_type": "REELS" if media_type == "VIDEO" else "FEED",
            "media_url": f"https://scontent.cdninstagram.com/{media_id}.jpg",
            "permalink": f"https://www.instagram.com/p/{media_id[-11:]}/",
            "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "username": f"creator_{account[-4:]}",
            "like_count": rng.randint(0, 500),
            "comments_count": rng.randint(0, 40),
            "_hidden": rng.random() < 0.1,
        }
        if media_type == "VIDEO":
            item["thumbnail_url"] = f"https://scontent.cdninstagram.com/{media_id}_thumb.jpg"
        items.append(item)
    return items


def all_media(account: str, today: date) -> list[dict[str, Any]]:
    """Return every media item the edge pages through (hidden ones included), newest first."""
    return [item for day in last_days(today, HISTORY_DAYS) for item in media_on(account, day)]


def visible_media(account: str, today: date) -> list[dict[str, Any]]:
    """Return the media a client actually receives, newest first."""
    return [item for item in all_media(account, today) if not item["_hidden"]]


class InstagramProvider(GraphProvider):
    name = "instagram"
    buc_type = "instagram"
    buc_code = 80002
    #: Instagram's BUC allowance is 4800 calls per 24 h per impression; one impression here.
    default_limit = LimitSpec(requests=4800, window_seconds=86_400, scope="account")

    def routes(self) -> None:
        self.router.add("GET", "/{version}/{ig_user_id}/media", self.media)

    def account_of(self, request: SimRequest) -> str | None:
        parts = request.path.strip("/").split("/")
        return parts[1] if len(parts) >= 2 else None

    def media(
        self, request: SimRequest, ctx: ProviderContext, params: dict[str, str]
    ) -> SimResponse:
        account = params["ig_user_id"]
        if not account.isdigit():
            message = f"Unsupported get request. Object with ID '{account}' does not exist."
            raise GraphError(400, 100, message, subcode=33, kind="GraphMethodException")
        fields = requested_fields(request, MEDIA_FIELDS, DEFAULT_FIELDS, "IGMedia")
        limit = page_limit(request, default=25, maximum=100)
        items = all_media(account, ctx.today)
        body = edge_page(request, items, fields, limit=limit, hidden=lambda item: item["_hidden"])
        return SimResponse.json(200, body)


def create_provider() -> InstagramProvider:
    return InstagramProvider()
