"""The X API v2 simulator: ``GET /2/users/{id}/tweets`` with time window and token paging.

Default limit: 900 requests per 15 minutes per user (user-context table, §3.4).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

from ...data import parse_iso
from ...messages import NotFoundRoute, SimRequest, SimResponse
from ...ratelimit import LimitSpec
from ...router import Router
from ..base import Provider, ProviderContext
from . import data, responses

MIN_RESULTS, MAX_RESULTS, DEFAULT_RESULTS = 5, 100, 10
DEFAULT_FIELDS = ("id", "text", "edit_history_tweet_ids")


class InvalidParameter(Exception):
    """Raised when a query parameter is out of range or unparseable."""

    def __init__(self, name: str, value: str, message: str) -> None:
        super().__init__(message)
        self.name, self.value, self.message = name, value, message


class XProvider(Provider):
    name = "x"
    default_limit: ClassVar[LimitSpec | None] = LimitSpec(900, 900, "account")

    def __init__(self) -> None:
        self.router: Router[Callable[..., SimResponse]] = Router()
        self.router.add("GET", "/2/users/{user_id}/tweets", self._tweets)

    def account_of(self, request: SimRequest) -> str | None:
        parts = request.path.strip("/").split("/")
        return parts[2] if len(parts) >= 3 and parts[:2] == ["2", "users"] else None

    def handle(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        token = request.bearer_token()
        if token is None or token.startswith("invalid"):
            return responses.unauthorized()
        found = self.router.match(request.method, request.path)
        if found is None:
            raise NotFoundRoute(request.path)
        handler, params = found
        try:
            return handler(request, ctx, **params)
        except InvalidParameter as exc:
            return responses.invalid_request(exc.name, exc.value, exc.message)

    def _tweets(self, request: SimRequest, ctx: ProviderContext, user_id: str) -> SimResponse:
        if not data.exists(user_id):
            return responses.user_not_found(user_id)
        size = _int_arg(request, "max_results", DEFAULT_RESULTS)
        if not MIN_RESULTS <= size <= MAX_RESULTS:
            raise InvalidParameter(
                "max_results",
                str(size),
                f"The `max_results` query parameter value [{size}] is not between 5 and 100",
            )
        start, end = _time_arg(request, "start_time"), _time_arg(request, "end_time")
        since, until = _int_arg(request, "since_id", 0), _int_arg(request, "until_id", 0)
        matching = [
            post
            for post in data.posts(user_id, ctx.today)
            if (start is None or parse_iso(post["created_at"]) >= start)
            and (end is None or parse_iso(post["created_at"]) <= end)
            and int(post["id"]) > since
            and (not until or int(post["id"]) < until)
        ]
        offset = _offset(request.arg("pagination_token"))
        page = matching[offset : offset + size]
        fields = set(DEFAULT_FIELDS) | set((request.arg("tweet.fields") or "").split(","))
        meta: dict[str, Any] = {"result_count": len(page)}
        body: dict[str, Any] = {"meta": meta}
        if page:
            body["data"] = [{k: v for k, v in post.items() if k in fields} for post in page]
            meta["newest_id"], meta["oldest_id"] = page[0]["id"], page[-1]["id"]
        if offset + size < len(matching):
            meta["next_token"] = _token(offset + size)
        if offset > 0:
            meta["previous_token"] = _token(max(offset - size, 0))
        return SimResponse.json(200, body)

    def common_headers(self, request: SimRequest, ctx: ProviderContext) -> dict[str, str]:
        if ctx.limit is None:
            return responses.rate_headers(900, 900, ctx.now() + 900)
        return responses.rate_headers(ctx.limit.limit, ctx.limit.remaining, ctx.limit.reset_at)

    def render_rate_limit(
        self, request: SimRequest, ctx: ProviderContext, retry_after_seconds: float
    ) -> SimResponse:
        limit = ctx.limit.limit if ctx.limit else 900
        response = (
            responses.usage_capped()
            if self.variant(ctx, "too_many_requests") == "usage_capped"
            else responses.too_many_requests()
        )
        response.headers |= responses.rate_headers(limit, 0, ctx.now() + retry_after_seconds)
        return response

    def render_quota(
        self, request: SimRequest, ctx: ProviderContext, retry_after_seconds: float
    ) -> SimResponse:
        return responses.usage_capped()

    def render_auth(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        return responses.unauthorized()

    def render_forbidden(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        return responses.client_forbidden()

    def render_bad_request(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        return responses.invalid_request(
            "start_time", "2026-13-01", "Invalid 'start_time':'2026-13-01'."
        )

    def render_not_found(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        if self.variant(ctx, "404") == "inline" and request.account:
            return responses.user_not_found(request.account)
        return responses.not_found()

    def render_server_error(
        self, request: SimRequest, ctx: ProviderContext, status: int
    ) -> SimResponse:
        return responses.server_error(status)


def _token(offset: int) -> str:
    return base64.b32encode(f"x{offset}".encode()).decode().rstrip("=").lower()


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        text = base64.b32decode(token.upper() + "=" * (-len(token) % 8)).decode()
        if not text.startswith("x"):
            raise ValueError(token)
        return int(text[1:])
    except ValueError:
        raise InvalidParameter(
            "pagination_token",
            token,
            f"The `pagination_token` query parameter value [{token}] is not valid",
        ) from None


def _int_arg(request: SimRequest, name: str, default: int) -> int:
    text = request.arg(name)
    if text is None:
        return default
    if not text.isdigit():
        raise InvalidParameter(
            name, text, f"The `{name}` query parameter value [{text}] is not valid"
        )
    return int(text)


def _time_arg(request: SimRequest, name: str) -> datetime | None:
    text = request.arg(name)
    if text is None:
        return None
    try:
        return parse_iso(text)
    except ValueError:
        raise InvalidParameter(name, text, f"Invalid '{name}':'{text}'.") from None


def create_provider() -> Provider:
    return XProvider()
