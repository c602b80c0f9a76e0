"""The request log: every provider request the simulator answered, for tests to assert on."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

REDACTED = "[redacted]"
_SECRET_HEADERS = frozenset({"authorization", "x-api-key", "developer-token"})


@dataclass
class LoggedRequest:
    time: float
    provider: str
    account: str | None
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    status: int | None = None
    cost: int = 0
    fault: str | None = None
    rate_limited: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "provider": self.provider,
            "account": self.account,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "status": self.status,
            "cost": self.cost,
            "fault": self.fault,
            "rateLimited": self.rate_limited,
        }


def redact(headers: dict[str, str]) -> dict[str, str]:
    return {k: (REDACTED if k in _SECRET_HEADERS else v) for k, v in headers.items()}


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LoggedRequest] = []

    def append(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(
        self, provider: str | None = None, account: str | None = None
    ) -> list[LoggedRequest]:
        with self._lock:
            return [
                e
                for e in self._entries
                if (provider is None or e.provider == provider)
                and (account is None or e.account == account)
            ]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
