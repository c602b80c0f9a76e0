"""Meta Ads connector against the simulator: objects, filters, high-water marks, errors."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import pytest
from tributary_common.categories import ErrorCategory
from tributary_common.errors import ProviderError, ShutdownRequested
from tributary_simulator.providers.meta_ads.data import listing
from tributary_worker.providers.meta_ads import Connector
from tributary_worker.providers.meta_ads.client import PAGE_LIMIT
from tributary_worker.providers.meta_ads.graph import parse_graph_time
from tributary_worker.providers.meta_ads.streams import STREAMS

from tests.support.context import MemorySyncContext
from tests.support.faults import COMMON_FAULTS, assert_fault_category
from tests.support.harness import Harness, build_harness
from tests.support.simulator import SimAdmin

DIGITS = "4567890"
ACCOUNT = f"act_{DIGITS}"
KINDS = {"campaigns": "campaign", "adsets": "adset", "ads": "ad"}


def expected(sim: SimAdmin, edge: str, clauses: list[dict[str, Any]] | None = None) -> set[str]:
    return {item["id"] for item in listing(DIGITS, edge, sim.today, clauses or [])}


def with_options(ctx: MemorySyncContext, **options: Any) -> MemorySyncContext:
    ctx.request = dataclasses.replace(ctx.request, options=options)
    return ctx


@pytest.fixture
def harness(sim: SimAdmin) -> Harness:
    return build_harness(
        Connector, "meta_ads", sim.base_url("meta_ads"), ACCOUNT, timeout_seconds=0.5
    )


def test_full_sync_stores_campaigns_adsets_and_ads(sim: SimAdmin, harness: Harness) -> None:
    # Given an account whose ad sets and ads span several pages
    ctx = harness.context(sim.today)

    # When the connector syncs
    harness.connector.sync(ctx)

    # Then every listed object is stored once under its kind
    for edge, kind in KINDS.items():
        assert ctx.ids(kind) == expected(sim, edge)
    assert ctx.new_records == sum(len(expected(sim, edge)) for edge in KINDS)
    # And every request is a plain Graph edge read with the stream's fields
    log = sim.requests("meta_ads")
    assert {e["path"] for e in log} == {f"/v25.0/{ACCOUNT}/{edge}" for edge in KINDS}
    assert len([e for e in log if e["path"].endswith("/ads")]) >= 2
    fields = {f"/v25.0/{ACCOUNT}/{s.resource}": ",".join(s.fields) for s in STREAMS}
    for entry in log:
        assert entry["method"] == "GET" and entry["status"] == 200
        assert entry["query"]["fields"] == [fields[entry["path"]]]
        assert entry["query"]["limit"] == [str(PAGE_LIMIT)]
        assert "filtering" not in entry["query"]
        assert entry["headers"]["authorization"] == "[redacted]"


def test_second_sync_filters_on_the_updated_time_mark(sim: SimAdmin, harness: Harness) -> None:
    # Given a completed sync
    ctx = harness.context(sim.today)
    harness.connector.sync(ctx)
    stored = ctx.new_records
    sim.reset()

    # When the account syncs again
    harness.connector.sync(ctx)

    # Then each edge asks only for objects updated since its newest object, adding nothing
    for edge, kind in KINDS.items():
        mark = max(
            int(parse_graph_time(r.data["updated_time"]).timestamp())
            for (k, _), r in ctx.records.items()
            if k == kind
        )
        assert ctx.cursors[edge] == {"campaign_ids": None, "updated_since": mark}
        clause = {"field": f"{kind}.updated_time", "operator": "GREATER_THAN", "value": mark - 1}
        requests = [e for e in sim.requests("meta_ads") if e["path"].endswith(f"/{edge}")]
        assert [json.loads(e["query"]["filtering"][0]) for e in requests] == [[clause]]
    assert ctx.new_records == stored


def test_campaign_ids_restrict_every_edge(sim: SimAdmin, harness: Harness) -> None:
    # Given a sync asked for two campaigns
    chosen = sorted(expected(sim, "campaigns"))[:2]
    ctx = with_options(harness.context(sim.today), campaignIds=chosen)

    # When it runs
    harness.connector.sync(ctx)

    # Then the API filters each edge on campaign.id and only those objects are stored
    clause = {"field": "campaign.id", "operator": "IN", "value": chosen}
    for edge, kind in KINDS.items():
        assert ctx.ids(kind) == expected(sim, edge, [clause])
    for entry in sim.requests("meta_ads"):
        assert json.loads(entry["query"]["filtering"][0]) == [clause]


def test_changed_campaign_filter_starts_the_edge_over(sim: SimAdmin, harness: Harness) -> None:
    ctx = harness.context(sim.today)
    harness.connector.sync(ctx)
    sim.reset()
    chosen = sorted(expected(sim, "campaigns"))[:1]

    harness.connector.sync(with_options(ctx, campaignIds=chosen))

    # A mark earned without the filter would hide the campaign's older objects: none is used
    for entry in sim.requests("meta_ads"):
        clauses = json.loads(entry["query"]["filtering"][0])
        assert [c["field"] for c in clauses] == ["campaign.id"]


def test_stop_between_pages_resumes_from_the_cursor(sim: SimAdmin, harness: Harness) -> None:
    # Given a sync stopped after the first page of ad sets (campaigns fit one page)
    ctx = harness.context(sim.today, stop_after_pages=2)
    with pytest.raises(ShutdownRequested):
        harness.connector.sync(ctx)
    saved = ctx.cursors["adsets"]
    assert saved["after"] and saved["updated_since"] is None

    # When the job runs again
    ctx.stop_after_pages = None
    harness.connector.sync(ctx)

    # Then the finished edge is only re-read past its mark, ad sets continue at the cursor
    log = sim.requests("meta_ads")
    recheck, resumed = log[2], log[3]
    assert recheck["path"].endswith("/campaigns")
    mark = ctx.cursors["campaigns"]["updated_since"]
    assert json.loads(recheck["query"]["filtering"][0])[0]["value"] == mark - 1
    assert resumed["path"].endswith("/adsets") and resumed["query"]["after"] == [saved["after"]]
    assert "filtering" not in resumed["query"]
    # And each object is stored once
    for edge, kind in KINDS.items():
        assert ctx.ids(kind) == expected(sim, edge)
    assert ctx.new_records == sum(len(expected(sim, edge)) for edge in KINDS)


def test_dead_saved_cursor_restarts_the_edge(sim: SimAdmin, harness: Harness) -> None:
    ctx = harness.context(sim.today)
    ctx.cursors["ads"] = {"campaign_ids": None, "updated_since": None, "after": "gone"}

    harness.connector.sync(ctx)

    ads = [e for e in sim.requests("meta_ads") if e["path"].endswith("/ads")]
    assert ads[0]["query"]["after"] == ["gone"] and ads[0]["status"] == 400
    assert "after" not in ads[1]["query"]
    assert ctx.ids("ad") == expected(sim, "ads")


@pytest.mark.parametrize(
    ("kind", "variant", "category"),
    [
        ("auth", None, ErrorCategory.API_ERROR),
        ("forbidden", None, ErrorCategory.API_ERROR),
        ("forbidden", "200", ErrorCategory.API_ERROR),
        ("bad_request", None, ErrorCategory.VALIDATION_ERROR),
        ("not_found", None, ErrorCategory.VALIDATION_ERROR),
        *COMMON_FAULTS,
    ],
)
def test_fault_maps_to_category(
    sim: SimAdmin, harness: Harness, kind: str, variant: str | None, category: ErrorCategory
) -> None:
    assert_fault_category(sim, harness, "meta_ads", (kind, variant, category), sim.today)


@pytest.mark.parametrize(
    ("variant", "wait_seconds", "scope"),
    [
        ("buc", 180, "account"),  # 80004: estimated_time_to_regain_access, 150 s → 3 min
        ("ad_account", 150, "account"),  # 613: X-Ad-Account-Usage.reset_time_duration
    ],
)
def test_rate_limit_waits_as_the_headers_say(
    sim: SimAdmin, harness: Harness, variant: str, wait_seconds: int, scope: str
) -> None:
    sim.fault("meta_ads", "rate_limit", variant=variant, retryAfterSeconds=150)
    before = time.time()
    with pytest.raises(ProviderError) as failed:
        harness.connector.sync(harness.context(sim.today))
    error = failed.value
    assert (error.category, error.scope) == (ErrorCategory.RATE_LIMIT, scope)
    assert error.retry_at is not None
    assert before + wait_seconds - 1 <= error.retry_at.timestamp() <= time.time() + wait_seconds + 1
    assert any(account == ACCOUNT for _, account, _, _ in harness.limiter.cooldowns)


def test_app_quota_rests_the_provider(sim: SimAdmin, harness: Harness) -> None:
    sim.fault("meta_ads", "quota")
    with pytest.raises(ProviderError) as failed:
        harness.connector.sync(harness.context(sim.today))
    assert (failed.value.category, failed.value.scope) == (ErrorCategory.RATE_LIMIT, "provider")
    assert any(account is None for _, account, _, _ in harness.limiter.cooldowns)


def test_strict_limit_refusal_is_a_buc_throttle(sim: SimAdmin, harness: Harness) -> None:
    sim.set_limit("meta_ads", 2, 120)
    with pytest.raises(ProviderError) as failed:
        harness.connector.sync(harness.context(sim.today))
    assert failed.value.category is ErrorCategory.RATE_LIMIT
    first = sim.requests("meta_ads")[0]["time"]
    assert failed.value.retry_at is not None
    assert first + 119 <= failed.value.retry_at.timestamp() <= first + 181


@pytest.mark.parametrize("bad", ["123", ["12", "x"], {"a": 1}])
def test_malformed_campaign_ids_fail_before_any_request(
    sim: SimAdmin, harness: Harness, bad: Any
) -> None:
    with pytest.raises(ProviderError) as failed:
        harness.connector.sync(with_options(harness.context(sim.today), campaignIds=bad))
    assert failed.value.category is ErrorCategory.VALIDATION_ERROR
    assert sim.requests("meta_ads") == []


def test_account_without_act_prefix_is_addressed_with_it(sim: SimAdmin) -> None:
    harness = build_harness(Connector, "meta_ads", sim.base_url("meta_ads"), DIGITS)
    harness.connector.sync(harness.context(sim.today))
    assert {e["path"] for e in sim.requests("meta_ads")} == {
        f"/v25.0/{ACCOUNT}/{edge}" for edge in KINDS
    }
