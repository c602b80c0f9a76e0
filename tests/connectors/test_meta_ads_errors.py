"""The Graph API classification table (Meta Ads and Instagram), response by response."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from tributary_common.categories import ErrorCategory
from tributary_worker.providers.meta_ads.graph import (
    APP_USAGE_COOLDOWN_SECONDS,
    map_graph_error,
    read_graph_feedback,
)
from tributary_worker.providers.throttles import POLICY_BLOCK_WAIT_SECONDS

NOW = 1_800_000_000.0


def clock() -> float:
    return NOW


def graph(status: int, code: int, subcode: int | None = None, **extra: Any) -> httpx.Response:
    error: dict[str, Any] = {"message": "m", "type": "OAuthException", "code": code, **extra}
    if subcode is not None:
        error["error_subcode"] = subcode
    return httpx.Response(status, json={"error": error})


@pytest.mark.parametrize(
    ("response", "category", "scope"),
    [
        (graph(400, 4), ErrorCategory.RATE_LIMIT, "provider"),
        (graph(400, 4, 1504022), ErrorCategory.RATE_LIMIT, "account"),
        (graph(400, 17, 2446079), ErrorCategory.RATE_LIMIT, "account"),
        (graph(403, 32), ErrorCategory.RATE_LIMIT, "account"),
        (graph(400, 341), ErrorCategory.RATE_LIMIT, "provider"),
        (graph(400, 613, 1487742), ErrorCategory.RATE_LIMIT, "account"),
        (graph(400, 80000), ErrorCategory.RATE_LIMIT, "account"),
        (graph(400, 80014), ErrorCategory.RATE_LIMIT, "account"),
        (graph(400, 190, 463), ErrorCategory.API_ERROR, "account"),
        (graph(400, 102), ErrorCategory.API_ERROR, "account"),
        (graph(400, 10), ErrorCategory.API_ERROR, "account"),
        (graph(400, 3), ErrorCategory.API_ERROR, "account"),
        (graph(400, 273), ErrorCategory.API_ERROR, "account"),
        (graph(400, 100, 33), ErrorCategory.VALIDATION_ERROR, "account"),
        (graph(500, 1, 99), ErrorCategory.UNKNOWN, "account"),
        (graph(400, 2, 1504043), ErrorCategory.UNKNOWN, "account"),
        (graph(400, -2, 2490547), ErrorCategory.UNKNOWN, "account"),
        (graph(400, 9999, is_transient=True), ErrorCategory.UNKNOWN, "account"),
        (graph(400, 9999), ErrorCategory.VALIDATION_ERROR, "account"),
        (graph(503, 2), ErrorCategory.NETWORK_ERROR, "account"),
        (httpx.Response(504, text="<html>"), ErrorCategory.NETWORK_ERROR, "account"),
        (httpx.Response(500, text="<html>"), ErrorCategory.UNKNOWN, "account"),
        (httpx.Response(401, text=""), ErrorCategory.API_ERROR, "account"),
        (httpx.Response(404, json={}), ErrorCategory.VALIDATION_ERROR, "account"),
        (httpx.Response(429, text=""), ErrorCategory.RATE_LIMIT, "account"),
    ],
)
def test_classification(response: httpx.Response, category: ErrorCategory, scope: str) -> None:
    error = map_graph_error(response, clock=clock)
    assert error is not None
    assert (error.category, error.scope) == (category, scope)


def test_success_is_not_an_error() -> None:
    assert map_graph_error(httpx.Response(200, json={"data": []}), clock=clock) is None


def test_buc_wait_is_the_longest_entry_in_minutes() -> None:
    usage = {
        "1": [{"type": "ads_management", "estimated_time_to_regain_access": 2}],
        "2": [{"type": "ads_insights", "estimated_time_to_regain_access": 7}],
    }
    response = httpx.Response(
        400,
        json={"error": {"code": 80004, "message": "m"}},
        headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
    )
    error = map_graph_error(response, clock=clock)
    assert error is not None and error.retry_at is not None
    assert error.retry_at.timestamp() == NOW + 7 * 60
    cooldown = read_graph_feedback(response, clock=clock)
    assert cooldown is not None and (cooldown.scope, cooldown.until) == ("account", NOW + 420)


def test_ad_account_reset_then_retry_after_are_fallbacks() -> None:
    by_account = graph(400, 613)
    by_account.headers["X-Ad-Account-Usage"] = json.dumps({"reset_time_duration": 100})
    by_header = graph(400, 17)
    by_header.headers["Retry-After"] = "30"
    for response, wait in ((by_account, 100), (by_header, 30)):
        error = map_graph_error(response, clock=clock)
        assert error is not None and error.retry_at is not None
        assert error.retry_at.timestamp() == NOW + wait


def test_policy_block_waits_long_without_a_hint() -> None:
    error = map_graph_error(graph(400, 368), clock=clock)
    assert error is not None and error.retry_at is not None
    assert error.retry_at.timestamp() == NOW + POLICY_BLOCK_WAIT_SECONDS


def test_garbage_usage_headers_are_ignored() -> None:
    response = graph(400, 80004)
    response.headers["X-Business-Use-Case-Usage"] = "{not json"
    response.headers["X-App-Usage"] = '["x"]'
    error = map_graph_error(response, clock=clock)
    assert error is not None and error.retry_at is None
    assert read_graph_feedback(response, clock=clock) is None


def test_full_app_usage_rests_the_provider() -> None:
    usage = {"call_count": 100, "total_time": 20, "total_cputime": 20}
    response = httpx.Response(200, json={}, headers={"X-App-Usage": json.dumps(usage)})
    cooldown = read_graph_feedback(response, clock=clock)
    assert cooldown is not None
    assert (cooldown.scope, cooldown.until) == ("provider", NOW + APP_USAGE_COOLDOWN_SECONDS)


def test_full_ad_account_rests_the_account_until_its_reset() -> None:
    usage = {"acc_id_util_pct": 100, "reset_time_duration": 40}
    response = httpx.Response(200, json={}, headers={"X-Ad-Account-Usage": json.dumps(usage)})
    cooldown = read_graph_feedback(response, clock=clock)
    assert cooldown is not None and (cooldown.scope, cooldown.until) == ("account", NOW + 40)
    usage["acc_id_util_pct"] = 99.5
    response.headers["X-Ad-Account-Usage"] = json.dumps(usage)
    assert read_graph_feedback(response, clock=clock) is None
