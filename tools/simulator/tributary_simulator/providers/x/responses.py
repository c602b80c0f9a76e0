"""X API v2 problem bodies and ``x-rate-limit-*`` headers (providers.md §3.4 and §3.5)."""

from __future__ import annotations

import math
from typing import Any

from ...messages import SimResponse

PROBLEMS = "https://api.twitter.com/2/problems"


def rate_headers(limit: int, remaining: int, reset_at: float) -> dict[str, str]:
    return {
        "x-rate-limit-limit": str(limit),
        "x-rate-limit-remaining": str(remaining),
        "x-rate-limit-reset": str(math.ceil(reset_at)),
    }


def problem(
    status: int, title: str, detail: str, type_: str = "about:blank", **extra: Any
) -> SimResponse:
    body: dict[str, Any] = {"title": title, "detail": detail, "type": type_, **extra}
    if type_ == "about:blank":
        body["status"] = status
    return SimResponse.json(status, body)


def too_many_requests() -> SimResponse:
    return problem(429, "Too Many Requests", "Too Many Requests")


def usage_capped() -> SimResponse:
    return problem(
        429,
        "UsageCapExceeded",
        "Usage cap exceeded: Monthly product cap",
        f"{PROBLEMS}/usage-capped",
    )


def unauthorized() -> SimResponse:
    return problem(401, "Unauthorized", "Unauthorized")


def client_forbidden() -> SimResponse:
    return problem(
        403,
        "Client Forbidden",
        "When authenticating requests to the Twitter API v2 endpoints, you must use keys and "
        "tokens from a Twitter developer App that is attached to a Project.",
        f"{PROBLEMS}/client-forbidden",
        reason="client-not-enrolled",
        registration_url="https://developer.x.com/en/docs/projects/overview",
    )


def invalid_request(parameter: str, value: str, message: str) -> SimResponse:
    return problem(
        400,
        "Invalid Request",
        "One or more parameters to your request was invalid.",
        f"{PROBLEMS}/invalid-request",
        errors=[{"parameters": {parameter: [value]}, "message": message}],
    )


def not_found() -> SimResponse:
    return problem(
        404,
        "Not Found Error",
        "Could not find the requested resource.",
        f"{PROBLEMS}/resource-not-found",
    )


def user_not_found(user_id: str) -> SimResponse:
    """X's 200-with-errors answer for an unknown user id."""
    error = {
        "value": user_id,
        "detail": f"Could not find user with id: [{user_id}].",
        "title": "Not Found Error",
        "resource_type": "user",
        "parameter": "id",
        "resource_id": user_id,
        "type": f"{PROBLEMS}/resource-not-found",
    }
    return SimResponse.json(200, {"errors": [error]})


def server_error(status: int) -> SimResponse:
    titles = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
    title = titles.get(status, "Internal Server Error")
    return problem(status, title, title)
