"""YouTube's deterministic data: each channel uploads 0..6 videos a day for 30 days.

Channel ``UC<rest>`` has uploads playlist ``UU<rest>``; channels whose id starts with
``UCmissing`` do not exist. Tests call `uploads` / `day_count` for exact expectations.
"""

from __future__ import annotations

import base64
from datetime import date
from functools import lru_cache
from typing import Any

from ...data import daily_count, iso_z, last_days, moments, stable_int

WINDOW_DAYS = 30
MAX_UPLOADS_PER_DAY = 6


def uploads_playlist(channel_id: str) -> str:
    return "UU" + channel_id[2:]


def channel_of_playlist(playlist_id: str) -> str | None:
    return "UC" + playlist_id[2:] if playlist_id.startswith("UU") else None


def exists(channel_id: str) -> bool:
    return channel_id.startswith("UC") and not channel_id.startswith("UCmissing")


def video_id(channel_id: str, moment_epoch: int) -> str:
    raw = stable_int("youtube-video", channel_id, moment_epoch, bits=64).to_bytes(8, "big")
    return base64.urlsafe_b64encode(raw).decode()[:11]


@lru_cache(maxsize=256)
def uploads(channel_id: str, today: date) -> tuple[dict[str, Any], ...]:
    """Return the channel's uploads playlist items, newest first."""
    items: list[dict[str, Any]] = []
    playlist = uploads_playlist(channel_id)
    for day in last_days(today, WINDOW_DAYS):
        count = daily_count(
            "youtube", channel_id, day, maximum=MAX_UPLOADS_PER_DAY, zero_chance=0.3
        )
        for moment in moments("youtube", channel_id, day, count):
            vid = video_id(channel_id, int(moment.timestamp()))
            published = iso_z(moment)
            items.append(
                {
                    "kind": "youtube#playlistItem",
                    "etag": f"pi-{vid}",
                    "id": f"{playlist}.{vid}",
                    "snippet": {
                        "publishedAt": published,
                        "channelId": channel_id,
                        "title": f"Video {vid}",
                        "playlistId": playlist,
                        "resourceId": {"kind": "youtube#video", "videoId": vid},
                    },
                    "contentDetails": {"videoId": vid, "videoPublishedAt": published},
                }
            )
    return tuple(items)


def day_count(channel_id: str, today: date, day: date) -> int:
    prefix = day.isoformat()
    return sum(
        1
        for item in uploads(channel_id, today)
        if item["contentDetails"]["videoPublishedAt"].startswith(prefix)
    )
