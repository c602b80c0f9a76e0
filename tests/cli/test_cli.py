"""Every `tributary` command against a live api (gunicorn, real PostgreSQL and Redis):
tables by default, `--output json`, a progress bar on bulk replay, meaningful exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import API_TOKEN, CRON_SECRET, Live, today
from tests.support.simulator import SimAdmin

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def run(
    live: Live, *args: str, token: str = API_TOKEN, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TRIBUTARY_API_URL": live.url,
        "TRIBUTARY_API_TOKEN": token,
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "bin" / "tributary"), *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def as_json(live: Live, *args: str) -> Any:
    done = run(live, "--output", "json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def dead_letters(live: Live, sim: SimAdmin, user: str, count: int) -> list[dict[str, Any]]:
    """``count`` real dead letters: GitHub answers 400 for this user's account, one job per
    sync date."""
    account = f"acct-{user}"
    with live.client() as client, live.client(CRON_SECRET) as cron:
        body = {"userId": user, "provider": "github", "accountId": account, "accessToken": "t"}
        assert client.post("/api/connections", json=body).status_code == 201
        sim.fault("github", "bad_request", account=account, count=None)
        for day in range(1, count + 1):
            sync_date = (date.fromisoformat(today()) - timedelta(days=day)).isoformat()
            manual = {"userId": user, "provider": "github", "syncDate": sync_date}
            assert client.post("/api/sync/manual", json=manual).status_code == 202
        for _ in range(20):
            cron.post("/api/cron/process-queue", json={"limit": 20})
            letters = client.get("/api/dead-letters", params={"userId": user}).json()["deadLetters"]
            if len(letters) == count:
                break
        sim.clear_faults()
        assert len(letters) == count
        return letters


def test_status_limits_and_jobs(live: Live) -> None:
    user = f"cli-{uuid.uuid4().hex[:8]}"
    with live.client() as client:
        client.post(
            "/api/connections",
            json={"userId": user, "provider": "meta_ads", "accountId": "a", "accessToken": "t"},
        )
        job = client.post("/api/sync/manual", json={"userId": user, "provider": "meta"}).json()

    table = run(live, "status")
    assert (
        table.returncode == 0 and "Pending by band" in table.stdout and "API_ERROR" in table.stdout
    )
    assert set(as_json(live, "status")) >= {"jobsByStatus", "pendingByBand", "stats", "providers"}

    limits = run(live, "limits")
    assert (
        limits.returncode == 0
        and "meta_ads" in limits.stdout
        and "1m 0/10" in limits.stdout.replace("1m: ", "1m ")
    )
    assert as_json(live, "limits")["meta_ads"]["slots"]["limit"] == 2

    listed = as_json(live, "jobs", "list", "--user", user, "--provider", "meta")
    assert [j["id"] for j in listed["jobs"]] == [job["jobId"]]
    assert job["jobId"] in run(live, "jobs", "list", "--user", user).stdout
    shown = as_json(live, "jobs", "show", job["jobId"])
    assert shown["job"]["provider"] == "meta_ads" and shown["attempts"] == []
    assert run(live, "jobs", "show", job["jobId"]).returncode == 0


def test_connections_commands(live: Live) -> None:
    user = f"cli-{uuid.uuid4().hex[:8]}"
    with live.client() as client:
        row = client.post(
            "/api/connections",
            json={"userId": user, "provider": "github", "accountId": "a", "accessToken": "t"},
        ).json()
    listed = as_json(live, "connections", "list", "--user", user)
    assert [c["id"] for c in listed["connections"]] == [row["id"]]
    assert row["id"] in run(live, "connections", "list", "--user", user).stdout
    assert as_json(live, "connections", "show", row["id"])["status"] == "active"
    assert as_json(live, "connections", "pause", row["id"])["status"] == "paused"
    # A paused connection is not synced: the api's 409 is exit code 1
    refused = run(live, "connections", "sync", row["id"])
    assert refused.returncode == 1 and "paused" in refused.stderr
    assert as_json(live, "connections", "resume", row["id"])["status"] == "active"
    synced = as_json(live, "connections", "sync", row["id"])
    assert synced["status"] == "pending" and synced["queue"] == "sync.manual"


def test_dead_letter_commands_and_bulk_replay(live: Live, sim: SimAdmin) -> None:
    user = f"cli-{uuid.uuid4().hex[:8]}"
    letters = dead_letters(live, sim, user, 3)
    listed = as_json(live, "dlq", "list", "--user", user)
    assert sorted(d["id"] for d in listed["deadLetters"]) == sorted(d["id"] for d in letters)
    assert letters[0]["id"] in run(live, "dlq", "list", "--user", user).stdout
    assert as_json(live, "dlq", "show", letters[0]["id"])["payload"]["syncDate"]

    # Replay one by id, then the rest by filter: a progress bar, after a confirmation
    one = as_json(live, "dlq", "replay", letters[0]["id"])
    assert [r["id"] for r in one["replayed"]] == [letters[0]["id"]]
    declined = run(live, "dlq", "replay", "--user", user, stdin="n\n")
    assert declined.returncode == 1
    bulk = run(live, "dlq", "replay", "--user", user, stdin="y\n")
    assert bulk.returncode == 0, bulk.stderr
    assert "Replay 2 dead letter(s)?" in bulk.stderr and "replaying" in bulk.stderr
    with live.client() as client:
        after = client.get(
            "/api/dead-letters", params={"userId": user, "includeReplayed": "true"}
        ).json()
    assert all(d["replayJobId"] for d in after["deadLetters"])

    # Purge: refused without a filter, then the user's replayed letters
    assert run(live, "dlq", "purge", "--yes").returncode == 2
    purged = as_json(live, "dlq", "purge", "--user", user, "--yes")
    assert purged == {"purged": 3}
    assert as_json(live, "dlq", "list", "--user", user, "--include-replayed")["deadLetters"] == []


def test_exit_codes_mean_something(live: Live) -> None:
    missing = run(live, "jobs", "show", str(uuid.uuid4()))
    assert missing.returncode == 3 and "404" in missing.stderr
    wrong = run(live, "status", token="not-the-token")
    assert wrong.returncode == 4 and "401" in wrong.stderr and "not-the-token" not in wrong.stderr
    bad = run(live, "jobs", "list", "--status", "exploded")
    assert bad.returncode == 2
    no_token = run(live, "status", token="")
    assert no_token.returncode == 2 and "TRIBUTARY_API_TOKEN" in no_token.stderr
    env = {**os.environ, "TRIBUTARY_API_TOKEN": API_TOKEN}
    down = subprocess.run(
        [sys.executable, str(ROOT / "bin" / "tributary"), "--url", "http://127.0.0.1:9", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert down.returncode == 5 and "cannot reach the api" in down.stderr
