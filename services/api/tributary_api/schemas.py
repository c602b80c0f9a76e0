"""Request and response schemas: enforced by `validation`, published by `openapi`."""

from __future__ import annotations

from typing import Any

from tributary_common.categories import ErrorCategory
from tributary_common.settings import PROVIDER_ALIASES, PROVIDERS

Schema = dict[str, Any]

#: Ids: no control characters, C0 or C1 (PostgreSQL text cannot hold NUL; logs should not
#: hold the rest). Patterns are matched whole (`validation`), so a final newline is refused.
ID = {
    "type": "string",
    "minLength": 1,
    "maxLength": 200,
    "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]+$",
}
#: Tokens travel in HTTP headers: visible ASCII only (RFC 6750's b64token is a subset).
TOKEN = {"type": "string", "minLength": 1, "maxLength": 8192, "pattern": "^[\\x21-\\x7e]+$"}
#: A provider: its name or a seed alias (`meta`, `google`, `twitter`), which validation
#: replaces by the canonical name (``x-aliases``).
PROVIDER = {
    "type": "string",
    "enum": [*PROVIDERS, *PROVIDER_ALIASES],
    "x-aliases": dict(PROVIDER_ALIASES),
}
CATEGORY = {"type": "string", "enum": [c.value for c in ErrorCategory]}
DATE = {"type": "string", "format": "date"}
UUID = {"type": "string", "format": "uuid"}
TIME = {"type": ["string", "null"], "format": "date-time"}
INT = {"type": "integer"}
NULL_INT = {"type": ["integer", "null"]}
NULL_STR = {"type": ["string", "null"]}


def obj(properties: dict[str, Any], required: list[str] | None = None, **extra: Any) -> Schema:
    return {
        "type": "object",
        "properties": properties,
        "required": required if required is not None else list(properties),
        **extra,
    }


# Request bodies ---------------------------------------------------------------------

#: Credential fields a client may send (secrets are write-only: never answered back).
CREDENTIAL_FIELDS: dict[str, Any] = {
    "refreshToken": TOKEN,
    "expiresAt": {"type": "string", "format": "date-time", "maxLength": 64},
    "scopes": {"type": "string", "maxLength": 2000, "pattern": "^[\\x20-\\x7e]*$"},
    "tokenType": {"type": "string", "enum": ["bearer", "Bearer"]},
    "tokenKind": {"type": "string", "enum": ["user", "personal", "system_user"]},
}
CREDENTIAL_STATES = ["valid", "refreshable", "expiring", "expired"]

CONNECTION_CREATE = obj(
    {
        "userId": ID,
        "provider": PROVIDER,
        "accountId": ID,
        "accessToken": TOKEN,
        **CREDENTIAL_FIELDS,
        "private": {"type": "boolean"},
        "syncIntervalMinutes": {"type": "integer", "minimum": 1, "maximum": 10080},
    },
    ["userId", "provider", "accountId", "accessToken"],
    additionalProperties=False,
)
CONNECTION_PATCH = obj(
    {
        "private": {"type": "boolean"},
        "paused": {"type": "boolean"},
        "accessToken": TOKEN,
        **CREDENTIAL_FIELDS,
        "syncIntervalMinutes": {"type": "integer", "minimum": 1, "maximum": 10080},
    },
    [],
    additionalProperties=False,
    minProperties=1,
    # A credential field describes the access token sent with it (400 otherwise).
    dependentRequired={name: ["accessToken"] for name in CREDENTIAL_FIELDS},
)
MANUAL_SYNC = obj(
    {
        "userId": ID,
        "provider": PROVIDER,
        "syncDate": DATE,
        "campaignIds": {"type": "array", "items": ID, "maxItems": 100},
    },
    ["userId"],
    additionalProperties=False,
)
DEAD_LETTER_FILTER = obj(
    {"provider": PROVIDER, "category": CATEGORY, "userId": ID}, [], additionalProperties=False
)
REPLAY = obj(
    {
        "ids": {"type": "array", "items": UUID, "minItems": 1, "maxItems": 500},
        "filter": DEAD_LETTER_FILTER,
        "limit": {"type": "integer", "minimum": 1, "maximum": 500},
    },
    [],
    additionalProperties=False,
    anyOf=[{"required": ["ids"]}, {"required": ["filter"]}],
    **{"x-message": "give ids or a filter"},
)
PROCESS_QUEUE = obj(
    {"limit": {"type": "integer", "minimum": 1, "maximum": 50}}, [], additionalProperties=False
)

# Responses --------------------------------------------------------------------------

