"""`/openapi.json`: an OpenAPI 3.1 document built from the same schemas the app enforces."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import falcon

from . import event_schemas as es
from . import schemas as s
from .auth import SECURITY_SCHEMES
from .resources import activities, connections, deadletters, jobs, sync

Params = Mapping[str, Mapping[str, Any]]
ERROR_REF = {"$ref": "#/components/schemas/Error"}
NO_PARAMS: Params = {}


def _json(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def op(
    summary: str,
    ok: tuple[int, Mapping[str, Any] | None],
    *,
    params: Params = NO_PARAMS,
    path: Params = NO_PARAMS,
    body: Mapping[str, Any] | None = None,
    errors: tuple[int, ...] = (),
    rule: str | None = None,
) -> dict[str, Any]:
    """One operation: its parameters, body, success and error responses (security: `document`)."""
    status, schema = ok
    responses: dict[str, Any] = {
        str(status): {"description": summary} | ({"content": _json(schema)} if schema else {})
    }
    codes = set(errors) | {400} if (params or body) else set(errors)
    if body is not None:
        codes |= {413, 415}
    for code in sorted(codes | {503}):
        responses[str(code)] = {"description": "error", "content": _json(ERROR_REF)}
    operation: dict[str, Any] = {
        "summary": summary,
        **({"description": f"400 when: {rule}"} if rule else {}),
        "parameters": [
            {"name": n, "in": "path", "required": True, "schema": p["schema"]}
            for n, p in path.items()
        ]
        + [
            {"name": n, "in": "query", "required": bool(p.get("required")), "schema": p["schema"]}
            for n, p in params.items()
        ],
        "responses": responses,
    }
    if body is not None:
        needed = bool(body.get("required") or body.get("minProperties") or body.get("anyOf"))
        operation["requestBody"] = {"required": needed, "content": _json(body)}
    return operation


CONNECTION_ID: Params = {"connection_id": {"schema": s.UUID}}
EMPTY_BODY = s.obj({}, [], additionalProperties=False)
LIST = s.obj({"connections": {"type": "array", "items": s.CONNECTION}})
DEAD_LETTER_PAGE = s.obj(
    {"deadLetters": {"type": "array", "items": s.DEAD_LETTER}, "nextCursor": s.NULL_STR}
)
REPLAYED = s.obj({"replayed": {"type": "array"}, "errors": {"type": "array"}})
ACTIVITIES = s.obj(
    {
        "userId": {"type": "string"},
        "from": s.DATE,
        "to": s.DATE,
        "visibility": {"type": "string"},
        "hiddenPlatforms": {"type": "array", "items": {"type": "string"}},
        "days": {
            "type": "array",
            "items": s.obj({"date": s.DATE, "platforms": {"type": "object"}, "total": s.INT}),
        },
    }
)
#: One entry per job run; ``outcome`` as `RunResult.outcome`.
RUN_OUTCOME = {
    "type": "string",
    "description": "completed, retried, failed, deferred, interrupted, held, cancelled; or, when"
    " nothing ran: duplicate (the job was already done or running elsewhere), early (not due"
    " yet), missing (deleted)",
}
PROCESSED = s.obj(
    {
        "processed": s.INT,
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"outcome": RUN_OUTCOME},
                "required": ["outcome"],
            },
        },
    }
)


def paths() -> dict[str, dict[str, Any]]:
    """Every route the app serves, by path template and method.

    One table on purpose (longer than our usual function): reading the whole contract in
    one place beats splitting it; `test_openapi_lists_exactly_the_routes` keeps it honest.
    """
    conn = connections
    return {
        "/api/connections": {
            "post": op(
                "Create a connection", (201, s.CONNECTION), body=s.CONNECTION_CREATE, errors=(409,)
            ),
            "get": op("List a user's connections", (200, LIST), params=conn.LIST_PARAMS),
        },
        "/api/connections/{connection_id}": {
            "get": op(
                "Get a connection",
                (200, s.CONNECTION),
                path=CONNECTION_ID,
                params=conn.USER_SCOPE,
                errors=(404,),
            ),
            "patch": op(
                "Update privacy, pause/resume, or replace the token",
                (200, s.CONNECTION),
                path=CONNECTION_ID,
                params=conn.USER_SCOPE,
                body=s.CONNECTION_PATCH,
                errors=(404, 409),
            ),
            "delete": op(
                "Delete a connection",
                (204, None),
                path=CONNECTION_ID,
                params=conn.USER_SCOPE,
                errors=(404,),
            ),
        },
        "/api/sync/manual": {
            "post": op(
                "Enqueue a manual sync (without provider: one per active connection of the user)",
                (202, {"oneOf": [s.MANUAL_ACCEPTED, s.MANUAL_ACCEPTED_ALL]}),
                body=s.MANUAL_SYNC,
                errors=(404, 409),
                rule="syncDate is more than a day ahead of today (UTC) or more than 366 days back (invalid_field)",
            ),
        },
        "/api/sync/status": {
            "get": op(
                "A user's sync status (userId and provider), or queue statistics",
                (200, {"oneOf": [s.USER_STATUS, s.QUEUE_STATS]}),
                params=sync.STATUS_PARAMS,
                errors=(404,),
                rule="userId is given without provider (missing_parameter)",
            ),
        },
        "/api/sync/jobs": {
            "get": op(
                "Jobs, newest first, filtered (status, provider, userId, trigger, date)",
                (200, s.JOB_PAGE),
                params=jobs.LIST_PARAMS,
                rule="cursor is not a nextCursor this route answered",
            ),
        },
        "/api/sync/jobs/{job_id}": {
            "get": op(
                "A job and its attempts",
                (200, s.JOB_DETAIL),
                path={"job_id": {"schema": s.UUID}},
                params=jobs.PARAMS,
                errors=(404,),
            ),
        },
        "/api/cron/sync-all": {
            "post": op(
                "Enqueue scheduled syncs of every active connection",
                (200, s.obj({"enqueued": s.INT, "skipped": s.INT})),
                body=EMPTY_BODY,
            ),
        },
        "/api/cron/process-queue": {
            "post": op(
                "Run up to `limit` due jobs in this request", (200, PROCESSED), body=s.PROCESS_QUEUE
            ),
        },
        "/api/cron/sync-hourly": {
            "get": op("Enqueue due syncs, clean up, report health", (200, s.HEALTH_DOC)),
            "post": op(
                "Enqueue due syncs, clean up, report health", (200, s.HEALTH_DOC), body=EMPTY_BODY
            ),
        },
        "/api/dead-letters": {
            "get": op(
                "List dead letters",
                (200, DEAD_LETTER_PAGE),
                params=deadletters.LIST_PARAMS,
                rule="cursor is not a nextCursor this api returned (invalid_parameter)",
            ),
            "delete": op(
                "Purge dead letters by filter",
                (200, s.obj({"purged": s.INT})),
                params=deadletters.PURGE_PARAMS,
                rule="no filter is given: one of provider, category, userId, replayedOnly=true or all=true is required (missing_filter)",
            ),
        },
        "/api/dead-letters/replay": {
            "post": op("Replay dead letters by ids or filter", (200, REPLAYED), body=s.REPLAY),
        },
        "/api/dead-letters/{letter_id}": {
            "get": op(
                "Get a dead letter",
                (200, s.DEAD_LETTER),
                path={"letter_id": {"schema": s.UUID}},
                errors=(404,),
            ),
            "delete": op(
                "Delete a dead letter",
                (204, None),
                path={"letter_id": {"schema": s.UUID}},
                errors=(404,),
            ),
        },
        "/api/users/{user_id}/activities": {
            "get": op(
                "Daily activity per platform",
                (200, ACTIVITIES),
                path={"user_id": {"schema": s.ID}},
                params=activities.PARAMS,
                errors=(404,),
                rule="from..to spans more than 366 days, or from is after to (invalid_parameter)",
            ),
        },
        "/healthz": {"get": op("The process is up", (200, s.obj({"status": {"type": "string"}})))},
        "/readyz": {
            "get": op(
                "PostgreSQL and Redis reachable",
                (200, s.obj({"ready": {"type": "boolean"}, "checks": {"type": "object"}})),
            )
            | {
                "responses": {
                    str(c): {
                        "description": "readiness",
                        "content": _json(
                            s.obj({"ready": {"type": "boolean"}, "checks": {"type": "object"}})
                        ),
                    }
                    for c in (200, 503)
                }
            },
        },
        "/metrics": {"get": op("Prometheus metrics", (200, None))},
        "/openapi.json": {"get": op("This document", (200, {"type": "object"}))},
        **webhook_paths(),
        **event_paths(),
    }


WEBHOOK_RECEIVED = s.obj(
    {
        "received": {"type": "boolean"},
        "outcome": {"type": "string", "enum": ["enqueued", "duplicate", "unmatched", "ignored"]},
    }
)
HUB_PARAMS: Params = {
    name: {"schema": {"type": "string"}}
    for name in ("hub.mode", "hub.topic", "hub.challenge", "hub.lease_seconds", "hub.verify_token")
}


def webhook_paths() -> dict[str, dict[str, Any]]:
    """The provider webhook routes: open (no bearer token), signature-verified."""

    def delivery(summary: str) -> dict[str, Any]:
        return op(summary, (200, WEBHOOK_RECEIVED), errors=(400, 401, 413))

    def challenge(summary: str, refused: int) -> dict[str, Any]:
        return op(summary, (200, None), params=HUB_PARAMS, errors=(refused,))

    return {
        "/webhooks/github": {"post": delivery("GitHub delivery (X-Hub-Signature-256)")},
        "/webhooks/meta": {
            "get": challenge("Meta verification: echo hub.challenge", 403),
            "post": delivery("Meta/Instagram delivery (X-Hub-Signature-256, app secret)"),
        },
        "/webhooks/youtube": {
            "get": challenge("WebSub verification of intent: echo hub.challenge", 404),
            "post": delivery("WebSub Atom notification (X-Hub-Signature)"),
        },
    }


def event_paths() -> dict[str, dict[str, Any]]:
    """Events out: endpoints, their deliveries and replays; provider deliveries received."""
    endpoint: Params = {"endpoint_id": {"schema": s.UUID}}
    delivery: Params = {**endpoint, "delivery_id": {"schema": es.DELIVERY_ID}}
    return {
        "/api/webhook-endpoints": {
            "post": op(
                "Register an endpoint; the signing secret is in this answer only",
                (201, es.ENDPOINT_CREATED),
                body=es.ENDPOINT_CREATE,
            ),
            "get": op("Registered endpoints", (200, es.ENDPOINT_LIST)),
        },
        "/api/webhook-endpoints/{endpoint_id}": {
            "get": op("An endpoint", (200, es.ENDPOINT), path=endpoint, errors=(404,)),
            "patch": op(
                "Change an endpoint (enabled: true re-enables a disabled one)",
                (200, es.ENDPOINT),
                path=endpoint,
                body=es.ENDPOINT_PATCH,
                errors=(404,),
            ),
            "delete": op("Remove an endpoint", (204, None), path=endpoint, errors=(404,)),
        },
        "/api/webhook-endpoints/{endpoint_id}/deliveries": {
            "get": op(
                "The endpoint's event deliveries, newest first",
                (200, es.DELIVERY_LIST),
                path=endpoint,
                params=es.DELIVERY_QUERY,
                errors=(404,),
            )
        },
        "/api/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/replay": {
            "post": op(
                "Send a delivery again (same webhook-id), from the start of the schedule",
                (202, es.DELIVERY),
                path=delivery,
                body=EMPTY_BODY,
                errors=(404,),
            )
        },
        "/api/webhook-deliveries": {
            "get": op(
                "Provider webhook deliveries received, newest first",
                (200, es.INBOUND_LIST),
                params=es.INBOUND_QUERY,
            )
        },
    }


def document(families: Mapping[str, str]) -> dict[str, Any]:
    """The whole document; each route's security comes from its declared secret family.

    ``families`` maps route template -> family (`routes.families()`); a documented path
    without one raises KeyError, so the document cannot claim a route is open by omission.
    """
    documented = paths()
    for template, methods in documented.items():
        scheme = SECURITY_SCHEMES.get(families[template])
        for operation in methods.values():
            operation["security"] = [{scheme[0]: []}] if scheme else []
            if scheme:
                operation["responses"]["401"] = {
                    "description": "error",
                    "content": _json(ERROR_REF),
                }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Tributary API", "version": "1.0.0"},
        "paths": documented,
        "components": {
            "schemas": {"Error": s.ERROR},
            "securitySchemes": dict(SECURITY_SCHEMES.values()),
        },
    }


class OpenApiResource:
    def __init__(self, families: Mapping[str, str]) -> None:
        self.doc = document(families)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.doc
