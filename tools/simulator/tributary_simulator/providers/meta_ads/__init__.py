"""Simulated Meta Marketing API: ``/{version}/act_{id}/{campaigns,adsets,ads}`` (§5).

Supports ``fields``, ``limit``, cursors, ``effective_status``, ``filtering`` (JSON list
of ``{field, operator, value}`` on ``campaign.*``/``adset.*``/``ad.*`` ids, names,
statuses and ``updated_time``) and ``updated_since`` on ads. Besides the Graph fault
variants, ``rate_limit`` variant "ad_account" answers code 613/1487742 with the wait in
``X-Ad-Account-Usage.reset_time_duration`` only.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ...messages import SimRequest, SimResponse
from ...ratelimit import LimitSpec
from ..base import ProviderContext
from .data import EDGES, PREFIX, listing
from .graph import GraphError, GraphProvider, edge_page, page_limit, requested_fields

_COMMON_FIELDS = ("id", "name", "status", "effective_status", "created_time", "updated_time")
FIELDS = {
    "campaigns": (*_COMMON_FIELDS, "objective"),
    "adsets": (*_COMMON_FIELDS, "campaign_id", "daily_budget"),
    "ads": (*_COMMON_FIELDS, "campaign_id", "adset_id"),
}
#: Which entities an edge can be filtered on.
_FILTER_ENTITIES = {
    "campaigns": ("campaign",),
    "adsets": ("campaign", "adset"),
    "ads": ("campaign", "adset", "ad"),
}
_FILTER_ATTRIBUTES = ("id", "name", "effective_status", "updated_time")
OPERATORS = frozenset(
    {
        "EQUAL",
        "NOT_EQUAL",
        "GREATER_THAN",
        "GREATER_THAN_OR_EQUAL",
        "LESS_THAN",
        "LESS_THAN_OR_EQUAL",
        "IN",
        "NOT_IN",
    }
)
ACCESS_TIER = "development_access"
#: Meta caps ``limit`` on some edges without saying where [U]; a cap below what the
#: connector asks for keeps clients honest about following cursors.
MAX_LIMIT = 25


def parse_filtering(raw: str | None, edge: str) -> list[dict[str, Any]]:
    """Validate a ``filtering`` parameter; anything malformed is Graph's code 100."""
    if not raw:
        return []
    try:
        clauses = json.loads(raw)
    except json.JSONDecodeError:
        raise GraphError(400, 100, "(#100) param filtering must be a JSON array") from None
    allowed = {f"{e}.{a}" for e in _FILTER_ENTITIES[edge] for a in _FILTER_ATTRIBUTES}
    if not isinstance(clauses, list):
        raise GraphError(400, 100, "(#100) param filtering must be an array")
    for clause in clauses:
        if not isinstance(clause, dict) or clause.get("field") not in allowed:
            field = clause.get("field") if isinstance(clause, dict) else clause
            raise GraphError(400, 100, f"(#100) Filtering field {field} is invalid")
        if clause.get("operator") not in OPERATORS:
            raise GraphError(400, 100, f"(#100) Invalid operator {clause.get('operator')}")
        if clause["operator"] in {"IN", "NOT_IN"} and not isinstance(clause.get("value"), list):
            raise GraphError(400, 100, "(#100) IN and NOT_IN take an array value")
    return clauses


class MetaAdsProvider(GraphProvider):
    name = "meta_ads"
    buc_type = "ads_management"
    buc_code = 80004
    #: ads_management, development tier: 300 calls per hour per ad account (plus 40/ad).
    default_limit = LimitSpec(requests=300, window_seconds=3600, scope="account")

    def routes(self) -> None:
        for edge in EDGES:
            self.router.add("GET", f"/{{version}}/{{account}}/{edge}", self._edge(edge))

    def account_of(self, request: SimRequest) -> str | None:
        parts = request.path.strip("/").split("/")
        return parts[1] if len(parts) >= 2 else None

    def business_id(self, request: SimRequest) -> str | None:
        return request.account.removeprefix("act_") if request.account else None

    def common_headers(self, request: SimRequest, ctx: ProviderContext) -> dict[str, str]:
        headers = super().common_headers(request, ctx)
        usage = json.loads(headers.get("X-Business-Use-Case-Usage", "{}"))
        for entries in usage.values():
            for entry in entries:
                entry["ads_api_access_tier"] = ACCESS_TIER
        if usage:
            headers["X-Business-Use-Case-Usage"] = json.dumps(usage)
        reset = max(math.ceil(ctx.limit.reset_at - ctx.now()), 0) if ctx.limit else 0
        pct = 0.0 if ctx.limit is None else round(ctx.limit.used * 100 / ctx.limit.limit, 2)
        headers["X-Ad-Account-Usage"] = json.dumps(
            {
                "acc_id_util_pct": pct,
                "reset_time_duration": reset,
                "ads_api_access_tier": ACCESS_TIER,
            }
        )
        return headers

    def render_rate_limit(
        self, request: SimRequest, ctx: ProviderContext, retry_after_seconds: float
    ) -> SimResponse:
        if self.variant(ctx, "buc") != "ad_account":
            return super().render_rate_limit(request, ctx, retry_after_seconds)
        usage = {
            "acc_id_util_pct": 100,
            "reset_time_duration": max(math.ceil(retry_after_seconds), 1),
            "ads_api_access_tier": ACCESS_TIER,
        }
        message = (
            "There have been too many calls from this ad-account. Please wait a bit and try again."
        )
        error = GraphError(
            400,
            613,
            message,
            subcode=1487742,
            transient=True,
            headers={"X-Ad-Account-Usage": json.dumps(usage)},
        )
        return error.response(request)

    def _edge(self, edge: str) -> Any:
        def handler(
            request: SimRequest, ctx: ProviderContext, params: dict[str, str]
        ) -> SimResponse:
            account = params["account"]
            digits = account.removeprefix("act_")
            if not account.startswith("act_") or not digits.isdigit():
                message = f"Unsupported get request. Object with ID '{account}' does not exist."
                raise GraphError(400, 100, message, subcode=33, kind="GraphMethodException")
            fields = requested_fields(request, FIELDS[edge], ("id",), edge.rstrip("s").title())
            limit = page_limit(request, default=25, maximum=MAX_LIMIT)
            clauses = parse_filtering(request.arg("filtering"), edge)
            since = request.arg("updated_since")
            if since is not None and edge == "ads":
                if not since.isdigit():
                    raise GraphError(400, 100, "(#100) updated_since must be an integer")
                clauses.append(
                    {"field": "ad.updated_time", "operator": "GREATER_THAN", "value": int(since)}
                )
            statuses = _statuses(request.arg("effective_status"))
            items = listing(digits, edge, ctx.today, clauses, statuses)
            return SimResponse.json(200, edge_page(request, items, fields, limit=limit))

        handler.__name__ = f"list_{PREFIX[edge]}s"
        return handler


def _statuses(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = [s.strip() for s in raw.split(",")]
    if not isinstance(value, list):
        raise GraphError(400, 100, "(#100) effective_status must be an array")
    return [str(v) for v in value]


def create_provider() -> MetaAdsProvider:
    return MetaAdsProvider()
