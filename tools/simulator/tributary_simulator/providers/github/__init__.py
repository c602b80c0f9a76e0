"""The GitHub REST simulator: ``GET /users/{login}/events`` with paging, ETags and limits."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from typing import ClassVar
from urllib.parse import urlencode

from ...messages import NotFoundRoute, SimRequest, SimResponse
from ...ratelimit import LimitSpec
from ...router import Router
from ..base import Provider, ProviderContext
from . import data, responses

API_VERSIONS = frozenset({"2022-11-28", "2026-03-10"})
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 30
POLL_INTERVAL_SECONDS = 60


class GitHubProvider(Provider):
    name = "github"
    default_limit: ClassVar[LimitSpec | None] = LimitSpec(5000, 3600, "account")

    def __init__(self) -> None:
        self.router: Router[Callable[..., SimResponse]] = Router()
        self.router.add("GET", "/users/{login}/events", self._events)

    def account_of(self, request: SimRequest) -> str | None:
        parts = request.path.strip("/").split("/")
        return parts[1] if len(parts) >= 2 and parts[0] == "users" else None

    def cost_of(self, request: SimRequest, ctx: ProviderContext) -> int:
        # A conditional request answered 304 does not count against the primary limit.
        tag = request.header("if-none-match")
        if tag and request.bearer_token() and request.account:
            page = self._page(request, ctx)
            if page is not None and page[2] == tag:
                return 0
        return 1

    def handle(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        if not request.header("user-agent"):
            return responses.error(
                403,
                "Request forbidden by administrative rules. "
                "Please make sure your request has a User-Agent header.",
            )
        version = request.header("x-github-api-version")
        if version is not None and version not in API_VERSIONS:
            return responses.error(400, f"Invalid API version provided: {version}")
        token = request.bearer_token()
        if token is not None and token.startswith("invalid"):
            return self.render_auth(request, ctx)
        found = self.router.match(request.method, request.path)
        if found is None:
            raise NotFoundRoute(request.path)
        handler, params = found
        return handler(request, ctx, **params)

    def _page(
        self, request: SimRequest, ctx: ProviderContext
    ) -> tuple[list[dict[str, object]], int, str] | None:
        """Return (events of the page, last page number, etag), or None if past the cap."""
        login = request.account or ""
        per_page = min(int(request.arg("per_page") or DEFAULT_PER_PAGE), MAX_PER_PAGE)
        page = max(int(request.arg("page") or 1), 1)
        if (page - 1) * per_page >= data.EVENT_CAP:
            return None
        timeline = data.events(login, ctx.today)
        items = list(timeline[(page - 1) * per_page : page * per_page])
        last = max(math.ceil(len(timeline) / per_page), 1)
        digest = hashlib.sha256(json.dumps(items).encode() + login.encode()).hexdigest()
        return items, last, f'W/"{digest[:40]}"'

    def _events(self, request: SimRequest, ctx: ProviderContext, login: str) -> SimResponse:
        if login.startswith("missing"):
            return self.render_not_found(request, ctx)
        try:
            page = self._page(request, ctx)
        except ValueError:
            return responses.error(422, "Invalid request.", errors=[{"code": "invalid"}])
        if page is None:
            return responses.error(
                422,
                "In order to keep the API fast for everyone, pagination is limited for this "
                "resource.",
            )
        items, last, etag = page
        headers = {"etag": etag, "x-poll-interval": str(POLL_INTERVAL_SECONDS)}
        if request.header("if-none-match") == etag:
            return SimResponse(304, b"", headers)
        number = max(int(request.arg("page") or 1), 1)
        links = []
        if number < last:
            links.append(f'<{self._link(request, number + 1)}>; rel="next"')
            links.append(f'<{self._link(request, last)}>; rel="last"')
        if number > 1:
            links.append(f'<{self._link(request, number - 1)}>; rel="prev"')
            links.append(f'<{self._link(request, 1)}>; rel="first"')
        if links:
            headers["link"] = ", ".join(links)
        return SimResponse.json(200, items, headers)

    def _link(self, request: SimRequest, page: int) -> str:
        per_page = min(int(request.arg("per_page") or DEFAULT_PER_PAGE), MAX_PER_PAGE)
        query = urlencode({"per_page": per_page, "page": page})
        return f"http://{request.header('host')}/{self.name}{request.path}?{query}"

    def common_headers(self, request: SimRequest, ctx: ProviderContext) -> dict[str, str]:
        headers = {"x-github-media-type": "github.v3; format=json"}
        if ctx.limit is None:
            return headers | responses.rate_headers(5000, 5000, ctx.now() + 3600)
        limit = ctx.limit
        return headers | responses.rate_headers(limit.limit, limit.remaining, limit.reset_at)

    def _limit_value(self, ctx: ProviderContext) -> int:
        return ctx.limit.limit if ctx.limit else 5000

    def render_rate_limit(
        self, request: SimRequest, ctx: ProviderContext, retry_after_seconds: float
    ) -> SimResponse:
        variant = self.variant(ctx, "primary")
        return responses.rate_limited(
            variant, request.account, self._limit_value(ctx), ctx.now(), retry_after_seconds
        )

    def render_quota(
        self, request: SimRequest, ctx: ProviderContext, retry_after_seconds: float
    ) -> SimResponse:
        return responses.rate_limited(
            "primary", request.account, self._limit_value(ctx), ctx.now(), retry_after_seconds
        )

    def render_auth(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        return responses.error(401, "Bad credentials")

    def render_forbidden(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        return responses.error(
            403,
            "Resource not accessible by personal access token",
            {"X-Accepted-GitHub-Permissions": "events=read"},
        )

    def render_bad_request(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        if self.variant(ctx, "422") == "400":
            return responses.error(400, "Problems parsing JSON")
        return responses.error(
            422,
            "Validation Failed",
            errors=[{"resource": "Event", "field": "page", "code": "invalid"}],
        )

    def render_not_found(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        return responses.error(404, "Not Found")

    def render_server_error(
        self, request: SimRequest, ctx: ProviderContext, status: int
    ) -> SimResponse:
        messages = {500: "Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
        return responses.error(status, messages.get(status, "Server Error"))


def create_provider() -> Provider:
    return GitHubProvider()
