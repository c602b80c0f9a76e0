"""Schemas of the events-out routes (`resources/event_endpoints.py`), enforced by
`validation` and published by `openapi` like the rest of `schemas`."""

from __future__ import annotations

from tributary_common.ledger.outbox import EVENT_TYPES

from .schemas import INT, NULL_INT, NULL_STR, TIME, UUID, obj

#: Endpoint URLs are https (the published contract); with TRIBUTARY_EVENTS_ALLOW_HTTP the
#: api validates against `DEV_*` twins that also take http (local development, tests).
URL = {"type": "string", "minLength": 9, "maxLength": 2000, "pattern": "^https://[^\\s]+$"}
DEV_URL = {**URL, "pattern": "^https?://[^\\s]+$"}
EVENT_TYPE_LIST = {
    "type": "array",
    "items": {"type": "string", "enum": list(EVENT_TYPES)},
    "minItems": 1,
    "maxItems": len(EVENT_TYPES),
}
DESCRIPTION = {"type": "string", "maxLength": 500, "pattern": "^[^\\x00-\\x08\\x0b-\\x1f\\x7f]*$"}
DELIVERY_ID = {"type": "string", "pattern": "^msg_[0-9a-f]{32}$"}

ENDPOINT_CREATE = obj(
    {"url": URL, "eventTypes": EVENT_TYPE_LIST, "description": DESCRIPTION},
    ["url", "eventTypes"],
    additionalProperties=False,
)
ENDPOINT_PATCH = obj(
    {
        "url": URL,
        "eventTypes": EVENT_TYPE_LIST,
        "description": DESCRIPTION,
        "enabled": {"type": "boolean"},
    },
    [],
    additionalProperties=False,
)
ENDPOINT = obj(
    {
        "id": UUID,
        "url": {"type": "string"},
        "eventTypes": {"type": "array", "items": {"type": "string"}},
        "description": {"type": "string"},
        "enabled": {"type": "boolean"},
        "disabledReason": NULL_STR,
        "disabledAt": TIME,
        "failingSince": TIME,
        "createdAt": TIME,
        "updatedAt": TIME,
    }
)
DEV_ENDPOINT_CREATE = {
    **ENDPOINT_CREATE,
    "properties": {**ENDPOINT_CREATE["properties"], "url": DEV_URL},
}
DEV_ENDPOINT_PATCH = {
    **ENDPOINT_PATCH,
    "properties": {**ENDPOINT_PATCH["properties"], "url": DEV_URL},
}
#: Only at registration: the signing secret, shown once.
ENDPOINT_CREATED = obj({**ENDPOINT["properties"], "secret": {"type": "string"}})
ENDPOINT_LIST = obj({"endpoints": {"type": "array", "items": ENDPOINT}})
DELIVERY = obj(
    {
        "id": {"type": "string"},
        "eventType": {"type": "string"},
        "status": {"type": "string", "enum": ["pending", "delivered", "failed"]},
        "attempts": INT,
        "nextAttemptAt": TIME,
        "lastStatus": NULL_INT,
        "lastError": NULL_STR,
        "lastAttemptAt": TIME,
        "createdAt": TIME,
        "deliveredAt": TIME,
        "payload": {"type": "object"},
    }
)
DELIVERY_LIST = obj({"deliveries": {"type": "array", "items": DELIVERY}})
DELIVERY_QUERY = {
    "status": {"schema": {"type": "string", "enum": ["pending", "delivered", "failed"]}},
    "limit": {"schema": {"type": "integer", "minimum": 1, "maximum": 500}},
}
INBOUND = obj(
    {
        "id": INT,
        "provider": {"type": "string"},
        "deliveryId": {"type": "string"},
        "event": {"type": "string"},
        "receivedAt": TIME,
        "outcome": {"type": "string"},
        "connectionIds": {"type": "array", "items": UUID},
        "jobIds": {"type": "array", "items": UUID},
        "duplicates": INT,
    }
)
INBOUND_LIST = obj({"deliveries": {"type": "array", "items": INBOUND}, "nextBefore": NULL_INT})
INBOUND_QUERY = {
    "provider": {"schema": {"type": "string", "enum": ["github", "meta", "youtube"]}},
    "limit": {"schema": {"type": "integer", "minimum": 1, "maximum": 500}},
    "before": {"schema": {"type": "integer", "minimum": 1}},
}
