"""Meta Ads streams: one class per ad-account edge (campaigns, ad sets, ads).

Each stream pages its edge with Graph cursors and keeps a high-water mark on
``updated_time``. The mark advances only when a pass completes, because the edge does
not promise any order; until then the cursor holds the ``after`` of the next page so an
interrupted job resumes where it stopped with the same filter.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from tributary_common.connectors import Record, SyncContext

from .client import PAGE_LIMIT, account_path
from .graph import fetch_or_restart, parse_graph_time


def _updated_epoch(item: Mapping[str, Any]) -> int | None:
    parsed = parse_graph_time(item.get("updated_time"))
    return int(parsed.timestamp()) if parsed is not None else None


class AdAccountEdgeStream:
    """Pages one ``/act_<id>/<edge>`` edge into records of one kind."""

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

    def params(self, updated_since: int | None) -> dict[str, Any]:
        params: dict[str, Any] = {"fields": ",".join(self.fields), "limit": PAGE_LIMIT}
        clauses = self.filtering(updated_since)
        if clauses:
            params["filtering"] = json.dumps(clauses, separators=(",", ":"))
        return params

    def sync(self, ctx: SyncContext) -> int:
        """Fetch every page changed since the mark; return how many records were new."""
        cursor = ctx.load_cursor(self.resource) or {}
        if cursor.get("campaign_ids") != self.campaign_ids:
            # A mark earned under another campaign filter says nothing about this one.
            cursor = {}
        updated_since: int | None = cursor.get("updated_since")
        after: str | None = cursor.get("after")
        pass_max: int | None = cursor.get("pass_max", updated_since)
        params = self.params(updated_since)
        new, resuming = 0, after is not None
        while True:
            page = fetch_or_restart(ctx.http, self.path, params, after, resuming)
            if page is None:
                after, pass_max, resuming = None, updated_since, False
                continue
            resuming = False
            records = [self.record(item) for item in page.items if item.get("id")]
            stamps = [s for s in map(_updated_epoch, page.items) if s is not None]
            if pass_max is not None:
                stamps.append(pass_max)
            pass_max = max(stamps, default=None)
            next_cursor: dict[str, Any] = {"campaign_ids": self.campaign_ids}
            if page.after:
                next_cursor |= {"updated_since": updated_since, "after": page.after}
                next_cursor["pass_max"] = pass_max
            else:
                next_cursor["updated_since"] = pass_max
            new += ctx.save_page(self.resource, records, next_cursor)
            if not page.after:
                return new
            after = page.after
            ctx.check_stop()

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
