"""YouTube connector against the simulator: uploads, quota units, cursors, errors."""

from __future__ import annotations

import time
from datetime import date

import pytest
from tributary_common.categories import ErrorCategory
from tributary_common.errors import ProviderError, ShutdownRequested
from tributary_simulator.providers.youtube import data
from tributary_worker.providers.waits import RESET_MARGIN_SECONDS, next_quota_reset
from tributary_worker.providers.youtube import Connector

from tests.support.faults import COMMON_FAULTS, assert_fault_category
from tests.support.harness import Harness, build_harness
from tests.support.simulator import SimAdmin

CHANNEL = "UCx5XG1OV2P6uZZ5FSM9Ttw"


def published_day(item: dict[str, object]) -> date:
    details = item["contentDetails"]
    assert isinstance(details, dict)
    return date.fromisoformat(str(details["videoPublishedAt"])[:10])


def day_on_later_page(channel: str, today: date) -> date:
    """Return a day with uploads that starts past the first page of 50 items."""
    items = data.uploads(channel, today)
    for index in range(50, len(items)):
        if published_day(items[index]) != published_day(items[index - 1]):
            return published_day(items[index])
    raise AssertionError(f"{channel} has no day past the first page as of {today}")


def expected_ids(channel: str, today: date, day: date) -> set[str]:
    return {
        i["contentDetails"]["videoId"]
        for i in data.uploads(channel, today)
        if published_day(i) == day
    }


@pytest.fixture
def harness(sim: SimAdmin) -> Harness:
    return build_harness(
        Connector, "youtube", sim.base_url("youtube"), CHANNEL, timeout_seconds=0.5
    )


def test_full_sync_stores_the_days_uploads_and_counts_units(
    sim: SimAdmin, harness: Harness
) -> None:
    # Given a day whose uploads start on the playlist's second page
    day = day_on_later_page(CHANNEL, sim.today)
    ctx = harness.context(day)

    # When the connector syncs it
    harness.connector.sync(ctx)

    # Then exactly that day's videos are stored and counted
    assert ctx.ids("video") == expected_ids(CHANNEL, sim.today, day)
    assert ctx.activity == {day: data.day_count(CHANNEL, sim.today, day)}
    # And the calls were channels → playlistItems pages, each 1 unit on both sides
    log = sim.requests("youtube")
    assert log[0]["path"] == "/channels"
    assert log[0]["query"]["part"] == ["contentDetails"] and log[0]["query"]["id"] == [CHANNEL]
    pages = log[1:]
    assert len(pages) >= 2
    for entry in pages:
        assert entry["path"] == "/playlistItems"
        assert entry["query"]["playlistId"] == [data.uploads_playlist(CHANNEL)]
        assert entry["query"]["maxResults"] == ["50"]
    assert "pageToken" not in pages[0]["query"] and "pageToken" in pages[1]["query"]
    assert all(e["headers"]["authorization"] == "[redacted]" for e in log)
    assert harness.limiter.units("youtube") == len(log)
    assert sim.stats()["youtube"]["costUnits"] == len(log)


def test_second_sync_stops_at_the_last_seen_video(sim: SimAdmin, harness: Harness) -> None:
    day = day_on_later_page(CHANNEL, sim.today)
    ctx = harness.context(day)
    harness.connector.sync(ctx)
    stored = ctx.new_records
    sim.reset()

    harness.connector.sync(ctx)

    # One page, no channels call: the newest upload is the one seen last time
    log = sim.requests("youtube")
    assert [(e["path"], "pageToken" in e["query"]) for e in log] == [("/playlistItems", False)]
    assert ctx.new_records == stored
    assert ctx.activity[day] == data.day_count(CHANNEL, sim.today, day)


