"""GitHub's deterministic data: each login has 0..24 events a day for the last 30 days.

The events timeline is newest first and capped at 300 events, like the real one; tests
call `events` / `day_count` to know exactly what a sync must store.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

from ...data import daily_count, iso_z, last_days, moments, stable_int

WINDOW_DAYS = 30
EVENT_CAP = 300
MAX_EVENTS_PER_DAY = 24
EVENT_TYPES = ("PushEvent", "PullRequestEvent", "IssuesEvent", "WatchEvent", "CreateEvent")


def user_id(login: str) -> int:
    return stable_int("github-user", login, bits=24)


@lru_cache(maxsize=256)
def events(login: str, today: date) -> tuple[dict[str, Any], ...]:
    """Return ``login``'s timeline as of ``today``: newest first, at most 300 events."""
    timeline: list[dict[str, Any]] = []
    uid = user_id(login)
    for day in last_days(today, WINDOW_DAYS):
        count = daily_count("github", login, day, maximum=MAX_EVENTS_PER_DAY)
        for moment in moments("github", login, day, count):
            # Ids grow with time, as GitHub's do, so "newest seen" is a usable high-water mark.
            event_id = int(moment.timestamp()) * 100 + uid % 100
            repo_id = stable_int("github-repo", login, day, bits=24) % 7
            timeline.append(
                {
                    "id": str(event_id),
                    "type": EVENT_TYPES[event_id % len(EVENT_TYPES)],
                    "actor": {"id": uid, "login": login},
                    "repo": {"id": 1_000_000 + repo_id, "name": f"{login}/repo-{repo_id}"},
                    "payload": {},
                    "public": True,
                    "created_at": iso_z(moment),
                }
            )
    return tuple(timeline[:EVENT_CAP])


def day_count(login: str, today: date, day: date) -> int:
    """Return how many of the (capped) timeline's events fall on ``day`` (UTC)."""
    prefix = day.isoformat()
    return sum(1 for event in events(login, today) if event["created_at"].startswith(prefix))
