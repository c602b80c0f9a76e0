"""Simulated Google Ads API: GAQL ``googleAds:search`` and ``googleAds:searchStream`` (§6).

``search`` pages ``page_size`` rows (10,000 as documented; tests may lower it on the
instance) with ``nextPageToken``; ``searchStream`` answers one JSON array of batches.
One query costs one operation whatever its pages, so continuation pages cost 0.
Customers under a manager (`data.manager_of`) need ``login-customer-id``; the
``developer-token`` header is accepted and ignored, as after its 2026 sunset.

Errors are ``google.rpc.Status`` bodies with a ``GoogleAdsFailure`` detail; on
``searchStream`` they come wrapped in an array unless the fault variant is "unwrapped".
Fault variants: ``rate_limit`` "short_term" (default, per customer) / "daily" /
"no_details"; ``auth``, ``forbidden`` and ``bad_request`` take the enum value to send.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from collections.abc import Callable
from typing import Any

from ...data import stable_int
from ...messages import SimRequest, SimResponse
from ...ratelimit import LimitSpec
from ...router import Router
from ..base import Provider, ProviderContext
from . import gaql
from .data import campaigns, manager_of

VERSIONS = frozenset({"v24", "v25", "v26"})
#: Fixed page size of ``search`` in current versions (providers.md §6.2).
SEARCH_PAGE_SIZE = 10_000
STREAM_BATCH_SIZE = 10_000


class AdsError(Exception):
    """Raised by a handler to answer with a Google Ads error body."""

    def __init__(
        self,
        http_status: int,
        status: str,
        message: str,
        error_code: dict[str, str] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.http_status, self.status = http_status, status
        self.error_code, self.details = error_code, details

    def response(self, request: SimRequest, *, wrap: bool | None = None) -> SimResponse:
        error: dict[str, Any] = {
            "code": self.http_status,
            "message": self.args[0],
            "status": self.status,
        }
        if self.error_code is not None:
            failure: dict[str, Any] = {"errorCode": self.error_code, "message": self.args[0]}
            if self.details:
                failure["details"] = self.details
            error["details"] = [
                {
                    "@type": "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure",
                    "errors": [failure],
                    "requestId": request_id(request),
                }
            ]
        stream = request.path.endswith(":searchStream")
        body: Any = [{"error": error}] if (stream if wrap is None else wrap) else {"error": error}
        return SimResponse.json(self.http_status, body)


def request_id(request: SimRequest) -> str:
    return f"{stable_int(request.path, request.body, bits=40):x}"


def _token(offset: int, fingerprint: str) -> str:
    raw = json.dumps({"o": offset, "q": fingerprint}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _offset(token: str, fingerprint: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if data["q"] == fingerprint and isinstance(data["o"], int):
            return int(data["o"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        pass
    raise AdsError(
        400, "INVALID_ARGUMENT", "Page token is invalid.", {"requestError": "INVALID_PAGE_TOKEN"}
    )


SearchHandler = Callable[[SimRequest, str, gaql.Query, dict[str, Any]], SimResponse]


class GoogleAdsProvider(Provider):
    name = "google_ads"
    #: Explorer access: 2,880 operations a day on production accounts, per Cloud project.
    default_limit = LimitSpec(requests=2880, window_seconds=86_400, scope="provider")

    def __init__(self) -> None:
        self.page_size = SEARCH_PAGE_SIZE
        self.router: Router[SearchHandler] = Router()
        self.router.add("POST", "/{version}/customers/{customer}/googleAds:search", self.search)
        self.router.add(
            "POST", "/{version}/customers/{customer}/googleAds:searchStream", self.search_stream
        )

    def account_of(self, request: SimRequest) -> str | None:
        parts = request.path.strip("/").split("/")
        return parts[2] if len(parts) >= 3 and parts[1] == "customers" else None

    def cost_of(self, request: SimRequest, ctx: ProviderContext) -> int:
        try:
            body = request.json()
        except ValueError:
            return 1
        return 0 if isinstance(body, dict) and body.get("pageToken") else 1

    def handle(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        found = self.router.match(request.method, request.path)
        if found is None:
            return self.render_not_found(request, ctx)
        handler, params = found
        try:
            if params["version"] not in VERSIONS:
                raise AdsError(404, "NOT_FOUND", f"Version {params['version']} is not available.")
            self._authorize(request, params["customer"])
            query, body = self._query(request)
            return handler(request, params["customer"], query, body)
        except AdsError as exc:
            return exc.response(request)

    def _authorize(self, request: SimRequest, customer: str) -> None:
        if not request.bearer_token():
            raise AdsError(
                401,
                "UNAUTHENTICATED",
                "Request is missing required authentication.",
                {"authenticationError": "OAUTH_TOKEN_HEADER_INVALID"},
            )
        if not (customer.isdigit() and len(customer) == 10):
            raise AdsError(
                400,
                "INVALID_ARGUMENT",
                f"Invalid customer ID '{customer}'.",
                {"requestError": "INVALID_CUSTOMER_ID"},
            )
        manager = manager_of(customer)
        login = request.header("login-customer-id")
        if (manager is not None and login != manager) or login not in (None, customer, manager):
            message = (
                "User doesn't have permission to access customer. Note: If you're accessing "
                "a client customer, the manager's customer id must be set in the "
                "'login-customer-id' header."
            )
            raise AdsError(
                403, "PERMISSION_DENIED", message, {"authorizationError": "USER_PERMISSION_DENIED"}
            )

    def _query(self, request: SimRequest) -> tuple[gaql.Query, dict[str, Any]]:
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            raise AdsError(
                400,
                "INVALID_ARGUMENT",
                "Request body must hold a query.",
                {"requestError": "INVALID_INPUT"},
            )
        try:
            return gaql.parse(body["query"]), body
        except gaql.QueryError as exc:
            raise AdsError(400, "INVALID_ARGUMENT", str(exc), {"queryError": exc.code}) from None

    def search(
        self, request: SimRequest, customer: str, query: gaql.Query, body: dict[str, Any]
    ) -> SimResponse:
        if body.get("pageSize"):
            raise AdsError(
                400,
                "INVALID_ARGUMENT",
                "Setting the page size is not supported.",
                {"requestError": "PAGE_SIZE_NOT_SUPPORTED"},
            )
        rows = gaql.run(query, campaigns(customer))
        fingerprint = hashlib.sha256(f"{customer}|{body['query']}".encode()).hexdigest()[:16]
        offset = _offset(body["pageToken"], fingerprint) if body.get("pageToken") else 0
        window = rows[offset : offset + self.page_size]
        page: dict[str, Any] = {}
        if window:
            page["results"] = [gaql.to_json(query, row) for row in window]
        if offset + len(window) < len(rows):
            page["nextPageToken"] = _token(offset + len(window), fingerprint)
        page |= {"fieldMask": ",".join(query.fields), "requestId": request_id(request)}
        return SimResponse.json(200, page, {"request-id": request_id(request)})

    def search_stream(
        self, request: SimRequest, customer: str, query: gaql.Query, body: dict[str, Any]
    ) -> SimResponse:
        rows = gaql.run(query, campaigns(customer))
        batches = [
            {
                "results": [gaql.to_json(query, row) for row in rows[i : i + STREAM_BATCH_SIZE]],
                "fieldMask": ",".join(query.fields),
                "requestId": request_id(request),
            }
            for i in range(0, len(rows), STREAM_BATCH_SIZE)
        ]
        return SimResponse.json(200, batches, {"request-id": request_id(request)})

    def _wrap(self, ctx: ProviderContext) -> bool | None:
        return False if self.variant(ctx, "") == "unwrapped" else None

    def render_rate_limit(
        self, request: SimRequest, ctx: ProviderContext, retry_after_seconds: float
    ) -> SimResponse:
        # A refusal by the strict limit is the daily operations quota running out.
        variant = self.variant(ctx, "short_term" if ctx.fault else "daily")
        if variant == "daily":
            return self.render_quota(request, ctx, retry_after_seconds)
        if variant == "no_details":
            return AdsError(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted.").response(
                request
            )
        return self._quota_error(
            request,
            ctx,
            "RESOURCE_TEMPORARILY_EXHAUSTED",
            "ACCOUNT",
            "Requests per customer per minute",
            retry_after_seconds,
        )

    def render_quota(
        self, request: SimRequest, ctx: ProviderContext, retry_after_seconds: float
    ) -> SimResponse:
        return self._quota_error(
            request,
            ctx,
            "RESOURCE_EXHAUSTED",
            "DEVELOPER",
            "Number of operations for explorer access",
            retry_after_seconds,
        )

    def _quota_error(
        self,
        request: SimRequest,
        ctx: ProviderContext,
        value: str,
        scope: str,
        rate_name: str,
        wait_seconds: float,
    ) -> SimResponse:
        seconds = max(math.ceil(wait_seconds), 1)
        details = {
            "quotaErrorDetails": {
                "rateScope": scope,
                "rateName": rate_name,
                "retryDelay": f"{seconds}s",
            }
        }
        error = AdsError(
            429,
            "RESOURCE_EXHAUSTED",
            f"Too many requests. Retry in {seconds} seconds.",
            {"quotaError": value},
            details,
        )
        return error.response(request, wrap=self._wrap(ctx))

    def _enum(self, ctx: ProviderContext, default: str) -> str:
        variant = self.variant(ctx, default)
        return variant if variant.isupper() else default

    def render_auth(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        value = self._enum(ctx, "OAUTH_TOKEN_EXPIRED")
        error = AdsError(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials.",
            {"authenticationError": value},
        )
        return error.response(request, wrap=self._wrap(ctx))

    def render_forbidden(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        value = self._enum(ctx, "USER_PERMISSION_DENIED")
        error = AdsError(
            403,
            "PERMISSION_DENIED",
            "The caller does not have permission",
            {"authorizationError": value},
        )
        return error.response(request, wrap=self._wrap(ctx))

    def render_bad_request(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        value = self._enum(ctx, "UNRECOGNIZED_FIELD")
        error = AdsError(
            400, "INVALID_ARGUMENT", "Request contains an invalid argument.", {"queryError": value}
        )
        return error.response(request, wrap=self._wrap(ctx))

    def render_not_found(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        error = AdsError(404, "NOT_FOUND", "Requested entity was not found.")
        return error.response(request, wrap=False)

    def render_server_error(
        self, request: SimRequest, ctx: ProviderContext, status: int
    ) -> SimResponse:
        if status == 502:
            page = b"<html><body><h1>Error 502 (Server Error)</h1></body></html>"
            return SimResponse(502, page, {"Content-Type": "text/html; charset=UTF-8"})
        if status == 503:
            error = AdsError(503, "UNAVAILABLE", "The service is currently unavailable.")
        else:
            error = AdsError(
                status,
                "INTERNAL",
                "Internal error encountered.",
                {"internalError": "INTERNAL_ERROR"},
            )
        return error.response(request, wrap=self._wrap(ctx))


def create_provider() -> GoogleAdsProvider:
    return GoogleAdsProvider()