ERROR = obj(
    {"error": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}},
    ["error", "message"],
)
CONNECTION = obj(
    {
        "id": UUID,
        "userId": {"type": "string"},
        "provider": {"type": "string"},
        "accountId": {"type": "string"},
        "status": {"type": "string", "enum": ["active", "paused", "needs_reauth"]},
        "statusReason": NULL_STR,
        "private": {"type": "boolean"},
        "syncIntervalMinutes": INT,
        "nextDueAt": TIME,
        "lastSyncedAt": TIME,
        "createdAt": TIME,
        "updatedAt": TIME,
        "credential": obj(
            {
                "state": {"type": "string", "enum": CREDENTIAL_STATES},
                "expiresAt": TIME,
                "tokenType": {"type": "string"},
                "tokenKind": {"type": "string"},
                "scopes": NULL_STR,
                "hasRefreshToken": {"type": "boolean"},
                "version": INT,
                "refreshedAt": TIME,
            },
            additionalProperties=False,
        ),
    },
    additionalProperties=False,
)
JOB_STATUS = {"type": "string", "enum": ["pending", "processing", "completed", "failed", "held"]}
ATTEMPT = obj(
    {
        "attempt": INT,
        "worker": {"type": "string"},
        "startedAt": TIME,
        "finishedAt": TIME,
        "outcome": {"type": "string"},
        "errorCategory": NULL_STR,
        "error": NULL_STR,
        "recordsSynced": INT,
        "durationMs": INT,
    }
)
JOB = obj(
    {
        "id": UUID,
        "userId": {"type": "string"},
        "provider": {"type": "string"},
        "connectionId": UUID,
        "syncDate": DATE,
        "status": JOB_STATUS,
        "trigger": {"type": "string", "enum": ["manual", "webhook", "scheduled", "retry"]},
        "priority": INT,
        "queue": {"type": "string"},
        "options": {"type": "object"},
        "createdAt": TIME,
        "updatedAt": TIME,
        "startedAt": TIME,
        "completedAt": TIME,
        "notBefore": TIME,
        "error": NULL_STR,
        "errorCategory": NULL_STR,
        "attempts": INT,
        "retryCount": INT,
        "deferrals": INT,
        "recordsSynced": INT,
        "durationMs": NULL_INT,
        "deadLettered": {"type": "boolean"},
    }
)
JOB_PAGE = obj({"jobs": {"type": "array", "items": JOB}, "nextCursor": NULL_STR})
JOB_DETAIL = obj({"job": JOB, "attempts": {"type": "array", "items": ATTEMPT}})
RECENT_SYNC = obj(
    {
        "jobId": UUID,
        "status": JOB_STATUS,
        "trigger": {"type": "string"},
        "syncDate": DATE,
        "createdAt": TIME,
        "startedAt": TIME,
        "completedAt": TIME,
        "recordsSynced": INT,
        "attempts": INT,
        "error": NULL_STR,
        "errorCategory": NULL_STR,
    }
)
MANUAL_ACCEPTED = obj(
    {
        "jobId": UUID,
        "status": JOB_STATUS,
        "deduplicated": {"type": "boolean"},
        "queuePosition": NULL_INT,
        "dueAt": TIME,
        "queue": {"type": "string"},
        "dispatched": {"type": "boolean"},
    }
)
#: POST /api/sync/manual without `provider`: one job per active connection of the user.
MANUAL_ACCEPTED_ALL = obj(
    {
        "jobs": {
            "type": "array",
            "items": obj(
                {
                    "provider": {"type": "string"},
                    "connectionId": UUID,
                    **MANUAL_ACCEPTED["properties"],
                }
            ),
        }
    }
)
USER_STATUS = obj(
    {
        "provider": {"type": "string"},
        "connection": obj({"status": {"type": "string"}, "lastSyncedAt": TIME}),
        "queue": obj(
            {
                "isActive": {"type": "boolean"},
                "queuePosition": NULL_INT,
                "dueAt": TIME,
                "jobId": {"type": ["string", "null"]},
                "waiting": INT,
                "active": INT,
            }
        ),
        "recentSyncs": {"type": "array", "items": RECENT_SYNC},
    }
)
QUEUE_STATS = obj(
    {
        "bands": {"type": ["object", "null"]},
        "jobsByStatus": {"type": "object", "additionalProperties": INT},
        "pendingByBand": {"type": "object"},
        "oldestPendingSeconds": {"type": "number"},
        "deadLetters": obj({"total": INT, "byProvider": {"type": "object"}}),
        "limits": {"type": ["object", "null"]},
        "redis": {"type": "string"},
        "stats": obj({"errorCategories": {"type": "object", "additionalProperties": INT}}),
        "providers": {
            "type": "array",
            "items": obj(
                {
                    "provider": {"type": "string"},
                    "connection": obj(
                        {"total": INT, "active": INT, "paused": INT, "needs_reauth": INT}
                    ),
                }
            ),
        },
    }
)
DEAD_LETTER = obj(
    {
        "id": UUID,
        "jobId": UUID,
        "userId": {"type": "string"},
        "provider": {"type": "string"},
        "connectionId": UUID,
        "category": {"type": "string"},
        "error": {"type": "string"},
        "attempts": INT,
        "payload": {"type": "object"},
        "createdAt": TIME,
        "replayedAt": TIME,
        "replayJobId": {"type": ["string", "null"]},
        "replayError": {"type": ["string", "null"]},
    }
)
HEALTH_DOC = obj(
    {
        "healthy": {"type": "boolean"},
        "failed": {"type": "array", "items": {"type": "string"}},
        "checks": {
            "type": "object",
            "additionalProperties": obj({"ok": {"type": "boolean"}, "detail": {"type": "string"}}),
        },
        "stats": obj(
            {
                "connections": obj({"total": INT, "active": INT}),
                "syncs24h": obj(
                    {
                        "total": INT,
                        "failed": INT,
                        "successRate": {"type": "string", "pattern": "^[0-9]+\\.[0-9]%$"},
                        "successRatePercent": {"type": "number"},
                    }
                ),
                "queue": obj({"waiting": INT, "active": INT, "completed": INT}),
            }
        ),
    }
)
