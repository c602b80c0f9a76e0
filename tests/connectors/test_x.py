"""X connector against the simulator: posts, since_id re-runs, cursors, errors."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
from tributary_common.categories import ErrorCategory
from tributary_common.errors import ProviderError, ShutdownRequested
from tributary_simulator.providers.x import data
from tributary_worker.providers.x import Connector

from tests.support.faults import COMMON_FAULTS, assert_fault_category
from tests.support.harness import Harness, build_harness
from tests.support.simulator import SimAdmin

USER = "2244994945"


def busy_past_day(user_id: str, today: date) -> date:
    """Return a past day with more than one page (100) of posts."""
    for offset in range(1, data.WINDOW_DAYS):
        day = today - timedelta(days=offset)
        if data.day_count(user_id, today, day) > 100:
            return day
    raise AssertionError(f"{user_id} has no day with more than 100 posts as of {today}")


def expected_ids(user_id: str, today: date, day: date) -> set[str]:
    return {p["id"] for p in data.posts(user_id, today) if p["created_at"].startswith(str(day))}


@pytest.fixture
def harness(sim: SimAdmin) -> Harness:
    return build_harness(Connector, "x", sim.base_url("x"), USER, timeout_seconds=0.5)


def test_full_sync_stores_the_days_posts(sim: SimAdmin, harness: Harness) -> None:
    # Given a past day with more than a page of posts
    day = busy_past_day(USER, sim.today)
    ctx = harness.context(day)

    # When the connector syncs it
    harness.connector.sync(ctx)

    # Then the day's posts are stored and counted
    assert ctx.ids("post") == expected_ids(USER, sim.today, day)
    assert ctx.activity == {day: data.day_count(USER, sim.today, day)}
    # And each request asked for that day's window, paging by token
    log = sim.requests("x")
    assert len(log) >= 2
    for entry in log:
        assert entry["path"] == f"/2/users/{USER}/tweets"
        assert entry["query"]["start_time"] == [f"{day}T00:00:00Z"]
        assert entry["query"]["end_time"] == [f"{day}T23:59:59Z"]
        assert entry["query"]["max_results"] == ["100"]
        assert "created_at" in entry["query"]["tweet.fields"][0]
        assert entry["headers"]["authorization"] == "[redacted]"
    assert "pagination_token" not in log[0]["query"]
    assert "pagination_token" in log[1]["query"]


def test_second_sync_asks_only_for_newer_posts(sim: SimAdmin, harness: Harness) -> None:
    day = busy_past_day(USER, sim.today)
    ctx = harness.context(day)
    harness.connector.sync(ctx)
    stored = ctx.new_records
    newest = max(int(i) for i in ctx.ids("post"))
    sim.reset()

    harness.connector.sync(ctx)

    log = sim.requests("x")
    assert len(log) == 1
    assert log[0]["query"]["since_id"] == [str(newest)]
    assert ctx.new_records == stored
    assert ctx.activity[day] == data.day_count(USER, sim.today, day)


def test_rate_limit_on_page_two_resumes_from_the_token(sim: SimAdmin, harness: Harness) -> None:
    day = busy_past_day(USER, sim.today)
    sim.fault("x", "rate_limit", after=1, retryAfterSeconds=300)
    ctx = harness.context(day)
    before = time.time()
    with pytest.raises(ProviderError) as failed:
        harness.connector.sync(ctx)
    error = failed.value
    assert error.category is ErrorCategory.RATE_LIMIT and error.status == 429
    assert error.retry_at is not None
    assert before + 300 <= error.retry_at.timestamp() <= time.time() + 302
    token = ctx.cursors["posts"]["next_token"]

    harness.connector.sync(ctx)

    assert sim.requests("x")[2]["query"]["pagination_token"] == [token]
    expected = expected_ids(USER, sim.today, day)
    assert ctx.ids("post") == expected and ctx.new_records == len(expected)
    assert ctx.activity[day] == len(expected)


def test_stop_between_pages_then_resume(sim: SimAdmin, harness: Harness) -> None:
    day = busy_past_day(USER, sim.today)
    ctx = harness.context(day, stop_after_pages=1)
    with pytest.raises(ShutdownRequested):
        harness.connector.sync(ctx)
    ctx.stop_after_pages = None
    harness.connector.sync(ctx)
    expected = expected_ids(USER, sim.today, day)
    assert ctx.ids("post") == expected and ctx.new_records == len(expected)


def test_usage_cap_parks_the_provider(sim: SimAdmin, harness: Harness) -> None:
    sim.fault("x", "rate_limit", variant="usage_capped")
    with pytest.raises(ProviderError) as failed:
        harness.connector.sync(harness.context(sim.today - timedelta(days=1)))
    error = failed.value
    assert error.category is ErrorCategory.RATE_LIMIT and error.scope == "provider"
    assert error.retry_at is not None and error.retry_at.timestamp() > time.time() + 3600


def test_remaining_zero_becomes_a_cooldown(sim: SimAdmin, harness: Harness) -> None:
    # Given a window of exactly one request: the answer says remaining 0
    sim.set_limit("x", 1, 900)
    harness.connector.sync(harness.context(sim.today - timedelta(days=40)))
    assert harness.limiter.cooldowns and harness.limiter.cooldowns[0][1] == USER


@pytest.mark.parametrize(
    ("kind", "variant", "category"),
    [
        ("auth", None, ErrorCategory.API_ERROR),
        ("forbidden", None, ErrorCategory.API_ERROR),
        ("bad_request", None, ErrorCategory.VALIDATION_ERROR),
        ("not_found", None, ErrorCategory.VALIDATION_ERROR),
        ("not_found", "inline", ErrorCategory.VALIDATION_ERROR),
        *COMMON_FAULTS,
    ],
)
def test_fault_maps_to_category(
    sim: SimAdmin, harness: Harness, kind: str, variant: str | None, category: ErrorCategory
) -> None:
    assert_fault_category(
        sim, harness, "x", (kind, variant, category), sim.today - timedelta(days=1)
    )


def test_unknown_user_is_a_validation_error(sim: SimAdmin) -> None:
    harness = build_harness(Connector, "x", sim.base_url("x"), "999000111")
    with pytest.raises(ProviderError) as failed:
        harness.connector.sync(harness.context(sim.today - timedelta(days=1)))
    assert failed.value.category is ErrorCategory.VALIDATION_ERROR
    assert failed.value.status == 200
