"""Google Ads stream: a customer's campaigns through GAQL ``googleAds:search``.

``search`` (not ``searchStream``) because its page tokens give a place to resume: the
cursor holds the next page's token and the query it belongs to, so an interrupted job
continues with the same query (a dead saved token restarts it: `..stream`). Campaigns carry no change timestamp GAQL can filter on,
so each completed pass is a full snapshot; Google counts one operation per query
whatever the number of pages, so a re-read costs one operation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tributary_common.categories import ErrorCategory
from tributary_common.connectors import Record, SyncContext
from tributary_common.errors import ProviderError

from ..stream import PagedStream
from .client import customer_path

CAMPAIGN_FIELDS = (
    "campaign.id",
    "campaign.name",
    "campaign.status",
    "campaign.advertising_channel_type",
    "campaign.start_date",
    "campaign.end_date",
)


def campaign_ids_option(options: Mapping[str, Any]) -> list[str] | None:
    """Return ``options["campaignIds"]`` as digit strings; raise VALIDATION_ERROR otherwise.

    Only digits reach the GAQL text, so an option can never change the query's shape.
    """
    raw = options.get("campaignIds")
    if raw is None:
        return None
    if isinstance(raw, str) or not isinstance(raw, Sequence):
        raise ProviderError(ErrorCategory.VALIDATION_ERROR, "campaignIds must be a list")
    ids = [str(item) for item in raw]
    if not all(item.isdigit() for item in ids):
        raise ProviderError(ErrorCategory.VALIDATION_ERROR, "campaignIds must be numeric ids")
    return sorted(ids, key=int) or None


def campaign_query(campaign_ids: Sequence[str] | None) -> str:
    """Return the GAQL query, ordered by id so page tokens walk a stable order."""
    query = f"SELECT {', '.join(CAMPAIGN_FIELDS)} FROM campaign"
    if campaign_ids:
        query += f" WHERE campaign.id IN ({', '.join(campaign_ids)})"
    return query + " ORDER BY campaign.id"


@dataclass
class SearchCursor:
    """Where a pass over ``query`` stands: ``token`` is the next page's (None: complete)."""

    query: str
    token: str | None = None
    completed_on: str | None = None

    def dump(self) -> dict[str, Any]:
        cursor: dict[str, Any] = {"query": self.query, "page_token": self.token}
        if self.token is None and self.completed_on:
            cursor["completed_on"] = self.completed_on
        return cursor


class CampaignsStream(PagedStream[SearchCursor]):
    """Pages ``SELECT … FROM campaign`` into ``campaign`` records."""

    resource = "campaigns"
    kind = "campaign"

    def __init__(self, customer_id: str, campaign_ids: Sequence[str] | None) -> None:
        self.path = customer_path(customer_id, "search")
        self.query = campaign_query(campaign_ids)

    def begin(self, ctx: SyncContext, raw: dict[str, Any] | None) -> SearchCursor:
        saved = raw or {}
        if saved.get("page_token") and saved.get("query") == self.query:
            return SearchCursor(self.query, saved["page_token"])
        return SearchCursor(self.query)

    def restart(self, ctx: SyncContext, state: SearchCursor) -> SearchCursor:
        return SearchCursor(self.query)

    def fetch(self, ctx: SyncContext, state: SearchCursor, page_size: int) -> dict[str, Any]:
        body: dict[str, Any] = {"query": self.query}
        if state.token:
            body["pageToken"] = state.token
        page = ctx.http.request_json("POST", self.path, json=body)
        if not isinstance(page, dict):
            raise ProviderError(ErrorCategory.UNKNOWN, "unexpected googleAds:search body")
        return page

    def read(self, ctx: SyncContext, state: SearchCursor, page: dict[str, Any]) -> list[Record]:
        rows = [self.record(row) for row in page.get("results") or []]
        state.token = page.get("nextPageToken") or None
        state.completed_on = ctx.request.sync_date.isoformat()
        return [record for record in rows if record is not None]

    def record(self, row: Mapping[str, Any]) -> Record | None:
        campaign = row.get("campaign")
        if not isinstance(campaign, dict) or not campaign.get("id"):
            return None
        return Record(
            kind=self.kind, external_id=str(campaign["id"]), occurred_at=None, data=dict(campaign)
        )
