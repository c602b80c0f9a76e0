"""GitHub deliveries: `X-GitHub-Event`, `X-GitHub-Delivery` (a GUID unique per event and
reused on redelivery, so the dedupe key) [C GH-9, GH-11; S ISS-13], a JSON body or a
form body with the JSON in its `payload` field [C GH-9; U].

The connection is the GitHub login the connector syncs (`users/{login}/events`): the
repository owner, the organization and the sender of the event are all candidates.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from tributary_common.ledger.deliveries import Delivery

from .errors import Malformed

#: Events that change nothing to sync.
NO_SYNC_EVENTS = frozenset({"ping"})


def parse(headers: dict[str, str], body: bytes) -> Delivery:
    """Raise `Malformed` when the delivery id, event or JSON body is missing or wrong."""
    event = headers.get("x-github-event", "").strip()
    delivery_id = headers.get("x-github-delivery", "").strip()
    if not event or not delivery_id or len(delivery_id) > 100:
        raise Malformed("X-GitHub-Event and X-GitHub-Delivery are required")
    payload = _payload(headers.get("content-type", ""), body)
    logins: list[str] = []
    for path in (("repository", "owner", "login"), ("organization", "login"), ("sender", "login")):
        value: Any = payload
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str) and value and value not in logins:
            logins.append(value)
    return Delivery(
        provider="github",
        delivery_id=delivery_id,
        event=event,
        accounts=tuple(("github", login) for login in logins),
        wants_sync=event not in NO_SYNC_EVENTS,
    )


def _payload(content_type: str, body: bytes) -> dict[str, Any]:
    media = content_type.split(";")[0].strip().lower()
    try:
        if media == "application/x-www-form-urlencoded":
            fields = parse_qs(body.decode("utf-8"), strict_parsing=True)
            raw: Any = fields.get("payload", [""])[0]
        else:
            raw = body
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Malformed("the body is not a JSON payload") from None
    if not isinstance(payload, dict):
        raise Malformed("the payload must be a JSON object")
    return payload
