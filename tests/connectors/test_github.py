"""GitHub connector against the simulator: records, activity, cursors, errors, request shape."""

from __future__ import annotations

import time
from datetime import date

import pytest
from tributary_common.categories import ErrorCategory
from tributary_common.errors import ProviderError, ShutdownRequested, Throttled
from tributary_simulator.providers.github import data
from tributary_worker.providers.github import Connector
from tributary_worker.providers.github.client import API_VERSION, USER_AGENT

from tests.support.faults import COMMON_FAULTS, assert_fault_category
from tests.support.harness import Harness, build_harness
from tests.support.simulator import SimAdmin

LOGIN = "octocat"


def day_on_later_page(login: str, today: date) -> date:
    """Return a day with events that starts past the first page of 100 events."""
    timeline = data.events(login, today)
    for index, event in enumerate(timeline):
        day = date.fromisoformat(event["created_at"][:10])
        if index >= 100 and not timeline[index - 1]["created_at"].startswith(str(day)):
            return day
    raise AssertionError(f"{login} has no day past the first page as of {today}")


def expected_ids(login: str, today: date, day: date) -> set[str]:
    return {e["id"] for e in data.events(login, today) if e["created_at"].startswith(str(day))}


@pytest.fixture
def harness(sim: SimAdmin) -> Harness:
    return build_harness(Connector, "github", sim.base_url("github"), LOGIN, timeout_seconds=0.5)


def test_full_sync_stores_the_days_events_and_activity(sim: SimAdmin, harness: Harness) -> None:
    # Given a day whose events start on page 2 of the timeline
    day = day_on_later_page(LOGIN, sim.today)
    ctx = harness.context(day)

    # When the connector syncs it
    harness.connector.sync(ctx)

    # Then exactly that day's events are stored, with the day's count as activity
    assert ctx.ids("event") == expected_ids(LOGIN, sim.today, day)
    assert ctx.activity == {day: data.day_count(LOGIN, sim.today, day)}
    record = next(iter(ctx.records.values()))
    assert record.occurred_at is not None and record.occurred_at.date() == day
    # And every request had GitHub's required shape
    log = sim.requests("github")
    assert [e["query"].get("page", ["1"])[0] for e in log] == [str(n + 1) for n in range(len(log))]
    assert len(log) >= 2
    for entry in log:
        assert entry["method"] == "GET" and entry["path"] == f"/users/{LOGIN}/events"
        assert entry["query"]["per_page"] == ["100"]
        assert entry["headers"]["x-github-api-version"] == API_VERSION
        assert entry["headers"]["user-agent"] == USER_AGENT
        assert entry["headers"]["accept"] == "application/vnd.github+json"
        assert entry["headers"]["authorization"] == "[redacted]"
        assert entry["status"] == 200


def test_second_sync_is_one_conditional_request_and_adds_nothing(
    sim: SimAdmin, harness: Harness
) -> None:
    # Given a completed sync
    day = day_on_later_page(LOGIN, sim.today)
    ctx = harness.context(day)
    harness.connector.sync(ctx)
    stored = ctx.new_records
    sim.reset()

    # When the same window syncs again with the saved cursor
    harness.connector.sync(ctx)

    # Then one If-None-Match request answered 304 was all it took, and nothing is new
    log = sim.requests("github")
    assert [e["status"] for e in log] == [304]
    assert log[0]["headers"]["if-none-match"] == ctx.cursors["events"]["etag"]
    assert log[0]["cost"] == 0
    assert ctx.new_records == stored
    assert ctx.activity[day] == data.day_count(LOGIN, sim.today, day)


def test_fault_on_page_two_resumes_from_the_saved_cursor(sim: SimAdmin, harness: Harness) -> None:
    # Given page 2 fails with a 500
    day = day_on_later_page(LOGIN, sim.today)
    sim.fault("github", "server_error", after=1)
    ctx = harness.context(day)
    with pytest.raises(ProviderError) as failed:
        harness.connector.sync(ctx)
    assert failed.value.category is ErrorCategory.UNKNOWN
    assert ctx.cursors["events"]["next"].endswith("page=2")

    # When the job runs again
    harness.connector.sync(ctx)

    # Then it starts at page 2 and ends with each expected record stored once
    pages = [e["query"].get("page", ["1"])[0] for e in sim.requests("github")]
    assert pages[:3] == ["1", "2", "2"]
    expected = expected_ids(LOGIN, sim.today, day)
    assert ctx.ids("event") == expected and ctx.new_records == len(expected)
    assert ctx.activity[day] == len(expected)


