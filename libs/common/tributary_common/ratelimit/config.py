"""Limits per provider: built-in defaults plus ``TRIBUTARY_LIMITS_<PROVIDER>`` overrides.

Override format (one string per provider, sections separated by ``;``)::

    provider=10/1m,200/1h;account=5000/1h;concurrency=2

- ``provider=`` limits shared by every account of the provider (app/project quota).
- ``account=`` limits per account (user token, ad account, channel).
- Each limit is ``<units>/<window>``; the window is ``[<number>]<unit>`` with unit
  ``s``, ``m``, ``h`` or ``d`` (``10/s`` = 10 per second, ``900/15m``).
- ``concurrency=<n>`` jobs at once, cluster-wide; ``none`` for no cap.
- ``provider=none`` / ``account=none`` removes those limits.
A section that is present replaces the default one; an absent section keeps it. A
provider without defaults may be configured the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from ..errors import ConfigError

_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_LIMIT_RE = re.compile(r"^(\d+)\s*/\s*(\d*(?:\.\d+)?)\s*([smhd])$")


@dataclass(frozen=True)
class Window:
    """At most ``units`` permits in any sliding window of ``window_seconds``."""

    units: int
    window_seconds: float

    @property
    def name(self) -> str:
        """Short label such as ``1m`` or ``15m``; unique within one scope."""
        for unit, seconds in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
            if self.window_seconds % seconds == 0:
                return f"{int(self.window_seconds // seconds)}{unit}"
        return f"{self.window_seconds:g}s"

    @property
    def slack_seconds(self) -> float:
        """Extra spacing given to scheduled (refused-then-retried) callers.

        A deferred job comes back a little late; scheduling its successors one window
        plus this slack after it keeps them admissible despite that lateness, at a cost
        of at most 2 % of the quota.
        """
        return min(1.0, 0.02 * self.window_seconds)


@dataclass(frozen=True)
class ProviderLimits:
    provider: tuple[Window, ...] = ()
    account: tuple[Window, ...] = ()
    #: Jobs at once, cluster-wide; None for no cap.
    concurrency: int | None = None

    def largest_window_seconds(self) -> float:
        return max((w.window_seconds for w in self.provider + self.account), default=0.0)


#: Defaults from providers.md; see docs/ratelimit.md for the reasoning behind each.
DEFAULT_LIMITS: dict[str, ProviderLimits] = {
    "meta_ads": ProviderLimits(provider=(Window(10, 60), Window(200, 3600)), concurrency=2),
    "google_ads": ProviderLimits(provider=(Window(5, 60), Window(100, 3600)), concurrency=1),
    # 5,000 requests/hour per authenticated user (§1.6).
    "github": ProviderLimits(account=(Window(5000, 3600),)),
    # 10,000 units/day per Cloud project (§2.4); callers pass the method's cost.
    "youtube": ProviderLimits(provider=(Window(10_000, 86400),)),
    # GET /2/users/:id/tweets: 900 per 15 min per user token (§3.4).
    "x": ProviderLimits(account=(Window(900, 900),)),
    # Platform limit: 200 calls per rolling hour per user (§4.4).
    "instagram": ProviderLimits(account=(Window(200, 3600),)),
}


@dataclass(frozen=True)
class LimitConfig:
    providers: Mapping[str, ProviderLimits] = field(default_factory=lambda: dict(DEFAULT_LIMITS))

    def for_provider(self, provider: str) -> ProviderLimits:
        """Limits of ``provider``; an unknown provider has none (cooldowns still apply)."""
        return self.providers.get(provider, ProviderLimits())

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, str]) -> LimitConfig:
        """Apply ``{provider: override string}`` on top of the defaults."""
        providers = dict(DEFAULT_LIMITS)
        for provider, raw in overrides.items():
            variable = f"TRIBUTARY_LIMITS_{provider.upper()}"
            providers[provider] = parse_override(raw, providers.get(provider), variable)
        return cls(providers)


def _parse_window(text: str, variable: str) -> Window:
    match = _LIMIT_RE.match(text.strip())
    if not match:
        raise ConfigError(f"{variable}: bad limit {text!r}, expected e.g. 10/1m or 900/15m")
    units, count, unit = int(match[1]), float(match[2] or 1), match[3]
    if units < 1 or count <= 0:
        raise ConfigError(f"{variable}: limit {text!r} must have units >= 1 and a window > 0")
    return Window(units, count * _UNIT_SECONDS[unit])


def _parse_windows(text: str, variable: str) -> tuple[Window, ...]:
    if text.strip().lower() == "none":
        return ()
    windows = tuple(_parse_window(part, variable) for part in text.split(","))
    names = [w.name for w in windows]
    if len(set(names)) != len(names):
        raise ConfigError(f"{variable}: two limits with the same window in {text!r}")
    return windows


def parse_override(raw: str, base: ProviderLimits | None, variable: str) -> ProviderLimits:
    """Parse one override string on top of ``base``; raise `ConfigError` naming ``variable``."""
    limits = base or ProviderLimits()
    seen: set[str] = set()
    for section in filter(None, (s.strip() for s in raw.split(";"))):
        key, sep, value = (p.strip() for p in section.partition("="))
        if not sep or not value:
            raise ConfigError(f"{variable}: expected key=value, got {section!r}")
        key = key.lower()
        if key in seen:
            raise ConfigError(f"{variable}: {key!r} given twice")
        seen.add(key)
        if key == "provider":
            limits = replace(limits, provider=_parse_windows(value, variable))
        elif key == "account":
            limits = replace(limits, account=_parse_windows(value, variable))
        elif key == "concurrency":
            limits = replace(limits, concurrency=_parse_concurrency(value, variable))
        else:
            raise ConfigError(
                f"{variable}: unknown key {key!r} (expected provider, account or concurrency)"
            )
    if not seen:
        raise ConfigError(f"{variable}: empty override")
    return limits


def _parse_concurrency(value: str, variable: str) -> int | None:
    if value.lower() == "none":
        return None
    try:
        slots = int(value)
    except ValueError:
        raise ConfigError(f"{variable}: concurrency must be an integer or none") from None
    if slots < 1:
        raise ConfigError(f"{variable}: concurrency must be >= 1 (or none), got {slots}")
    return slots
