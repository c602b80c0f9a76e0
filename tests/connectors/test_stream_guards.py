"""The stream base's guards, against every provider they apply to (`providers/stream.py`)."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from tributary_common.connectors import ProviderConfig
from tributary_common.errors import ShutdownRequested
from tributary_worker.providers import REGISTRY

from tests.connectors.test_github import day_on_later_page as github_later_day
from tests.connectors.test_youtube import day_on_later_page as youtube_later_day
from tests.support.harness import build_harness
from tests.support.simulator import SimAdmin
from tools.localstack.run import DEMO_ACCOUNTS

#: Providers whose requests name a page size, and the parameter that does.
PAGE_SIZE_PARAMS = {
    "youtube": "maxResults",
    "x": "max_results",
    "meta_ads": "limit",
    "instagram": "limit",
}


def _connector(provider: str) -> Any:
    return lambda config: REGISTRY.build(provider, ProviderConfig(config.base_url, 5.0))


@pytest.mark.parametrize("provider", sorted(PAGE_SIZE_PARAMS))
def test_too_much_data_halves_the_page_size_and_goes_on(sim: SimAdmin, provider: str) -> None:
    # Given a provider that refuses, in its own shape (Meta: HTTP 500 code 1 "reduce the
    # amount of data"), every page larger than 25 items
    sim.fault(provider, "too_much_data", count=None, pageSizeAbove=25)
    harness = build_harness(
        _connector(provider), provider, sim.base_url(provider), DEMO_ACCOUNTS[provider]
    )

    # When the connector syncs
    harness.connector.sync(harness.context(sim.today))

    # Then each refusal halved the page size until it was accepted, and the sync completed
    param = PAGE_SIZE_PARAMS[provider]
    asked = [
        (int(r["query"][param][0]), r["fault"])
        for r in sim.requests(provider)
        if param in r["query"]
    ]
    refused = [size for size, fault in asked if fault == "too_much_data"]
    answered = [size for size, fault in asked if fault is None]
    assert refused and all(size > 25 for size in refused), asked
    assert answered and all(size <= 25 for size in answered), asked
    # (each refused request is followed by the same page at half the size)
    for (size, fault), (next_size, _) in pairwise(asked):
        if fault == "too_much_data":
            assert next_size == size // 2, asked


#: Providers with a day whose pass spans pages (so a next cursor exists to repeat), and
#: the requests that page.
MULTI_PAGE = {
    "github": (github_later_day, "/events"),
    "youtube": (youtube_later_day, "/playlistItems"),
}


@pytest.mark.parametrize("provider", sorted(MULTI_PAGE))
def test_a_repeated_page_token_ends_the_pass(sim: SimAdmin, provider: str) -> None:
    # Given a provider that keeps answering with the same next-page token
    later_day, paging_path = MULTI_PAGE[provider]
    account = DEMO_ACCOUNTS[provider]
    sim.fault(provider, "repeat_cursor", count=None, pathContains=paging_path)
    harness = build_harness(_connector(provider), provider, sim.base_url(provider), account)
    ctx = harness.context(later_day(account, sim.today))

    # When the connector syncs
    harness.connector.sync(ctx)

    # Then it asked for the repeated page once and ended the pass there (the old loops
    # paged on to the event cap, or forever)
    pages = [r for r in sim.requests(provider) if paging_path in r["path"]]
    assert len(pages) == 2, [r["query"] for r in pages]


@pytest.mark.parametrize("provider", sorted(MULTI_PAGE))
def test_a_refused_saved_page_token_restarts_the_pass_once(sim: SimAdmin, provider: str) -> None:
    # Given a pass stopped after page 1 (its next page token saved), and a provider that
    # then refuses that token once (YouTube: 400 invalidPageToken; GitHub: 422)
    later_day, paging_path = MULTI_PAGE[provider]
    account = DEMO_ACCOUNTS[provider]
    harness = build_harness(_connector(provider), provider, sim.base_url(provider), account)
    day = later_day(account, sim.today)
    stopped = harness.context(day, stop_after_pages=1)
    with pytest.raises(ShutdownRequested):
        harness.connector.sync(stopped)
    sim.fault(provider, "bad_request", count=1, pathContains=paging_path)

    # When the next job resumes from the saved cursor
    resumed = harness.context(day)
    resumed.cursors = stopped.cursors
    harness.connector.sync(resumed)

    # Then the pass started over from page 1 and completed, with the whole day
    assert [r["fault"] for r in sim.requests(provider)].count("bad_request") == 1
    complete = harness.context(day)
    harness.connector.sync(complete)
    assert resumed.activity[day] == complete.activity[day]
    assert resumed.records.keys() == complete.records.keys()
