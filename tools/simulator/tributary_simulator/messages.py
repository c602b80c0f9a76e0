"""The request a provider plugin receives and the response it returns."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SimRequest:
    """One HTTP request, with ``path`` relative to the provider's prefix."""

    method: str
    provider: str
    path: str
    query: dict[str, list[str]]
    #: Header names lower-cased.
    headers: dict[str, str]
    body: bytes = b""
    #: Filled by the server from the plugin's `account_of`.
    account: str | None = None

    def arg(self, name: str, default: str | None = None) -> str | None:
        """Return the first value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def bearer_token(self) -> str | None:
        value = self.header("authorization") or ""
        scheme, _, token = value.partition(" ")
        return token.strip() or None if scheme.lower() in {"bearer", "token"} else None

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class SimResponse:
    """What the server writes back; ``body`` is sent as is."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(
        cls, status: int, payload: Any, headers: Mapping[str, str] | None = None
    ) -> SimResponse:
        merged = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, json.dumps(payload).encode(), merged)


class NotFoundRoute(Exception):
    """Raised when no route of a provider matches the request path."""
