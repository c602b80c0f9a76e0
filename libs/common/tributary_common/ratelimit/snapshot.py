"""The snapshot both backends return: usage per window, slots, cooldowns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .config import ProviderLimits
from .keys import to_seconds


def as_text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def cooldowns(raw: Mapping[Any, Any], now_us: int) -> list[dict[str, Any]]:
    """Active cooldowns from the hash ``field -> until_us|reason``, soonest first."""
    active = []
    for field, value in raw.items():
        until_us, _, reason = as_text(value).partition("|")
        if int(until_us) > now_us:
            name = as_text(field)
            active.append(
                {
                    "account": None if name == "*" else name.removeprefix("a:"),
                    "until": to_seconds(int(until_us)),
                    "reason": reason,
                }
            )
    return sorted(active, key=lambda c: c["until"])


def provider_snapshot(
    limits: ProviderLimits,
    windows: Sequence[tuple[int, int]],
    slots_in_use: int,
    cooldown_hash: Mapping[Any, Any],
    now_us: int,
) -> dict[str, Any]:
    """Assemble one provider's entry; ``windows`` holds (used, reserved) per provider limit.

    ``used`` counts permits in the current window, reservations already due included;
    ``reserved`` counts permits promised to refused callers at later times.
    """
    return {
        "windows": {
            f"provider:{w.name}": {
                "limit": w.units,
                "window_seconds": w.window_seconds,
                "used": used,
                "reserved": reserved,
            }
            for w, (used, reserved) in zip(limits.provider, windows, strict=True)
        },
        "account_limits": {
            f"account:{w.name}": {"limit": w.units, "window_seconds": w.window_seconds}
            for w in limits.account
        },
        "slots": {"limit": limits.concurrency, "in_use": slots_in_use},
        "cooldowns": cooldowns(cooldown_hash, now_us),
    }
