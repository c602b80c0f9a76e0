"""The provider plugin interface of the simulator.

How a provider plugs in:

1. Add a module ``tributary_simulator/providers/<name>.py`` (or a package) that defines a
   `Provider` subclass with ``name`` (also its URL prefix: ``/<name>``) and a module-level
   ``create_provider() -> Provider``. `providers.discover()` imports every module of this
   package that has ``create_provider``; nothing else needs editing.
2. Implement `Provider.handle` (usually through a `Router`) returning a `SimResponse`;
   raise `NotFoundRoute` for unknown paths (rendered by `render_not_found`).
3. Override the renderers so faults and limit refusals look like the real provider:
   `render_rate_limit`, `render_quota`, `render_auth`, `render_forbidden`,
   `render_bad_request`, `render_not_found`, `render_server_error`; and
   `common_headers` for headers on every response (GitHub ``x-ratelimit-*``).
4. Optionally: `account_of` (whose limit window and faults a request hits), `cost_of`
   (units a request takes from the window: YouTube search = 100, GitHub 304 = 0) and
   ``default_limit`` (applied at start and on admin reset).

The server does the rest in this order: fault injection, strict limit (a refusal is
answered with `render_rate_limit` and counted as a violation), `handle`, then
`common_headers` merged under the response's own headers, and the request log.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

from ..faults import Fault
from ..messages import SimRequest, SimResponse
from ..ratelimit import LimitSpec, LimitState


@dataclass
class ProviderContext:
    """What the server hands a plugin with each request."""

    clock: Callable[[], float]
    #: The simulated "today" (UTC) that deterministic data is anchored to.
    today: date
    #: The limit window after this request (None when the provider has no limit).
    limit: LimitState | None = None
    #: The fault being injected, if any (renderers read ``variant`` and waits from it).
    fault: Fault | None = None
    #: Mutable per-provider state, emptied by the admin reset (guard with ``lock``).
    state: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> float:
        return self.clock()


class Provider(ABC):
    name: ClassVar[str]
    default_limit: ClassVar[LimitSpec | None] = None

    def account_of(self, request: SimRequest) -> str | None:
        """Return the account a request belongs to (limits and faults may be per account)."""
        return None

    def cost_of(self, request: SimRequest, ctx: ProviderContext) -> int:
        """Return the units this request takes from the limit window."""
        return 1

    @abstractmethod
    def handle(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        """Answer a request that passed faults and limits."""

    def common_headers(self, request: SimRequest, ctx: ProviderContext) -> dict[str, str]:
        """Return headers sent on every response of this provider, errors included."""
        return {}

    def render_rate_limit(
        self, request: SimRequest, ctx: ProviderContext, retry_after_seconds: float
    ) -> SimResponse:
        return SimResponse.json(
            429,
            {"error": "rate limited"},
            {"Retry-After": str(max(int(retry_after_seconds + 0.999), 1))},
        )

    def render_quota(
        self, request: SimRequest, ctx: ProviderContext, retry_after_seconds: float
    ) -> SimResponse:
        return self.render_rate_limit(request, ctx, retry_after_seconds)

    def render_auth(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        return SimResponse.json(401, {"error": "unauthorized"})

    def render_forbidden(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        return SimResponse.json(403, {"error": "forbidden"})

    def render_bad_request(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        return SimResponse.json(400, {"error": "bad request"})

    def render_not_found(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        return SimResponse.json(404, {"error": "not found"})

    def render_server_error(
        self, request: SimRequest, ctx: ProviderContext, status: int
    ) -> SimResponse:
        return SimResponse.json(status, {"error": "server error"})

    #: Query parameters that set how many items a page holds, in the providers' APIs.
    PAGE_SIZE_PARAMS: ClassVar[tuple[str, ...]] = ("limit", "maxResults", "max_results", "per_page")

    def page_size_of(self, request: SimRequest) -> int | None:
        """Items per page the request asks for, or None when it names no page size."""
        for name in self.PAGE_SIZE_PARAMS:
            value = request.arg(name)
            if value is not None and value.isdigit():
                return int(value)
        return None

    def render_too_much_data(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        """A page refused for its size (HTTP 413 unless the provider has its own answer)."""
        return SimResponse.json(413, {"error": "response too large, ask for fewer items"})

    def render_fault(self, kind: str, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        """Dispatch a rendered fault kind (see `faults.RENDERED_KINDS`) to its renderer."""
        fault = ctx.fault
        wait = fault.retry_after_seconds if fault and fault.retry_after_seconds else 60.0
        if kind == "rate_limit":
            return self.render_rate_limit(request, ctx, wait)
        if kind == "quota":
            return self.render_quota(request, ctx, wait)
        if kind == "auth":
            return self.render_auth(request, ctx)
        if kind == "forbidden":
            return self.render_forbidden(request, ctx)
        if kind == "bad_request":
            return self.render_bad_request(request, ctx)
        if kind == "not_found":
            return self.render_not_found(request, ctx)
        if kind == "too_much_data":
            return self.render_too_much_data(request, ctx)
        status = {"server_error": 500, "bad_gateway": 502, "unavailable": 503}[kind]
        return self.render_server_error(request, ctx, status)

    def variant(self, ctx: ProviderContext, default: str) -> str:
        """Return the injected fault's variant, or ``default``."""
        return (ctx.fault.variant if ctx.fault else None) or default
