"""Text PostgreSQL refuses (NUL, lone surrogates) in a provider's answer: each of the six
providers, through the real runner, PostgreSQL and the simulator: the job completes and the
record is stored cleaned."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from tributary_simulator.faults import BAD_TEXT_FIELD
from tributary_simulator.providers.github import data as github_data

from tests.e2e.stack import Stack
from tests.e2e.test_providers_through_runner import PROVIDERS, _account, _runner
from tests.support.simulator import SimAdmin

CLEANED = "nul lone\ufffd low\ufffd end"


def _day_with_records(provider: str, sim: SimAdmin) -> date:
    """The simulated today, or for GitHub (0..24 events a day) the latest day with events."""
    if provider != "github":
        return sim.today
    days = (sim.today - timedelta(days=n) for n in range(30))
    return next(d for d in days if github_data.day_count(_account(provider), sim.today, d))


@pytest.mark.parametrize("provider", PROVIDERS)
def test_bad_text_is_stored_cleaned(stack: Stack, sim: SimAdmin, provider: str) -> None:
    sim.fault(provider, "bad_text", count=None)
    conn = stack.connect(provider, _account(provider))

    day = _day_with_records(provider, sim)
    result = _runner(stack).run(stack.enqueue(conn["id"], day, send=False).job["id"])

    assert result.outcome == "completed", result
    rows = stack.query(
        "SELECT data->>%s AS bad, data ? 'key\ufffd' AS key FROM synced_records"
        " WHERE connection_id = %s",
        BAD_TEXT_FIELD,
        conn["id"],
    )
    assert rows and result.records == len(rows), (result, rows)
    assert {(r["bad"], r["key"]) for r in rows} == {(CLEANED, True)}
    assert stack.query("SELECT count(*) AS n FROM dead_letters")[0]["n"] == 0
