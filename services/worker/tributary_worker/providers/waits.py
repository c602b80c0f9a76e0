"""Every wait a provider states, read one way and on the provider's clock.

`stated_until` is the one function all six connectors use to read how long a throttle
lasts. It reads, and takes the longest of:

- ``Retry-After``: seconds, or an HTTP-date (RFC 9110 §10.2.3);
- reset epochs: GitHub ``x-ratelimit-reset`` and X ``x-rate-limit-reset``, only when the
  matching ``…-remaining`` header is ``0`` (a secondary limit's reset header describes
  the primary window, not this refusal) — providers.md §1.7, §3.5;
- Meta ``X-Business-Use-Case-Usage`` ``estimated_time_to_regain_access`` (minutes), else
  ``X-Ad-Account-Usage`` ``reset_time_duration`` (seconds) — §4.5, §5.4;
- Google ``retryDelay`` (protobuf Duration, ``"30s"``) anywhere in the error body:
  Google Ads ``quotaErrorDetails`` and ``google.rpc.RetryInfo`` — §6.5;
- YouTube ``quotaExceeded``/``dailyLimitExceeded``: the next midnight Pacific Time,
  when daily quotas reset — §2.4.

Absolute times (HTTP-dates, reset epochs, midnight) are the provider's: they are
converted with its ``Date`` header, so a provider clock behind ours does not make us
call early, plus `RESET_MARGIN_SECONDS` for the ``Date`` header's one-second resolution.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

#: Added to a stated absolute time: ``Date`` and reset headers have 1 s resolution.
RESET_MARGIN_SECONDS = 0.5
#: YouTube's daily quotas reset at midnight Pacific Time (providers.md §2.4).
QUOTA_ZONE = ZoneInfo("America/Los_Angeles")
DAILY_QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
#: (reset header, remaining header) pairs: GitHub, X.
RESET_HEADERS = (
    ("x-ratelimit-reset", "x-ratelimit-remaining"),
    ("x-rate-limit-reset", "x-rate-limit-remaining"),
)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def provider_clock_offset(response: httpx.Response, now: float) -> float:
    """Return how far the provider's clock is *behind* ours (seconds, >= 0).

    ``Date`` is the provider's time truncated to the second, so its clock is behind ours
    only when ``Date + 1`` is still before ``now``; a clock ahead of ours is not
    corrected (that only makes us wait longer).
    """
    raw = response.headers.get("date")
    if not raw:
        return 0.0
    try:
        provider_now = parsedate_to_datetime(raw).timestamp()
    except (TypeError, ValueError):
        return 0.0
    return max(now - (provider_now + 1.0), 0.0)


def parse_duration_seconds(value: Any) -> float | None:
    """Parse a protobuf JSON Duration (``"8962s"``, ``"1.5s"``); None otherwise."""
    match = _DURATION.match(value) if isinstance(value, str) else None
    return float(match.group(1)) if match else None


def retry_after_until(response: httpx.Response, now: float) -> float | None:
    """``Retry-After`` (seconds or HTTP-date) as an epoch on our clock, or None."""
    raw = response.headers.get("retry-after", "").strip()
    if not raw:
        return None
    try:
        return now + max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(raw).timestamp()
    except (TypeError, ValueError):
        return None
    return _ours(moment, response, now)


def reset_epoch_until(response: httpx.Response, now: float) -> float | None:
    """A reset epoch whose ``remaining`` header is 0, on our clock; or None."""
    found = [
        float(response.headers[reset])
        for reset, remaining in RESET_HEADERS
        if response.headers.get(remaining) == "0"
        and response.headers.get(reset, "").strip().isdigit()
    ]
    return _ours(max(found), response, now) if found else None


def json_header(response: httpx.Response, name: str) -> Any:
    """A header holding JSON (Meta's usage headers), parsed; None when absent or garbage."""
    raw = response.headers.get(name)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def regain_access_seconds(response: httpx.Response) -> float | None:
    """The longest BUC ``estimated_time_to_regain_access`` (minutes → s), when positive."""
    usage = json_header(response, "X-Business-Use-Case-Usage")
    if not isinstance(usage, dict):
        return None
    minutes = [
        entry.get("estimated_time_to_regain_access") or 0
        for entries in usage.values()
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, dict)
    ]
    longest = max((m for m in minutes if isinstance(m, int | float)), default=0)
    return float(longest) * 60.0 if longest > 0 else None


def ad_account_reset_seconds(response: httpx.Response) -> float | None:
    """``X-Ad-Account-Usage.reset_time_duration`` (seconds), when positive."""
    usage = json_header(response, "X-Ad-Account-Usage")
    if not isinstance(usage, dict):
        return None
    value = usage.get("reset_time_duration")
    return float(value) if isinstance(value, int | float) and value > 0 else None


def _body(response: httpx.Response) -> Any:
    if response.content.lstrip()[:1] not in (b"{", b"["):
        return None
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        return None


def _retry_delays(node: Any, depth: int = 0) -> list[float]:
    """Every ``retryDelay`` Duration in a JSON body, searched a few levels deep."""
    if depth > 8:
        return []
    if isinstance(node, list):
        return [d for item in node for d in _retry_delays(item, depth + 1)]
    if not isinstance(node, dict):
        return []
    found = [parse_duration_seconds(node.get("retryDelay"))]
    delays = [d for d in found if d is not None]
    for value in node.values():
        if isinstance(value, dict | list):
            delays.extend(_retry_delays(value, depth + 1))
    return delays


def google_reasons(body: Any) -> list[str]:
    """``error.errors[].reason`` of a Google JSON error body (YouTube)."""
    error = body.get("error") if isinstance(body, dict) else None
    errors = error.get("errors") if isinstance(error, dict) else None
    if not isinstance(errors, list):
        return []
    return [str(e["reason"]) for e in errors if isinstance(e, dict) and "reason" in e]


def next_quota_reset(now: float) -> datetime:
    """Return the next midnight in Pacific Time (DST-aware) after ``now``, as a UTC datetime."""
    local = datetime.fromtimestamp(now, tz=QUOTA_ZONE)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), QUOTA_ZONE)
    return midnight.astimezone(UTC)


def stated_until(response: httpx.Response, now: float) -> float | None:
    """When the provider says we may call again (epoch seconds on our clock), or None.

    ``now`` is our clock (epoch seconds). The longest of every wait the answer states
    (see the module docstring); None when it states none.
    """
    body = _body(response)
    candidates = [retry_after_until(response, now), reset_epoch_until(response, now)]
    # The ad account's reset only when BUC states no regain time: with both, the BUC
    # entry names this throttle and the account header its own (maybe unrelated) window.
    relative = regain_access_seconds(response) or ad_account_reset_seconds(response)
    if relative is not None:
        candidates.append(now + relative)
    candidates.extend(now + delay for delay in _retry_delays(body) if delay > 0)
    if DAILY_QUOTA_REASONS.intersection(google_reasons(body)):
        offset = provider_clock_offset(response, now)
        midnight = next_quota_reset(now - offset).timestamp()
        candidates.append(midnight + offset + RESET_MARGIN_SECONDS)
    found = [c for c in candidates if c is not None]
    return max(found) if found else None


def _ours(moment: float, response: httpx.Response, now: float) -> float:
    """A provider-clock epoch converted to ours, plus the margin."""
    return moment + provider_clock_offset(response, now) + RESET_MARGIN_SECONDS