def test_stop_between_pages_then_resume(sim: SimAdmin, harness: Harness) -> None:
    day = day_on_later_page(LOGIN, sim.today)
    ctx = harness.context(day, stop_after_pages=1)
    with pytest.raises(ShutdownRequested):
        harness.connector.sync(ctx)
    assert len(sim.requests("github")) == 1

    ctx.stop_after_pages = None
    harness.connector.sync(ctx)

    expected = expected_ids(LOGIN, sim.today, day)
    assert ctx.ids("event") == expected and ctx.new_records == len(expected)
    assert ctx.activity[day] == len(expected)


@pytest.mark.parametrize(
    ("kind", "variant", "category"),
    [
        ("auth", None, ErrorCategory.API_ERROR),
        ("forbidden", None, ErrorCategory.API_ERROR),
        ("bad_request", "422", ErrorCategory.VALIDATION_ERROR),
        ("bad_request", "400", ErrorCategory.VALIDATION_ERROR),
        ("not_found", None, ErrorCategory.VALIDATION_ERROR),
        *COMMON_FAULTS,
    ],
)
def test_fault_maps_to_category(
    sim: SimAdmin, harness: Harness, kind: str, variant: str | None, category: ErrorCategory
) -> None:
    assert_fault_category(sim, harness, "github", (kind, variant, category), sim.today)


@pytest.mark.parametrize(
    ("kind", "variant"),
    [
        ("rate_limit", "primary"),
        ("rate_limit", "primary_429"),
        ("rate_limit", "secondary"),
        ("rate_limit", "secondary_429"),
        ("quota", None),
    ],
)
def test_rate_limits_wait_until_the_provider_says(
    sim: SimAdmin, harness: Harness, kind: str, variant: str | None
) -> None:
    sim.fault("github", kind, variant=variant, retryAfterSeconds=120)
    before = time.time()
    with pytest.raises(ProviderError) as failed:
        harness.connector.sync(harness.context(sim.today))
    error = failed.value
    assert error.category is ErrorCategory.RATE_LIMIT
    assert error.retry_at is not None
    # a reset epoch is whole seconds, plus the one-second margin for the Date header
    assert before + 119 <= error.retry_at.timestamp() <= time.time() + 122
    assert harness.limiter.cooldowns, "the wait must reach the limiter as a cooldown"


def test_secondary_limit_without_hint_waits_a_minute(sim: SimAdmin, harness: Harness) -> None:
    sim.fault("github", "rate_limit", variant="secondary_no_retry_after")
    before = time.time()
    with pytest.raises(ProviderError) as failed:
        harness.connector.sync(harness.context(sim.today))
    # the answer states no wait: GitHub's default (a minute) rests the token
    throttle = failed.value
    assert isinstance(throttle, Throttled) and not throttle.stated
    assert throttle.retry_at is None
    assert throttle.until.timestamp() >= before + 59
    assert harness.limiter.cooldowns[-1][2] >= before + 59


def test_strict_limit_refusal_carries_the_window_reset(sim: SimAdmin, harness: Harness) -> None:
    # Given a limit of one request per minute
    sim.set_limit("github", 1, 60)
    day = day_on_later_page(LOGIN, sim.today)
    with pytest.raises(ProviderError) as failed:
        harness.connector.sync(harness.context(day))

    # Then page 2 is refused as GitHub would and the wait is the window's reset
    assert failed.value.category is ErrorCategory.RATE_LIMIT
    assert failed.value.status == 403
    first = sim.requests("github")[0]["time"]
    assert failed.value.retry_at is not None
    # whole-second reset epoch plus the one-second margin for the provider's Date header
    assert -0.5 <= failed.value.retry_at.timestamp() - (first + 60) <= 2.5
    assert sim.stats()["github"]["rateLimitViolations"] == 1


def test_unknown_login_is_a_validation_error(sim: SimAdmin) -> None:
    harness = build_harness(Connector, "github", sim.base_url("github"), "missing-someone")
    with pytest.raises(ProviderError) as failed:
        harness.connector.sync(harness.context(sim.today))
    assert failed.value.category is ErrorCategory.VALIDATION_ERROR
    assert failed.value.status == 404
