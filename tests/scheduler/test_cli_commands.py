"""The scheduler CLI in process (`cli.main`), against real PostgreSQL and Redis: the
commands and exits the CronJobs and operators rely on, one call each."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from tributary_common.ledger import jobs
from tributary_scheduler import cli

from tests.e2e.stack import Stack
from tests.support.simulator import SimAdmin


@pytest.fixture
def run(stack: Stack, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    for name, value in stack.env.items():
        monkeypatch.setenv(name, value)

    def call(*argv: str) -> int:
        return cli.main(list(argv))

    return call


def test_health_reports_each_check_and_exits_by_it(
    run, stack: Stack, sim: SimAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("health") == cli.OK
    report = json.loads(capsys.readouterr().out)
    assert report["healthy"] is True
    conn = stack.connect("github")
    stack.enqueue(conn["id"], sim.today, send=False)
    stack.query("UPDATE sync_jobs SET enqueued_at = now() - interval '3 hours' RETURNING id")
    assert run("health", "--max-oldest-pending-seconds", "60") == cli.FAILED
    assert json.loads(capsys.readouterr().out)["healthy"] is False


def test_loop_runs_its_rounds_and_records_them(run, stack: Stack) -> None:
    conn = stack.connect("github")
    stack.query(
        "UPDATE connections SET next_due_at = now() - interval '1 minute' WHERE id = %s"
        " RETURNING id",
        conn["id"],
    )
    assert run("loop", "--iterations", "2", "--interval-seconds", "0") == cli.OK
    commands = {r["command"] for r in stack.query("SELECT command FROM scheduler_runs")}
    assert {"enqueue-due", "reconcile", "cleanup"} <= commands
    assert stack.query("SELECT count(*) AS n FROM sync_jobs")[0]["n"] == 1


def test_housekeeping_and_dead_letters_purge_by_id(
    run, stack: Stack, sim: SimAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("housekeeping") == cli.OK
    assert json.loads(capsys.readouterr().out)["promoted"] == 0
    conn = stack.connect("github")
    job_id = stack.enqueue(conn["id"], sim.today, send=False).job["id"]
    assert jobs.claim(stack.pool, job_id, owner="w", lease_seconds=60) is not None
    end = jobs.AttemptEnd("w", datetime.now(UTC), "failed", 0, 1, "API_ERROR", "gone")
    assert jobs.fail(stack.pool, job_id, end, owner="w") is not None
    letter = stack.query("SELECT id FROM dead_letters")[0]["id"]

    assert run("dead-letters", "purge", "--id", str(letter)) == cli.OK

    assert json.loads(capsys.readouterr().out) == {"purged": 1}
    assert stack.query("SELECT count(*) AS n FROM dead_letters")[0]["n"] == 0


def test_websub_renew_without_a_callback_url_is_bad_usage(
    run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRIBUTARY_WEBSUB_CALLBACK_URL", raising=False)
    assert run("websub-renew") == cli.USAGE


def test_bad_configuration_is_bad_usage(run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIBUTARY_MAX_RETRIES", "many")
    assert run("enqueue-due") == cli.USAGE
