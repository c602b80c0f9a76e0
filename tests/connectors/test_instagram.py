"""Instagram connector against the simulator: media, activity, cursors, errors, request shape."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, date, datetime

import pytest
from tributary_common.categories import ErrorCategory
from tributary_common.errors import ProviderError, ShutdownRequested
from tributary_simulator.providers import instagram as sim_instagram
from tributary_worker.providers.instagram import Connector
from tributary_worker.providers.instagram.client import PAGE_LIMIT
from tributary_worker.providers.instagram.streams import MEDIA_FIELDS

from tests.support.faults import COMMON_FAULTS, assert_fault_category
from tests.support.harness import Harness, build_harness
from tests.support.simulator import SimAdmin

ACCOUNT = "17841405822304914"
PATH = f"/v25.0/{ACCOUNT}/media"


def day_of(item: dict[str, object]) -> date:
    return date.fromisoformat(str(item["timestamp"])[:10])


def visible(today: date) -> list[dict[str, object]]:
    return sim_instagram.visible_media(ACCOUNT, today)


def busiest_day(today: date) -> date:
    return Counter(day_of(item) for item in visible(today)).most_common(1)[0][0]


def day_count(today: date, day: date) -> int:
    return sum(1 for item in visible(today) if day_of(item) == day)


def pages_until_caught_up(today: date, day: date) -> int:
    """Pages an incremental pass reads: up to the first visible item before ``day``."""
    items = sim_instagram.all_media(ACCOUNT, today)
    for index, item in enumerate(items):
        if not item["_hidden"] and day_of(item) < day:
            return index // PAGE_LIMIT + 1
    return -(-len(items) // PAGE_LIMIT)


@pytest.fixture
def harness(sim: SimAdmin) -> Harness:
    return build_harness(
        Connector, "instagram", sim.base_url("instagram"), ACCOUNT, timeout_seconds=0.5
    )


def test_full_sync_stores_every_media_and_the_days_count(sim: SimAdmin, harness: Harness) -> None:
    # Given an account with more media than one page holds
    day = busiest_day(sim.today)
    ctx = harness.context(day)

    # When the connector syncs
    harness.connector.sync(ctx)

    # Then every visible media item is stored once, with the day's count as activity
    assert ctx.ids("media") == {str(item["id"]) for item in visible(sim.today)}
    assert ctx.activity == {day: day_count(sim.today, day)}
    record = ctx.records[("media", str(visible(sim.today)[0]["id"]))]
    assert record.occurred_at == datetime.fromisoformat(
        str(visible(sim.today)[0]["timestamp"])
    ).astimezone(UTC)
    # And each request had the Graph shape, following the previous page's cursor
    log = sim.requests("instagram")
    pages = -(-len(sim_instagram.all_media(ACCOUNT, sim.today)) // PAGE_LIMIT)
    assert len(log) == pages >= 2
    assert "after" not in log[0]["query"]
    for entry in log:
        assert (entry["method"], entry["path"], entry["status"]) == ("GET", PATH, 200)
        assert entry["query"]["fields"] == [",".join(MEDIA_FIELDS)]
        assert entry["query"]["limit"] == [str(PAGE_LIMIT)]
        assert "access_token" not in entry["query"]
        assert entry["headers"]["authorization"] == "[redacted]"
    assert ctx.cursors["media"] == {
        "high_water": max(r.occurred_at for r in ctx.records.values()).isoformat()
    }


def test_second_sync_reads_only_down_to_the_mark_and_adds_nothing(
    sim: SimAdmin, harness: Harness
) -> None:
    # Given a completed sync
    day = busiest_day(sim.today)
    ctx = harness.context(day)
    harness.connector.sync(ctx)
    stored = ctx.new_records
    sim.reset()

    # When the same day syncs again
    harness.connector.sync(ctx)

    # Then it stops at the page that reaches past the mark and the day, adding nothing
    assert len(sim.requests("instagram")) == pages_until_caught_up(sim.today, day)
    assert ctx.new_records == stored
    assert ctx.activity == {day: day_count(sim.today, day)}


def test_stop_between_pages_resumes_from_the_cursor(sim: SimAdmin, harness: Harness) -> None:
    # Given a sync of a day whose media reach page 2, stopped after page 1
    items = sim_instagram.all_media(ACCOUNT, sim.today)
    day = day_of(items[PAGE_LIMIT])
    ctx = harness.context(day, stop_after_pages=1)
    with pytest.raises(ShutdownRequested):
        harness.connector.sync(ctx)
    saved = ctx.cursors["media"]
    assert saved["after"] and saved["sync_date"] == day.isoformat()

    # When the job runs again
    ctx.stop_after_pages = None
    harness.connector.sync(ctx)

    # Then it continues at the saved cursor; records are stored once and the count is whole
    log = sim.requests("instagram")
    assert log[1]["query"]["after"] == [saved["after"]]
    expected = {str(item["id"]) for item in visible(sim.today)}
    assert ctx.ids("media") == expected and ctx.new_records == len(expected)
    assert ctx.activity == {day: day_count(sim.today, day)}


def test_failure_on_page_two_resumes_there(sim: SimAdmin, harness: Harness) -> None:
    sim.fault("instagram", "server_error", after=1)
    ctx = harness.context(sim.today)
    with pytest.raises(ProviderError) as failed:
        harness.connector.sync(ctx)
    assert failed.value.category is ErrorCategory.UNKNOWN

    harness.connector.sync(ctx)

    log = sim.requests("instagram")
    assert log[2]["query"]["after"] == log[1]["query"]["after"]
    assert ctx.new_records == len(visible(sim.today))


def test_dead_saved_cursor_restarts_the_pass(sim: SimAdmin, harness: Harness) -> None:
    # Given a saved cursor Graph no longer accepts (its item was deleted)
    day = busiest_day(sim.today)
    ctx = harness.context(day)
    ctx.cursors["media"] = {"after": "gone", "sync_date": day.isoformat(), "day_count": 3}

    # When the job resumes
    harness.connector.sync(ctx)

    # Then the rejected page is followed by a pass from the start, with a fresh count
    log = sim.requests("instagram")
    assert log[0]["query"]["after"] == ["gone"] and log[0]["status"] == 400
    assert "after" not in log[1]["query"]
    assert ctx.ids("media") == {str(item["id"]) for item in visible(sim.today)}
    assert ctx.activity == {day: day_count(sim.today, day)}


@pytest.mark.parametrize(
    ("kind", "variant", "category"),
    [
        ("auth", None, ErrorCategory.API_ERROR),
        ("auth", "invalid", ErrorCategory.API_ERROR),
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
    error = assert_fault_category(sim, harness, "instagram", (kind, variant, category), sim.today)
    assert not error.category.retryable or error.retry_at is None


def test_buc_throttle_waits_the_estimated_time_for_the_account(
    sim: SimAdmin, harness: Harness
) -> None:
    # Given a BUC throttle whose wait (150 s) Meta reports in whole minutes (3)
    sim.fault("instagram", "rate_limit", retryAfterSeconds=150)
    before = time.time()
    with pytest.raises(ProviderError) as failed:
        harness.connector.sync(harness.context(sim.today))

    # Then the error is an account-scoped rate limit until then, and the limiter knows it
    error = failed.value
    assert (error.category, error.scope, error.status) == (ErrorCategory.RATE_LIMIT, "account", 400)
    assert error.retry_at is not None
    assert before + 179 <= error.retry_at.timestamp() <= time.time() + 181
    assert ACCOUNT in {account for _, account, _, _ in harness.limiter.cooldowns}


@pytest.mark.parametrize(("kind", "variant"), [("rate_limit", "app"), ("quota", None)])
def test_app_limit_rests_the_whole_provider(
    sim: SimAdmin, harness: Harness, kind: str, variant: str | None
) -> None:
    sim.fault("instagram", kind, variant=variant)
    before = time.time()
    with pytest.raises(ProviderError) as failed:
        harness.connector.sync(harness.context(sim.today))
    assert (failed.value.category, failed.value.scope) == (ErrorCategory.RATE_LIMIT, "provider")
    # X-App-Usage at 100 % has no reset time: the feedback rests the app for a minute
    provider_cooldowns = [
        until for _, account, until, _ in harness.limiter.cooldowns if account is None
    ]
    assert provider_cooldowns and min(provider_cooldowns) >= before + 59


def test_user_limit_is_an_account_rate_limit(sim: SimAdmin, harness: Harness) -> None:
    sim.fault("instagram", "rate_limit", variant="user")
    with pytest.raises(ProviderError) as failed:
        harness.connector.sync(harness.context(sim.today))
    assert (failed.value.category, failed.value.scope) == (ErrorCategory.RATE_LIMIT, "account")


def test_strict_limit_refusal_waits_for_the_window(sim: SimAdmin, harness: Harness) -> None:
    # Given one call per ten minutes
    sim.set_limit("instagram", 1, 600)
    with pytest.raises(ProviderError) as failed:
        harness.connector.sync(harness.context(sim.today))

    # Then page 2 is refused as a BUC throttle, waiting out the window (whole minutes)
    assert failed.value.category is ErrorCategory.RATE_LIMIT
    first = sim.requests("instagram")[0]["time"]
    assert failed.value.retry_at is not None
    assert first + 599 <= failed.value.retry_at.timestamp() <= first + 661
    assert sim.stats()["instagram"]["rateLimitViolations"] == 1


def test_unknown_account_is_a_validation_error(sim: SimAdmin) -> None:
    harness = build_harness(Connector, "instagram", sim.base_url("instagram"), "not-a-user")
    with pytest.raises(ProviderError) as failed:
        harness.connector.sync(harness.context(sim.today))
    assert failed.value.category is ErrorCategory.VALIDATION_ERROR
