"""The Google Ads classification table and header building, response by response."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from tributary_common.categories import ErrorCategory
from tributary_common.connectors import ConnectionInfo
from tributary_worker.providers.google_ads.client import (
    auth_headers,
    map_error,
    read_feedback,
)
from tributary_worker.providers.waits import parse_duration_seconds

NOW = 1_800_000_000.0


def clock() -> float:
    return NOW


def ads(
    http: int, status: str, *codes: dict[str, str], details: dict[str, Any] | None = None
) -> dict[str, Any]:
    errors = [
        {"errorCode": code, "message": "m", **({"details": details} if details else {})}
        for code in codes
    ]
    failure = {
        "@type": "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure",
        "errors": errors,
        "requestId": "r",
    }
    return {"error": {"code": http, "message": "m", "status": status, "details": [failure]}}


@pytest.mark.parametrize(
    ("status", "body", "category"),
    [
        (
            429,
            ads(429, "RESOURCE_EXHAUSTED", {"quotaError": "RESOURCE_EXHAUSTED"}),
            ErrorCategory.RATE_LIMIT,
        ),
        (
            403,
            ads(403, "PERMISSION_DENIED", {"quotaError": "ACCESS_PROHIBITED"}),
            ErrorCategory.API_ERROR,
        ),
        (
            401,
            ads(401, "UNAUTHENTICATED", {"authenticationError": "OAUTH_TOKEN_EXPIRED"}),
            ErrorCategory.API_ERROR,
        ),
        (
            403,
            ads(403, "PERMISSION_DENIED", {"authorizationError": "MISSING_TOS"}),
            ErrorCategory.API_ERROR,
        ),
        (
            400,
            ads(400, "INVALID_ARGUMENT", {"queryError": "UNRECOGNIZED_FIELD"}),
            ErrorCategory.VALIDATION_ERROR,
        ),
        (
            400,
            {"error": {"code": 400, "status": "FAILED_PRECONDITION"}},
            ErrorCategory.VALIDATION_ERROR,
        ),
        (404, {"error": {"code": 404, "status": "NOT_FOUND"}}, ErrorCategory.VALIDATION_ERROR),
        (501, {"error": {"code": 501, "status": "UNIMPLEMENTED"}}, ErrorCategory.VALIDATION_ERROR),
        (409, {"error": {"code": 409, "status": "ABORTED"}}, ErrorCategory.UNKNOWN),
        (500, ads(500, "INTERNAL", {"internalError": "INTERNAL_ERROR"}), ErrorCategory.UNKNOWN),
        (503, {"error": {"code": 503, "status": "UNAVAILABLE"}}, ErrorCategory.NETWORK_ERROR),
        (504, {"error": {"code": 504, "status": "DEADLINE_EXCEEDED"}}, ErrorCategory.NETWORK_ERROR),
        (502, None, ErrorCategory.NETWORK_ERROR),
        (500, None, ErrorCategory.UNKNOWN),
        (429, None, ErrorCategory.RATE_LIMIT),
        (401, None, ErrorCategory.API_ERROR),
        (418, None, ErrorCategory.UNKNOWN),
    ],
)
def test_classification(status: int, body: Any, category: ErrorCategory) -> None:
    response = httpx.Response(status, json=body) if body is not None else httpx.Response(status)
    error = map_error(response, clock=clock)
    assert error is not None and error.category is category


def test_stream_errors_wrapped_in_an_array_are_read() -> None:
    body = [ads(401, "UNAUTHENTICATED", {"authenticationError": "NOT_ADS_USER"})]
    error = map_error(httpx.Response(401, json=body), clock=clock)
    assert error is not None and error.category is ErrorCategory.API_ERROR
    assert "NOT_ADS_USER" in error.message


def test_the_least_retryable_error_decides() -> None:
    body = ads(
        400,
        "INVALID_ARGUMENT",
        {"quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED"},
        {"authorizationError": "USER_PERMISSION_DENIED"},
    )
    error = map_error(httpx.Response(400, json=body), clock=clock)
    assert error is not None and error.category is ErrorCategory.API_ERROR


@pytest.mark.parametrize(("scope", "expected"), [("DEVELOPER", "provider"), ("ACCOUNT", "account")])
def test_retry_delay_and_rate_scope(scope: str, expected: str) -> None:
    details = {"quotaErrorDetails": {"rateScope": scope, "retryDelay": "8962s"}}
    body = ads(429, "RESOURCE_EXHAUSTED", {"quotaError": "RESOURCE_EXHAUSTED"}, details=details)
    error = map_error(httpx.Response(429, json=body), clock=clock)
    assert error is not None and error.retry_at is not None
    assert (error.retry_at.timestamp(), error.scope) == (NOW + 8962, expected)


def test_retry_after_header_on_a_bare_429() -> None:
    response = httpx.Response(429, headers={"Retry-After": "12"})
    error = map_error(response, clock=clock)
    assert error is not None and error.retry_at is not None
    assert error.retry_at.timestamp() == NOW + 12
    cooldown = read_feedback(response, clock=clock)
    assert cooldown is not None and cooldown.until == NOW + 12


@pytest.mark.parametrize(
    ("text", "seconds"), [("60s", 60.0), ("1.5s", 1.5), ("3m", None), (7, None)]
)
def test_duration_parsing(text: Any, seconds: float | None) -> None:
    assert parse_duration_seconds(text) == seconds


def test_headers_drop_hyphens_and_skip_what_is_unknown() -> None:
    with_manager = ConnectionInfo(
        uuid.uuid4(), "u", "google_ads", "123-456-7890", "tok", {"loginCustomerId": "999-000-1111"}
    )
    assert auth_headers(with_manager, "dev") == {
        "Authorization": "Bearer tok",
        "developer-token": "dev",
        "login-customer-id": "9990001111",
    }
    direct = ConnectionInfo(uuid.uuid4(), "u", "google_ads", "1234567890", "tok")
    assert auth_headers(direct) == {"Authorization": "Bearer tok"}
