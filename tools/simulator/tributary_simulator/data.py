"""Deterministic data helpers: one seeded RNG per (provider, account, day).

Provider data modules build their items from these, so a test can compute the exact
expected records and counts by calling the same functions.
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, date, datetime, timedelta


def stable_int(*parts: object, bits: int = 48) -> int:
    """Return an integer derived only from ``parts`` (stable across processes)."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> (64 - bits)


def seeded_rng(provider: str, account: str, day: date) -> random.Random:
    return random.Random(stable_int(provider, account, day.isoformat()))


def daily_count(
    provider: str, account: str, day: date, *, maximum: int, zero_chance: float = 0.25
) -> int:
    """Return how many items ``account`` has on ``day``: 0 with ``zero_chance``, else 1..max."""
    rng = seeded_rng(provider, account, day)
    if rng.random() < zero_chance:
        return 0
    return rng.randint(1, maximum)


def moments(provider: str, account: str, day: date, count: int) -> list[datetime]:
    """Return ``count`` distinct UTC instants within ``day``, newest first."""
    rng = seeded_rng(provider, account + "#times", day)
    seconds = sorted(rng.sample(range(86_400), count), reverse=True)
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return [start + timedelta(seconds=s) for s in seconds]


def last_days(today: date, days: int) -> list[date]:
    """Return ``days`` dates ending at ``today``, newest first."""
    return [today - timedelta(days=offset) for offset in range(days)]


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
