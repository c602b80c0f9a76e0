"""Restating the wait of a throttle answer, for the fault option ``waitFormat``.

Each provider plugin renders its throttles in the provider's own shape; this rewrites
only how the wait is stated, after the plugin (and its common headers) ran:

- ``seconds`` (default): as the plugin rendered it;
- ``http-date``: ``Retry-After`` as an HTTP-date ``retryAfterSeconds`` ahead (RFC 9110
  §10.2.3), and no other wait (reset epochs, Meta regain minutes, ``retryDelay``);
- ``none``: no wait at all: no ``Retry-After``, no reset epochs, Meta's
  ``estimated_time_to_regain_access`` 0 (the call count still over 100 %), no
  ``retryDelay`` in the body.
"""

from __future__ import annotations

import json
from email.utils import formatdate
from typing import Any

from .messages import SimResponse

WAIT_FORMATS = frozenset({"seconds", "http-date", "none"})

_RESET_HEADERS = frozenset({"retry-after", "x-ratelimit-reset", "x-rate-limit-reset"})


def restate(response: SimResponse, wait_format: str, wait_seconds: float, now: float) -> None:
    """Rewrite ``response``'s stated wait in place (see the module docstring)."""
    if wait_format == "seconds":
        return
    response.headers = {
        name: value
        for name, value in response.headers.items()
        if name.lower() not in _RESET_HEADERS
    }
    for name, value in list(response.headers.items()):
        if name.lower() == "x-business-use-case-usage":
            response.headers[name] = _no_regain(value)
        elif name.lower() == "x-ad-account-usage":
            response.headers[name] = _without(value, "reset_time_duration")
    try:
        body = json.loads(response.body) if response.body else None
    except ValueError:
        body = None
    if body is not None:
        response.body = json.dumps(_drop_retry_delay(body)).encode()
    if wait_format == "http-date":
        response.headers["Retry-After"] = formatdate(now + wait_seconds, usegmt=True)


def _no_regain(raw: str) -> str:
    try:
        usage = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(usage, dict):
        for entries in usage.values():
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict):
                    entry["estimated_time_to_regain_access"] = 0
                    entry["call_count"] = max(int(entry.get("call_count") or 0), 118)
    return json.dumps(usage)


def _without(raw: str, key: str) -> str:
    try:
        usage = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(usage, dict):
        usage.pop(key, None)
    return json.dumps(usage)


def _drop_retry_delay(node: Any) -> Any:
    if isinstance(node, list):
        return [_drop_retry_delay(item) for item in node]
    if isinstance(node, dict):
        return {k: _drop_retry_delay(v) for k, v in node.items() if k != "retryDelay"}
    return node
