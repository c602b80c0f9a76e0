"""Fault injection: armed by the admin API, consumed by matching provider requests."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from .waits import WAIT_FORMATS

#: Faults answered with a provider-shaped error body (rendered by the plugin).
RENDERED_KINDS = frozenset(
    {
        "rate_limit",
        "quota",
        "auth",
        "forbidden",
        "bad_request",
        "not_found",
        "server_error",
        "bad_gateway",
        "unavailable",
        "too_much_data",
    }
)
#: Faults the server produces itself on the socket.
TRANSPORT_KINDS = frozenset({"slow", "timeout", "reset", "truncated", "malformed"})
#: Faults that alter a normal answer's JSON body: ``bad_text`` adds, to every object with
#: an ``id``, a field `BAD_TEXT_FIELD` (and a key) holding NUL and a lone surrogate, as JSON
#: escapes (``\u0000``, ``\ud800``), the text PostgreSQL refuses.
BODY_KINDS = frozenset({"bad_text", "repeat_cursor"})
FAULT_KINDS = RENDERED_KINDS | TRANSPORT_KINDS | BODY_KINDS
BAD_TEXT_FIELD = "simulatorBadText"
BAD_TEXT = "nul\x00 lone\ud800 low\udfff end"
BAD_TEXT_KEY = "key\x00\udc00"


class FaultSpecError(ValueError):
    """Raised when an admin fault request is malformed."""


@dataclass
class Fault:
    id: int
    provider: str
    kind: str
    account: str | None = None
    #: Requests left to fault; None = until cleared.
    count: int | None = 1
    #: Matching requests to let through before the fault fires (e.g. 1 = from page 2).
    after: int = 0
    #: Only requests whose path contains this text match.
    path_contains: str | None = None
    retry_after_seconds: float | None = None
    delay_seconds: float | None = None
    #: Provider-specific flavour, e.g. GitHub "primary_429", "secondary".
    variant: str | None = None
    #: How a throttle states its wait: "seconds" (as the provider does), "http-date"
    #: (``Retry-After`` as a date) or "none" (see `waits.restate`).
    wait_format: str = "seconds"
    #: ``too_much_data`` fires only on requests asking for more items per page than this.
    page_size_above: int = 25
    #: ``repeat_cursor``: the next cursor every later matching answer repeats.
    sticky_cursor: str | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        return {
            "id": data["id"],
            "provider": self.provider,
            "kind": self.kind,
            "account": self.account,
            "count": self.count,
            "after": self.after,
            "pathContains": self.path_contains,
            "retryAfterSeconds": self.retry_after_seconds,
            "delaySeconds": self.delay_seconds,
            "variant": self.variant,
            "waitFormat": self.wait_format,
            "pageSizeAbove": self.page_size_above,
        }


class FaultBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, spec: Mapping[str, Any], providers: set[str]) -> Fault:
        provider = spec.get("provider")
        kind = spec.get("kind")
        if provider not in providers:
            raise FaultSpecError(f"unknown provider {provider!r}")
        if kind not in FAULT_KINDS:
            raise FaultSpecError(f"unknown fault kind {kind!r}; one of {sorted(FAULT_KINDS)}")
        wait_format = spec.get("waitFormat", "seconds")
        if wait_format not in WAIT_FORMATS:
            raise FaultSpecError(f"waitFormat must be one of {sorted(WAIT_FORMATS)}")
        count = spec.get("count", 1)
        if count is not None and (not isinstance(count, int) or count < 1):
            raise FaultSpecError("count must be a positive integer or null")
        fault = Fault(
            id=next(self._ids),
            provider=str(provider),
            kind=str(kind),
            account=spec.get("account"),
            count=count,
            after=int(spec.get("after", 0)),
            path_contains=spec.get("pathContains"),
            retry_after_seconds=_number(spec, "retryAfterSeconds"),
            delay_seconds=_number(spec, "delaySeconds"),
            variant=spec.get("variant"),
            wait_format=str(wait_format),
            page_size_above=int(spec.get("pageSizeAbove", 25)),
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, provider: str, account: str | None, path: str) -> Fault | None:
        """Return the first armed fault matching this request, consuming one use of it."""
        with self._lock:
            for fault in self._faults:
                if fault.provider != provider:
                    continue
                if fault.account is not None and fault.account != account:
                    continue
                if fault.path_contains and fault.path_contains not in path:
                    continue
                if fault.after > 0:
                    fault.after -= 1
                    continue
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                return fault
            return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)


def _number(spec: Mapping[str, Any], key: str) -> float | None:
    value = spec.get(key)
    if value is None:
        return None
    if not isinstance(value, int | float):
        raise FaultSpecError(f"{key} must be a number")
    return float(value)
