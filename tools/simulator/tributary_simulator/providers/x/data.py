"""X's deterministic data: each user id posts 0..240 times a day (heavy
posters, so a day spans pages of 100) for the last 30 days.

Post ids are snowflakes (time-ordered), the timeline is reverse chronological. User ids
starting with ``999`` do not exist. Tests call `posts` / `day_count` for expectations.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

from ...data import daily_count, last_days, moments, stable_int

WINDOW_DAYS = 30
MAX_POSTS_PER_DAY = 240
#: Only the most recent 3,200 posts are reachable (§3.2).
TIMELINE_CAP = 3_200
TWITTER_EPOCH_MS = 1_288_834_974_657


def exists(user_id: str) -> bool:
    return user_id.isdigit() and not user_id.startswith("999")


def snowflake(moment_ms: int, user_id: str) -> int:
    return ((moment_ms - TWITTER_EPOCH_MS) << 22) | stable_int("x-worker", user_id, bits=22)


@lru_cache(maxsize=256)
def posts(user_id: str, today: date) -> tuple[dict[str, Any], ...]:
    """Return the user's posts, newest first, with ``created_at`` always present."""
    timeline: list[dict[str, Any]] = []
    for day in last_days(today, WINDOW_DAYS):
        count = daily_count("x", user_id, day, maximum=MAX_POSTS_PER_DAY, zero_chance=0.3)
        for moment in moments("x", user_id, day, count):
            post_id = str(snowflake(int(moment.timestamp() * 1000), user_id))
            timeline.append(
                {
                    "id": post_id,
                    "text": f"post {post_id[-6:]} by {user_id}",
                    "edit_history_tweet_ids": [post_id],
                    "created_at": moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                }
            )
    return tuple(timeline[:TIMELINE_CAP])


def day_count(user_id: str, today: date, day: date) -> int:
    prefix = day.isoformat()
    return sum(1 for post in posts(user_id, today) if post["created_at"].startswith(prefix))