def test_fault_on_second_page_resumes_from_the_page_token(sim: SimAdmin, harness: Harness) -> None:
    day = day_on_later_page(CHANNEL, sim.today)
    sim.fault("youtube", "unavailable", pathContains="/playlistItems", after=1)
    ctx = harness.context(day)
    with pytest.raises(ProviderError) as failed:
        harness.connector.sync(ctx)
    assert failed.value.category is ErrorCategory.NETWORK_ERROR
    token = ctx.cursors["uploads"]["page_token"]
    assert token

    harness.connector.sync(ctx)

    log = sim.requests("youtube")
    assert log[3]["path"] == "/playlistItems" and log[3]["query"]["pageToken"] == [token]
    expected = expected_ids(CHANNEL, sim.today, day)
    assert ctx.ids("video") == expected and ctx.new_records == len(expected)
    assert ctx.activity[day] == len(expected)


def test_stop_between_pages_then_resume(sim: SimAdmin, harness: Harness) -> None:
    day = day_on_later_page(CHANNEL, sim.today)
    ctx = harness.context(day, stop_after_pages=1)
    with pytest.raises(ShutdownRequested):
        harness.connector.sync(ctx)
    ctx.stop_after_pages = None
    harness.connector.sync(ctx)
    expected = expected_ids(CHANNEL, sim.today, day)
    assert ctx.ids("video") == expected and ctx.new_records == len(expected)


@pytest.mark.parametrize(
    ("kind", "variant", "category"),
    [
        ("rate_limit", "rateLimitExceeded", ErrorCategory.RATE_LIMIT),
        ("rate_limit", "429", ErrorCategory.RATE_LIMIT),
        ("auth", None, ErrorCategory.API_ERROR),
        ("forbidden", "forbidden", ErrorCategory.API_ERROR),
        ("forbidden", "insufficientPermissions", ErrorCategory.API_ERROR),
        ("bad_request", "invalidPageToken", ErrorCategory.VALIDATION_ERROR),
        ("not_found", None, ErrorCategory.VALIDATION_ERROR),
        *COMMON_FAULTS,
    ],
)
def test_fault_maps_to_category(
    sim: SimAdmin, harness: Harness, kind: str, variant: str | None, category: ErrorCategory
) -> None:
    assert_fault_category(sim, harness, "youtube", (kind, variant, category), sim.today)


@pytest.mark.parametrize("variant", ["quotaExceeded", "dailyLimitExceeded"])
def test_daily_quota_waits_for_pacific_midnight(
    sim: SimAdmin, harness: Harness, variant: str
) -> None:
    sim.fault("youtube", "quota", variant=variant)
    with pytest.raises(ProviderError) as failed:
        harness.connector.sync(harness.context(sim.today))
    error = failed.value
    assert error.category is ErrorCategory.RATE_LIMIT and error.status == 403
    assert error.scope == "provider"
    # midnight Pacific on the provider's clock, plus the margin for its Date header
    expected = next_quota_reset(time.time()).timestamp() + RESET_MARGIN_SECONDS
    assert error.retry_at is not None and abs(error.retry_at.timestamp() - expected) < 1e-3
    assert harness.limiter.cooldowns[0][1] is None  # provider-wide cooldown


def test_quota_refusal_from_the_strict_limit(sim: SimAdmin, harness: Harness) -> None:
    # Given a project quota of 2 units a day
    sim.set_limit("youtube", 2, 86_400, scope="provider")
    day = day_on_later_page(CHANNEL, sim.today)
    with pytest.raises(ProviderError) as failed:
        harness.connector.sync(harness.context(day))
    # Then the third call is refused with quotaExceeded and counted as a violation
    assert failed.value.category is ErrorCategory.RATE_LIMIT
    assert [e["status"] for e in sim.requests("youtube")] == [200, 200, 403]
    stats = sim.stats()["youtube"]
    assert stats["rateLimitViolations"] == 1 and stats["maxInWindow"] == 2


def test_unknown_channel_is_a_validation_error(sim: SimAdmin) -> None:
    harness = build_harness(Connector, "youtube", sim.base_url("youtube"), "UCmissing123")
    with pytest.raises(ProviderError) as failed:
        harness.connector.sync(harness.context(sim.today))
    assert failed.value.category is ErrorCategory.VALIDATION_ERROR
