"""YouTube's Google-style error envelopes (providers.md §2.5)."""

from __future__ import annotations

from ...messages import SimResponse

QUOTA_MESSAGE = (
    "The request cannot be completed because you have exceeded your "
    '<a href="/youtube/v3/getting-started#quota">quota</a>.'
)
REASONS: dict[str, tuple[int, str, str]] = {
    # reason: (status, domain, message)
    "quotaExceeded": (403, "youtube.quota", QUOTA_MESSAGE),
    "dailyLimitExceeded": (
        403,
        "usageLimits",
        "Daily Limit Exceeded. The quota will be reset at midnight Pacific Time (PT).",
    ),
    "rateLimitExceeded": (403, "usageLimits", "Rate Limit Exceeded"),
    "authError": (401, "global", "Invalid Credentials"),
    "forbidden": (
        403,
        "youtube.common",
        "Access forbidden. The request may not be properly authorized.",
    ),
    "insufficientPermissions": (403, "global", "Insufficient Permission"),
    "invalidPageToken": (400, "youtube.parameter", "The request specifies an invalid page token."),
    "missingRequiredParameter": (400, "youtube.parameter", "No filter selected."),
    "invalidValue": (400, "youtube.parameter", "Invalid value for a parameter."),
    "playlistNotFound": (
        404,
        "youtube.playlistItem",
        "The playlist identified with the request's playlistId parameter cannot be found.",
    ),
    "backendError": (500, "global", "Backend Error"),
    "badGateway": (502, "global", "Bad Gateway"),
    "serviceUnavailable": (503, "global", "The service is currently unavailable."),
}
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
}


def error(reason: str, status: int | None = None) -> SimResponse:
    default_status, domain, message = REASONS[reason]
    code = status or default_status
    entry: dict[str, str] = {"message": message, "domain": domain, "reason": reason}
    if reason == "authError":
        entry |= {"location": "Authorization", "locationType": "header"}
        message = (
            "Request had invalid authentication credentials. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential."
        )
    body = {"error": {"code": code, "message": message, "errors": [entry]}}
    if code in STATUS_NAMES:
        body["error"]["status"] = STATUS_NAMES[code]
    return SimResponse.json(code, body)
