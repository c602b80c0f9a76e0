"""Events out: `/api/webhook-endpoints` (register, list, change, remove), each endpoint's
deliveries (the outbox) and their replay; `/api/webhook-deliveries` lists the provider
deliveries received (`/webhooks/*`).

An endpoint URL must be https unless ``TRIBUTARY_EVENTS_ALLOW_HTTP`` is set. The signing
secret is returned once, in the 201 of the registration.
"""

from __future__ import annotations

from typing import Any

import falcon
from tributary_common.ledger import deliveries, endpoints, outbox

from .. import event_schemas as es
from ..deps import ApiDeps
from ..errors import ApiError
from ..serialize import iso
from ..validation import query, read_json
from .common import parse_id

DEFAULT_LIMIT = 100


def endpoint_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "url": row["url"],
        "eventTypes": list(row["event_types"]),
        "description": row["description"],
        "enabled": row["enabled"],
        "disabledReason": row["disabled_reason"],
        "disabledAt": iso(row["disabled_at"]),
        "failingSince": iso(row["failing_since"]),
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
    }


def delivery_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "eventType": row["event_type"],
        "status": row["status"],
        "attempts": row["attempts"],
        "nextAttemptAt": iso(row["next_attempt_at"]) if row["status"] == "pending" else None,
        "lastStatus": row["last_status"],
        "lastError": row["last_error"],
        "lastAttemptAt": iso(row["last_attempt_at"]),
        "createdAt": iso(row["created_at"]),
        "deliveredAt": iso(row["delivered_at"]),
        "payload": row["payload"],
    }


def _fields(body: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "url" in body:
        fields["url"] = body["url"]
    if "eventTypes" in body:
        fields["event_types"] = sorted(set(body["eventTypes"]))
    if "description" in body:
        fields["description"] = body["description"]
    if "enabled" in body:
        fields["enabled"] = body["enabled"]
    return fields


class EndpointCollection:
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        query(req, {})
        dev = self.deps.settings.events.allow_http
        schema = es.DEV_ENDPOINT_CREATE if dev else es.ENDPOINT_CREATE
        body = read_json(req, schema, self.deps.settings.max_body_bytes)
        fields = _fields(body)
        row = endpoints.create(
            self.deps.pool,
            url=fields["url"],
            event_types=fields["event_types"],
            description=fields.get("description", ""),
        )
        resp.status = falcon.HTTP_201
        resp.media = {**endpoint_json(row), "secret": row["secret"]}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        query(req, {})
        resp.media = {
            "endpoints": [endpoint_json(r) for r in endpoints.all_endpoints(self.deps.pool)]
        }


class EndpointItem:
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response, endpoint_id: str) -> None:
        query(req, {})
        resp.media = endpoint_json(endpoints.get(self.deps.pool, parse_id(endpoint_id, "endpoint")))

    def on_patch(self, req: falcon.Request, resp: falcon.Response, endpoint_id: str) -> None:
        query(req, {})
        dev = self.deps.settings.events.allow_http
        schema = es.DEV_ENDPOINT_PATCH if dev else es.ENDPOINT_PATCH
        body = read_json(req, schema, self.deps.settings.max_body_bytes)
        row = endpoints.update(self.deps.pool, parse_id(endpoint_id, "endpoint"), **_fields(body))
        resp.media = endpoint_json(row)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, endpoint_id: str) -> None:
        query(req, {})
        endpoints.delete(self.deps.pool, parse_id(endpoint_id, "endpoint"))
        resp.status = falcon.HTTP_204


class EndpointDeliveries:
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response, endpoint_id: str) -> None:
        params = query(req, es.DELIVERY_QUERY)
        endpoint = endpoints.get(self.deps.pool, parse_id(endpoint_id, "endpoint"))
        rows = outbox.for_endpoint(
            self.deps.pool,
            endpoint["id"],
            status=params.get("status"),
            limit=params.get("limit", DEFAULT_LIMIT),
        )
        resp.media = {"deliveries": [delivery_json(r) for r in rows]}


class DeliveryReplay:
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def on_post(
        self, req: falcon.Request, resp: falcon.Response, endpoint_id: str, delivery_id: str
    ) -> None:
        query(req, {})
        read_json(
            req, es.obj({}, [], additionalProperties=False), self.deps.settings.max_body_bytes
        )
        if not delivery_id.startswith("msg_") or len(delivery_id) != 36:
            raise ApiError(404, "not_found", f"delivery {delivery_id[:40]} not found")
        row = outbox.replay(self.deps.pool, parse_id(endpoint_id, "endpoint"), delivery_id)
        resp.status = falcon.HTTP_202
        resp.media = delivery_json(row)


class InboundDeliveries:
    """`GET /api/webhook-deliveries`: provider deliveries received, newest first."""

    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params = query(req, es.INBOUND_QUERY)
        limit = params.get("limit", DEFAULT_LIMIT)
        rows = deliveries.recent(
            self.deps.pool,
            provider=params.get("provider"),
            limit=limit,
            before=params.get("before"),
        )
        resp.media = {
            "deliveries": [
                {
                    "id": r["id"],
                    "provider": r["provider"],
                    "deliveryId": r["delivery_id"],
                    "event": r["event"],
                    "receivedAt": iso(r["received_at"]),
                    "outcome": r["outcome"],
                    "connectionIds": [str(c) for c in r["connection_ids"]],
                    "jobIds": [str(j) for j in r["job_ids"]],
                    "duplicates": r["duplicates"],
                }
                for r in rows
            ],
            "nextBefore": rows[-1]["id"] if len(rows) == limit else None,
        }
