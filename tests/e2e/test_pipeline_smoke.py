"""Given real workers, Redis, PostgreSQL and the simulator, jobs flow end to end."""

from __future__ import annotations

from tributary_simulator.providers.github import data as github_data

from tests.e2e.stack import Stack
from tests.support.simulator import SimAdmin


def test_manual_github_job_completes_with_exact_records(stack: Stack, sim: SimAdmin) -> None:
    # Given a GitHub connection whose simulated user has events on a known day
    day = sim.today
    login = "octo-e2e"
    conn = stack.connect("github", login)
    expected = github_data.day_count(login, sim.today, day)
    stack.start_workers(processes=1, threads=2)

    # When a manual sync is enqueued
    job = stack.enqueue(conn["id"], day).job

    # Then it completes, with exactly the day's events stored and counted
    stack.wait_status([job["id"]], "completed", timeout=40)
    row = stack.job(job["id"])
    assert row["records_synced"] == expected
    stored = stack.query(
        "SELECT count(*) AS n FROM synced_records WHERE connection_id = %s", conn["id"]
    )[0]["n"]
    assert stored == expected
    activity = stack.query(
        "SELECT count FROM activities WHERE connection_id = %s AND activity_date = %s",
        conn["id"],
        day,
    )
    assert activity and activity[0]["count"] == expected
    attempts = stack.query("SELECT outcome FROM sync_attempts WHERE job_id = %s", job["id"])
    assert [a["outcome"] for a in attempts] == ["completed"]
