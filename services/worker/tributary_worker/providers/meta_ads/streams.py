"""Meta Ads streams: one class per ad-account edge (campaigns, ad sets, ads).

Each stream pages its edge with Graph cursors and keeps a high-water mark on
``updated_time``. The mark advances only when a pass completes, because the edge does
not promise any order; until then the cursor holds the ``after`` of the next page so an
interrupted job resumes where it stopped with the same filter.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from tributary_common.connectors import Record, SyncContext

from ..stream import PagedStream
from .client import PAGE_LIMIT, account_path
from .graph import EdgePage, fetch_edge_page, parse_graph_time


def _updated_epoch(item: Mapping[str, Any]) -> int | None:
    parsed = parse_graph_time(item.get("updated_time"))
    return int(parsed.timestamp()) if parsed is not None else None


@dataclass
class EdgeCursor:
    """A pass over one edge: the mark it filters on, the next ``after``, the pass's newest."""

    campaign_ids: list[str] | None
    updated_since: int | None
    token: str | None = None
    pass_max: int | None = None

    def dump(self) -> dict[str, Any]:
        cursor: dict[str, Any] = {"campaign_ids": self.campaign_ids}
        if self.token:
            return cursor | {
                "updated_since": self.updated_since,
                "after": self.token,
                "pass_max": self.pass_max,
            }
        # The mark advances only when a pass completes: the edge promises no order.
        return cursor | {"updated_since": self.pass_max}


class AdAccountEdgeStream(PagedStream[EdgeCursor]):
    """Pages one ``/act_<id>/<edge>`` edge into records of one kind."""

    page_size = PAGE_LIMIT
    min_page_size = 10
    resource: ClassVar[str]
    kind: ClassVar[str]
    #: Entity prefix of the edge's fields in ``filtering`` (``campaign.updated_time``).
    prefix: ClassVar[str]
    fields: ClassVar[tuple[str, ...]]

    def __init__(self, account_id: str, campaign_ids: Sequence[str] | None) -> None:
        self.path = account_path(account_id, self.resource)
        self.campaign_ids = sorted(campaign_ids) if campaign_ids else None

    def filtering(self, updated_since: int | None) -> list[dict[str, Any]]:
        """Return the ``filtering`` clauses: campaign restriction and high-water mark."""
        clauses: list[dict[str, Any]] = []
        if self.campaign_ids:
            clauses.append({"field": "campaign.id", "operator": "IN", "value": self.campaign_ids})
        if updated_since is not None:
            # GREATER_THAN mark-1 re-reads objects updated in the mark's own second,
            # which a strict bound would lose if they changed after our read.
            clauses.append(
                {
                    "field": f"{self.prefix}.updated_time",
                    "operator": "GREATER_THAN",
                    "value": updated_since - 1,
                }
            )
        return clauses

    def params(self, updated_since: int | None, limit: int = PAGE_LIMIT) -> dict[str, Any]:
        params: dict[str, Any] = {"fields": ",".join(self.fields), "limit": limit}
        clauses = self.filtering(updated_since)
        if clauses:
            params["filtering"] = json.dumps(clauses, separators=(",", ":"))
        return params

    def begin(self, ctx: SyncContext, raw: dict[str, Any] | None) -> EdgeCursor:
        cursor = raw or {}
        if cursor.get("campaign_ids") != self.campaign_ids:
            # A mark earned under another campaign filter says nothing about this one.
            cursor = {}
        since = cursor.get("updated_since")
        return EdgeCursor(
            self.campaign_ids, since, cursor.get("after"), cursor.get("pass_max", since)
        )

    def restart(self, ctx: SyncContext, state: EdgeCursor) -> EdgeCursor:
        return EdgeCursor(self.campaign_ids, state.updated_since, None, state.updated_since)

    def fetch(self, ctx: SyncContext, state: EdgeCursor, page_size: int) -> EdgePage:
        params = self.params(state.updated_since, page_size)
        return fetch_edge_page(ctx.http, self.path, params, state.token)

    def read(self, ctx: SyncContext, state: EdgeCursor, page: EdgePage) -> list[Record]:
        records = [self.record(item) for item in page.items if item.get("id")]
        stamps = [s for s in map(_updated_epoch, page.items) if s is not None]
        if state.pass_max is not None:
            stamps.append(state.pass_max)
        state.pass_max = max(stamps, default=None)
        state.token = page.after
        return records

    def record(self, item: Mapping[str, Any]) -> Record:
        return Record(
            kind=self.kind,
            external_id=str(item["id"]),
            occurred_at=parse_graph_time(item.get("updated_time")),
            data=dict(item),
        )


class CampaignsStream(AdAccountEdgeStream):
    resource = "campaigns"
    kind = "campaign"
    prefix = "campaign"
    fields = (
        "id",
        "name",
        "status",
        "effective_status",
        "objective",
        "created_time",
        "updated_time",
    )


class AdSetsStream(AdAccountEdgeStream):
    resource = "adsets"
    kind = "adset"
    prefix = "adset"
    fields = (
        "id",
        "name",
        "campaign_id",
        "status",
        "effective_status",
        "daily_budget",
        "created_time",
        "updated_time",
    )


class AdsStream(AdAccountEdgeStream):
    resource = "ads"
    kind = "ad"
    prefix = "ad"
    fields = (
        "id",
        "name",
        "campaign_id",
        "adset_id",
        "status",
        "effective_status",
        "created_time",
        "updated_time",
    )


STREAMS: tuple[type[AdAccountEdgeStream], ...] = (CampaignsStream, AdSetsStream, AdsStream)
