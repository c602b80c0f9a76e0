"""The admin API under ``/_admin/``: reset, limits, faults, request log, stats."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from . import webhooks
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
    if route == ("POST", "webhooks") and parts[1:] == ["send"]:
        return _send_webhook(payload)
    if parts[:1] == ["oauth"]:
        return _oauth(state, method, parts[1:], payload)
    if parts[:1] == ["websub"]:
        return _websub(state, method, parts[1:], payload)
    if route == ("GET", "stats"):
        return SimResponse.json(200, {"providers": state.stats()})
    if route == ("GET", "providers"):
        return SimResponse.json(200, {"providers": sorted(state.providers)})
    return _error(404, f"no admin route {method} /_admin/{'/'.join(parts)}")


def _oauth(state: SimulatorState, method: str, parts: list[str], payload: Any) -> SimResponse:
    """``GET /oauth`` counters and settings; ``PUT /oauth/{p}`` {accessTtlSeconds, delaySeconds,
    failStatus, failCount, denyConsent, consentAccount}; ``POST /oauth/{p}/grants`` {account,
    scopes, expiresIn, ageSeconds} → tokens; ``POST /oauth/{p}/revoke|expire`` {token}."""
    oauth = state.oauth
    if method == "GET" and not parts:
        return SimResponse.json(200, {"providers": oauth.stats()})
    if not parts or parts[0] not in oauth.behaviour or not isinstance(payload, dict):
        return _error(404, "unknown provider")
    provider, action = parts[0], parts[1] if len(parts) > 1 else ""
    try:
        if method == "PUT" and not action:
            return SimResponse.json(
                200, {"provider": provider, **vars(oauth.configure(provider, payload))}
            )
        if method == "POST" and action == "grants":
            return SimResponse.json(201, oauth.seed(provider, payload))
        if method == "POST" and action in ("revoke", "expire"):
            done = getattr(oauth, action)(provider, str(payload.get("token", "")))
            return SimResponse.json(200 if done else 404, {action: done})
    except (TypeError, ValueError) as exc:
        return _error(400, f"bad oauth admin payload: {exc}")
    return _error(404, f"no admin route {method} /_admin/oauth/{'/'.join(parts)}")


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


def _send_webhook(payload: Any) -> SimResponse:
    """Build provider deliveries (`webhooks.build`) and POST them to ``payload["url"]``:
    ``count`` distinct ones (default 1), ``intervalSeconds`` apart, over one connection."""
    if not isinstance(payload, dict) or not str(payload.get("url", "")).startswith("http"):
        return _error(400, "expected {url, provider, secret, account | accounts, count?, ...}")
    try:
        count = int(payload.get("count", 1))
        interval = float(payload.get("intervalSeconds", 0))
        built = [webhooks.build(payload) for _ in range(max(count, 1))]
    except (KeyError, TypeError, ValueError) as exc:
        return _error(400, f"bad delivery spec: {exc}")
    answers: list[dict[str, Any]] = []
    started = time.monotonic()
    with httpx.Client(timeout=10.0) as client:
        for index, delivery in enumerate(built):
            if index and interval:
                time.sleep(max(0.0, started + index * interval - time.monotonic()))
            try:
                answer = webhooks.deliver(str(payload["url"]), delivery, client=client)
            except httpx.HTTPError as exc:
                return _error(502, f"delivery failed: {type(exc).__name__}")
            answers.append(
                {
                    "status": answer.status_code,
                    "body": answer.text[:2000],
                    "deliveryId": delivery.delivery_id,
                }
            )
    elapsed = time.monotonic() - started
    return SimResponse.json(200, {**answers[-1], "answers": answers, "elapsedSeconds": elapsed})


def _websub(state: SimulatorState, method: str, parts: list[str], payload: Any) -> SimResponse:
    """``GET`` the hub's subscriptions, ``PUT {refuseStatus}`` (null: accept), or
    ``POST publish {channelId, deleted?}`` to notify the channel's subscribers."""
    hub = state.hub
    if method == "GET" and not parts:
        return SimResponse.json(200, {"subscriptions": hub.listing(), "requests": hub.requests})
    if method == "PUT" and not parts and isinstance(payload, dict):
        refuse = payload.get("refuseStatus")
        hub.refuse_status = int(refuse) if refuse is not None else None
        return SimResponse.json(200, {"refuseStatus": hub.refuse_status})
    if method == "POST" and parts == ["publish"] and isinstance(payload, dict):
        statuses = hub.publish(
            str(payload.get("channelId", "")), deleted=bool(payload.get("deleted"))
        )
        return SimResponse.json(200, {"statuses": statuses})
    return _error(404, "use GET /websub, PUT /websub or POST /websub/publish")


def _first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _error(status: int, message: str) -> SimResponse:
    return SimResponse.json(status, {"error": message})
