"""The provider request pipeline: faults, strict limit, plugin, common headers, log."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from .faults import BAD_TEXT, BAD_TEXT_FIELD, BAD_TEXT_KEY, RENDERED_KINDS, Fault
from .messages import NotFoundRoute, SimRequest, SimResponse
from .paging import repeat_cursor
from .providers import Provider, ProviderContext
from .requestlog import LoggedRequest, redact
from .state import SimulatorState
from .waits import restate

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What the socket layer must do: send ``response`` (after ``delay_seconds``), or misbehave."""

    response: SimResponse | None
    entry: LoggedRequest
    #: "timeout" | "reset" | "truncated" | None (a normal answer).
    transport_fault: str | None = None
    delay_seconds: float = 0.0


def dispatch(state: SimulatorState, provider: Provider, request: SimRequest) -> Outcome:
    request.account = provider.account_of(request)
    ctx = state.context(provider.name)
    entry = LoggedRequest(
        time=state.clock(),
        provider=provider.name,
        account=request.account,
        method=request.method,
        path=request.path,
        query=request.query,
        headers=redact(request.headers),
    )
    state.log.append(entry)
    if state.oauth.rejects(provider.name, request):
        # A token the simulator issued that expired or was revoked: the provider's own 401.
        return _finish(provider, request, ctx, provider.render_auth(request, ctx), entry)
    fault = state.faults.take(provider.name, request.account, request.path)
    if fault is not None and fault.kind == "too_much_data":
        size = provider.page_size_of(request)
        if size is None or size <= fault.page_size_above:
            fault = None  # a small enough page is answered (arm it with count null)
    if fault is not None:
        entry.fault = fault.kind
        ctx.fault = fault
        outcome = _faulted(state, provider, request, ctx, fault, entry)
        if outcome is not None:
            return outcome
    cost = provider.cost_of(request, ctx)
    allowed, ctx.limit = state.limiter.take(provider.name, request.account, cost)
    if not allowed:
        entry.rate_limited = True
        assert ctx.limit is not None
        wait = max(ctx.limit.reset_at - state.clock(), 0.0)
        response = provider.render_rate_limit(request, ctx, wait)
    else:
        entry.cost = cost
        response = _handle(provider, request, ctx)
    delay = 0.0
    if fault is not None and fault.kind == "slow":
        delay = 1.0 if fault.delay_seconds is None else fault.delay_seconds
    if fault is not None and fault.kind == "malformed":
        response = SimResponse(200, b'{"data": [{"id": "1", ', _json_type())
    if fault is not None and fault.kind == "bad_text":
        response = with_bad_text(response)
    if fault is not None and fault.kind == "repeat_cursor":
        repeat_cursor(provider.name, fault, response)
    return _finish(provider, request, ctx, response, entry, delay=delay)


def _faulted(
    state: SimulatorState,
    provider: Provider,
    request: SimRequest,
    ctx: ProviderContext,
    fault: Fault,
    entry: LoggedRequest,
) -> Outcome | None:
    """Return the outcome of a fault that replaces the answer, or None to answer normally."""
    ctx.limit = state.limiter.peek(provider.name, request.account)
    if fault.kind in RENDERED_KINDS:
        response = provider.render_fault(fault.kind, request, ctx)
        return _finish(provider, request, ctx, response, entry)
    if fault.kind in {"timeout", "reset"}:
        delay = fault.delay_seconds if fault.kind == "timeout" else 0.0
        return Outcome(None, entry, fault.kind, 30.0 if delay is None else delay)
    if fault.kind == "truncated":
        response = _handle(provider, request, ctx)
        outcome = _finish(provider, request, ctx, response, entry)
        outcome.transport_fault = "truncated"
        return outcome
    return None  # slow, malformed, bad_text: the normal pipeline runs, adjusted in `dispatch`


def _handle(provider: Provider, request: SimRequest, ctx: ProviderContext) -> SimResponse:
    try:
        return provider.handle(request, ctx)
    except NotFoundRoute:
        return provider.render_not_found(request, ctx)
    except Exception:
        log.exception("simulator plugin %s failed on %s", provider.name, request.path)
        return provider.render_server_error(request, ctx, 500)


def _finish(
    provider: Provider,
    request: SimRequest,
    ctx: ProviderContext,
    response: SimResponse,
    entry: LoggedRequest,
    *,
    delay: float = 0.0,
) -> Outcome:
    response.headers = {**provider.common_headers(request, ctx), **response.headers}
    fault = ctx.fault
    if fault is not None and fault.kind in {"rate_limit", "quota"}:
        wait = fault.retry_after_seconds if fault.retry_after_seconds else 60.0
        restate(response, fault.wait_format, wait, ctx.now())
    entry.status = response.status
    return Outcome(response, entry, None, delay)


def with_bad_text(response: SimResponse) -> SimResponse:
    """A 2xx JSON answer with `BAD_TEXT` added to every object that has an ``id``."""
    if not 200 <= response.status < 300:
        return response
    try:
        payload = json.loads(response.body)
    except ValueError:
        return response

    def spoil(node: Any) -> Any:
        if isinstance(node, dict):
            spoiled = {k: spoil(v) for k, v in node.items()}
            if "id" in node:
                spoiled[BAD_TEXT_FIELD] = BAD_TEXT
                spoiled[BAD_TEXT_KEY] = 1
            return spoiled
        if isinstance(node, list):
            return [spoil(v) for v in node]
        return node

    # json.dumps escapes NUL and surrogates as \u0000 / \ud800: valid JSON text, as
    # a provider would send it.
    return SimResponse(response.status, json.dumps(spoil(payload)).encode(), response.headers)


def _json_type() -> dict[str, str]:
    return {"Content-Type": "application/json; charset=utf-8"}
