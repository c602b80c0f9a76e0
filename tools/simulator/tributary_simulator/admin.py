"""The admin API under ``/_admin/``: reset, limits, faults, request log, stats."""

from __future__ import annotations

import json
from typing import Any

from .faults import FaultSpecError
from .messages import SimResponse
from .ratelimit import LimitSpec
from .state import SimulatorState


def handle_admin(
    state: SimulatorState, method: str, path: str, query: dict[str, list[str]], body: bytes
) -> SimResponse:
    """Answer one admin request; ``path`` is what follows ``/_admin``."""
    parts = [p for p in path.split("/") if p]
    try:
        payload: Any = json.loads(body) if body.strip() else {}
    except json.JSONDecodeError:
        return _error(400, "body is not JSON")
    route = (method, parts[0] if parts else "")
    if route == ("POST", "reset"):
        state.reset()
        return SimResponse.json(200, {"reset": True})
    if parts[:1] == ["limits"]:
        return _limits(state, method, parts[1:], payload)
    if parts[:1] == ["faults"]:
        return _faults(state, method, payload)
    if route == ("GET", "requests"):
        provider = _first(query, "provider")
        account = _first(query, "account")
        entries = state.log.entries(provider=provider, account=account)
        return SimResponse.json(200, {"requests": [e.as_json() for e in entries]})
    if route == ("GET", "stats"):
        return SimResponse.json(200, {"providers": state.stats()})
    if route == ("GET", "providers"):
        return SimResponse.json(200, {"providers": sorted(state.providers)})
    return _error(404, f"no admin route {method} /_admin/{'/'.join(parts)}")


def _limits(state: SimulatorState, method: str, parts: list[str], payload: Any) -> SimResponse:
    if method == "GET" and not parts:
        specs = {name: state.limiter.spec(name) for name in state.providers}
        limits = {name: spec.as_json() if spec else None for name, spec in specs.items()}
        return SimResponse.json(200, {"limits": limits})
    if len(parts) != 1 or parts[0] not in state.providers:
        return _error(404, "unknown provider")
    provider = parts[0]
    if method == "DELETE":
        state.limiter.configure(provider, None)
        return SimResponse.json(200, {"provider": provider, "limit": None})
    if method != "PUT":
        return _error(405, "use PUT or DELETE")
    try:
        spec = LimitSpec(
            requests=int(payload["requests"]),
            window_seconds=float(payload["windowSeconds"]),
            scope=str(payload.get("scope", "account")),
        )
    except (KeyError, TypeError, ValueError):
        return _error(400, "expected {requests, windowSeconds, scope?}")
    if spec.scope not in {"provider", "account"} or spec.requests < 0 or spec.window_seconds <= 0:
        return _error(400, "scope must be provider|account; requests >= 0; windowSeconds > 0")
    state.limiter.configure(provider, spec)
    return SimResponse.json(200, {"provider": provider, "limit": spec.as_json()})


def _faults(state: SimulatorState, method: str, payload: Any) -> SimResponse:
    if method == "GET":
        return SimResponse.json(200, {"faults": [f.as_json() for f in state.faults.list()]})
    if method == "DELETE":
        state.faults.clear()
        return SimResponse.json(200, {"cleared": True})
    if method != "POST" or not isinstance(payload, dict):
        return _error(400, "POST a fault object")
    try:
        fault = state.faults.add(payload, set(state.providers))
    except FaultSpecError as exc:
        return _error(400, str(exc))
    return SimResponse.json(201, fault.as_json())


def _first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _error(status: int, message: str) -> SimResponse:
    return SimResponse.json(status, {"error": message})
