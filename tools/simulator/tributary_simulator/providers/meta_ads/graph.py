"""Graph API behaviour shared by the simulated Instagram and Meta Ads (providers.md §4, §5).

Cursor paging with ``paging.next`` links back at the simulator, ``fields`` projection,
privacy-filtered short pages, the usage headers and the Graph error object.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlencode

from ...data import stable_int
from ...messages import SimRequest, SimResponse
from ...router import Router
from ..base import Provider, ProviderContext

GRAPH_VERSIONS = frozenset({"v23.0", "v24.0", "v25.0"})

#: Usage headers appear only once an app has made this many calls (restfb #548).
APP_USAGE_AFTER_CALLS = 3


class GraphError(Exception):
    """Raised by a handler to answer with a Graph error object."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        subcode: int | None = None,
        kind: str = "OAuthException",
        transient: bool | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.subcode = subcode
        self.kind = kind
        self.transient = transient
        self.headers = dict(headers or {})

    def response(self, request: SimRequest) -> SimResponse:
        error: dict[str, Any] = {"message": self.args[0], "type": self.kind, "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.transient is not None:
            error["is_transient"] = self.transient
        error["fbtrace_id"] = f"A{stable_int(request.path, request.query, bits=40):x}"
        return SimResponse.json(self.status, {"error": error}, self.headers)


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"cursor:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """Return the offset in a cursor; raise `GraphError` (code 100) when it is not ours."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, offset = text.partition(":")
        if prefix != "cursor" or not offset.isdigit():
            raise ValueError(text)
        return int(offset)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise GraphError(400, 100, "(#100) Invalid cursor", kind="GraphMethodException") from None


def requested_fields(
    request: SimRequest, known: Sequence[str], default: Sequence[str], node: str
) -> list[str]:
    """Return the ``fields`` asked for; an unknown field is Graph's code 100."""
    raw = request.arg("fields")
    fields = [f.strip() for f in raw.split(",") if f.strip()] if raw else list(default)
    for name in fields:
        if name not in known:
            raise GraphError(
                400, 100, f"(#100) Tried accessing nonexisting field ({name}) on node type ({node})"
            )
    return fields if "id" in fields else ["id", *fields]


def page_limit(request: SimRequest, default: int, maximum: int) -> int:
    raw = request.arg("limit")
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise GraphError(400, 100, "(#100) Param limit must be a positive integer")
    return min(int(raw), maximum)


def edge_page(
    request: SimRequest,
    items: Sequence[Mapping[str, Any]],
    fields: Sequence[str],
    *,
    limit: int,
    hidden: Callable[[Mapping[str, Any]], bool] = lambda _item: False,
) -> dict[str, Any]:
    """Return one Graph page of ``items`` from the request's ``after`` cursor.

    Hidden items are dropped *after* the window is cut, as Meta's privacy filtering
    does, so a page can be short (or empty) and still carry ``next``.
    """
    after = request.arg("after")
    offset = decode_cursor(after) if after else 0
    window = items[offset : offset + limit]
    end = offset + len(window)
    data = [{f: item[f] for f in fields if f in item} for item in window if not hidden(item)]
    body: dict[str, Any] = {"data": data}
    if not window:
        return body
    paging: dict[str, Any] = {
        "cursors": {"before": encode_cursor(offset), "after": encode_cursor(end)}
    }
    if end < len(items):
        paging["next"] = _link(request, "after", encode_cursor(end))
    if offset > 0:
        paging["previous"] = _link(request, "before", encode_cursor(offset))
    body["paging"] = paging
    return body


def _link(request: SimRequest, name: str, cursor: str) -> str:
    host = request.header("host", "127.0.0.1")
    query = [(k, v) for k, vs in request.query.items() if k not in {"after", "before"} for v in vs]
    query.append((name, cursor))
    return f"http://{host}/{request.provider}{request.path}?{urlencode(query)}"


def require_token(request: SimRequest) -> None:
    """Accept ``access_token`` (documented) or a Bearer header; none is code 104."""
    if request.arg("access_token") or request.bearer_token():
        return
    raise GraphError(400, 104, "An access token is required to request this resource.")


def usage_percent(ctx: ProviderContext) -> int:
    if ctx.limit is None or ctx.limit.limit <= 0:
        return 0
    return min(100, math.ceil(ctx.limit.used * 100 / ctx.limit.limit))


def count_call(ctx: ProviderContext) -> int:
    """Count this request in the provider's state; return the running total."""
    with ctx.lock:
        calls = int(ctx.state.get("calls", 0)) + 1
        ctx.state["calls"] = calls
        return calls


def usage_headers(
    ctx: ProviderContext,
    business_id: str | None,
    buc_type: str,
    *,
    calls: int,
    regain_minutes: int = 0,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """Return ``X-Business-Use-Case-Usage`` (and ``X-App-Usage`` once calls add up)."""
    pct = 100 if regain_minutes else usage_percent(ctx)
    headers: dict[str, str] = {}
    if business_id is not None:
        entry = {
            "type": buc_type,
            "call_count": pct,
            "total_cputime": pct // 4,
            "total_time": pct // 4,
            "estimated_time_to_regain_access": regain_minutes,
            **(extra or {}),
        }
        headers["X-Business-Use-Case-Usage"] = json.dumps({business_id: [entry]})
    if calls >= APP_USAGE_AFTER_CALLS:
        app = {"call_count": pct, "total_cputime": pct // 4, "total_time": pct // 4}
        headers["X-App-Usage"] = json.dumps(app)
    return headers


def minutes_for(seconds: float) -> int:
    """Round a wait up to whole minutes, as ``estimated_time_to_regain_access`` is."""
    return max(math.ceil(seconds / 60.0), 1)


def graph_time(epoch: float) -> str:
    """Format an instant the way Graph does: ``2026-11-21T18:04:12+0000``."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


GraphHandler = Callable[[SimRequest, ProviderContext, dict[str, str]], SimResponse]


class GraphProvider(Provider):
    """A Graph API host: routing, usage headers and Graph-shaped fault bodies.

    Fault variants: ``rate_limit`` "buc" (default: BUC code with a regain time),
    "app" (code 4), "user" (code 17); ``auth`` "expired" (190/463) or "invalid"
    (190/467); ``forbidden`` "10" (default, HTTP 403) or "200" (HTTP 400).
    """

    #: BUC ``type`` and the throttle code of this host's use case.
    buc_type: ClassVar[str]
    buc_code: ClassVar[int]

    def __init__(self) -> None:
        self.router: Router[GraphHandler] = Router()
        self.routes()

    @abstractmethod
    def routes(self) -> None:
        """Register this host's endpoints on ``self.router``."""

    def business_id(self, request: SimRequest) -> str | None:
        """Return the key of ``X-Business-Use-Case-Usage`` (the account)."""
        return request.account

    def handle(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        found = self.router.match(request.method, request.path)
        if found is None:
            return self.render_not_found(request, ctx)
        handler, params = found
        try:
            if params.get("version") not in GRAPH_VERSIONS:
                raise GraphError(400, 2635, f"(#2635) Unsupported version {params.get('version')}")
            require_token(request)
            return handler(request, ctx, params)
        except GraphError as exc:
            return exc.response(request)

    def common_headers(self, request: SimRequest, ctx: ProviderContext) -> dict[str, str]:
        business = self.business_id(request)
        return usage_headers(ctx, business, self.buc_type, calls=count_call(ctx))

    def render_rate_limit(
        self, request: SimRequest, ctx: ProviderContext, retry_after_seconds: float
    ) -> SimResponse:
        variant = self.variant(ctx, "buc")
        if variant == "app":
            return self.render_quota(request, ctx, retry_after_seconds)
        if variant == "user":
            error = GraphError(400, 17, "(#17) User request limit reached", transient=True)
            return error.response(request)
        headers = usage_headers(
            ctx,
            self.business_id(request) or "0",
            self.buc_type,
            calls=count_call(ctx),
            regain_minutes=minutes_for(retry_after_seconds),
        )
        message = f"(#{self.buc_code}) There have been too many calls. Wait a bit and try again."
        error = GraphError(
            400, self.buc_code, message, subcode=2446079, transient=True, headers=headers
        )
        return error.response(request)

    def render_quota(
        self, request: SimRequest, ctx: ProviderContext, retry_after_seconds: float
    ) -> SimResponse:
        full = {"call_count": 100, "total_cputime": 100, "total_time": 100}
        headers = {"X-App-Usage": json.dumps(full)}
        error = GraphError(
            400, 4, "(#4) Application request limit reached", transient=True, headers=headers
        )
        return error.response(request)

    def render_too_much_data(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        message = "Please reduce the amount of data you're asking for, then retry your request"
        return GraphError(500, 1, message, kind="OAuthException", transient=True).response(request)

    def render_auth(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        if self.variant(ctx, "expired") == "invalid":
            return GraphError(400, 190, "Invalid OAuth access token.", subcode=467).response(
                request
            )
        message = "Error validating access token: Session has expired."
        return GraphError(400, 190, message, subcode=463).response(request)

    def render_forbidden(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        if self.variant(ctx, "10") == "200":
            return GraphError(400, 200, "(#200) Requires ads_read permission").response(request)
        message = "(#10) Application does not have permission for this action"
        return GraphError(403, 10, message).response(request)

    def render_bad_request(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        return GraphError(400, 100, "(#100) Invalid parameter").response(request)

    def render_not_found(self, request: SimRequest, ctx: ProviderContext) -> SimResponse:
        message = f"Unsupported get request. Object with ID '{request.path}' does not exist."
        error = GraphError(400, 100, message, subcode=33, kind="GraphMethodException")
        return error.response(request)

    def render_server_error(
        self, request: SimRequest, ctx: ProviderContext, status: int
    ) -> SimResponse:
        if status == 502:
            page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            return SimResponse(502, page, {"Content-Type": "text/html"})
        if status == 503:
            message = "(#2) Service temporarily unavailable"
            return GraphError(503, 2, message, transient=True).response(request)
        message = "An unknown error occurred"
        return GraphError(status, 1, message, subcode=99, transient=True).response(request)
