"""`/api/dead-letters`: list and page, replay (ids and filter) into jobs that complete, purge."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from tributary_common.categories import ErrorCategory
from tributary_common.db import open_pool
from tributary_common.errors import LedgerUnavailable
from tributary_common.ledger import deadletters, jobs

from tests.support.simulator import SimAdmin

from .conftest import Api


def dead_letter(
    api: Api,
    user: str,
    *,
    provider: str = "github",
    category: str = "UNKNOWN",
    day: str = "2024-01-01",
) -> dict[str, Any]:
    """Fail a job the way the runner does and return its dead letter row."""
    row = api.connect(user, provider)
    job = jobs.enqueue(
        api.pool, connection_id=row["id"], sync_date=date.fromisoformat(day), trigger="scheduled"
    ).job
    end = jobs.AttemptEnd(
        owner="t",
        started_at=job["created_at"],
        outcome="failed",
        records=0,
        duration_ms=1,
        category=category,
        error="boom",
    )
    jobs.fail(api.pool, job["id"], end, owner=None)
    return api.sql("SELECT * FROM dead_letters WHERE job_id = %s", job["id"])[0]


def test_failed_job_is_dead_lettered_then_replayed_to_completion(
    sim_api: Api, sim: SimAdmin
) -> None:
    # Given a manual sync that the provider refuses as a bad request (not retried)
    sim_api.connect("u1", account_id="octocat")
    job_id = sim_api.post("/api/sync/manual", json={"userId": "u1", "provider": "github"}).json[
        "jobId"
    ]
    sim.fault("github", "bad_request", count=1)
    run = sim_api.cron("/api/cron/process-queue", json={"limit": 1}).json["results"][0]
    assert run["outcome"] == "failed" and run["category"] == ErrorCategory.VALIDATION_ERROR.value

    # Then it is listed as a dead letter
    letters = sim_api.get("/api/dead-letters", params={"provider": "github"}).json["deadLetters"]
    assert [d["jobId"] for d in letters] == [job_id]
    letter = letters[0]
    assert letter["category"] == "VALIDATION_ERROR" and letter["payload"]["userId"] == "u1"

    # When it is replayed by id
    replay = sim_api.post("/api/dead-letters/replay", json={"ids": [letter["id"]]}).json
    new_job = replay["replayed"][0]["jobId"]
    assert new_job != job_id and replay["errors"] == []

    # Then a new retry-trigger job exists, the letter is marked, and the job completes
    assert jobs.get(sim_api.pool, uuid.UUID(new_job))["trigger"] == "retry"
    marked = sim_api.get(f"/api/dead-letters/{letter['id']}").json
    assert marked["replayJobId"] == new_job and marked["replayedAt"] is not None
    done = sim_api.cron("/api/cron/process-queue", json={"limit": 5}).json["results"]
    assert [(r["jobId"], r["outcome"]) for r in done] == [(new_job, "completed")]
    # And a second replay of the same letter does nothing
    again = sim_api.post("/api/dead-letters/replay", json={"ids": [letter["id"]]}).json
    assert again == {"replayed": [], "errors": []}
    assert sim_api.get("/api/dead-letters").json["deadLetters"] == []
    listed = sim_api.get("/api/dead-letters", params={"includeReplayed": "true"}).json
    assert len(listed["deadLetters"]) == 1


def test_replay_by_filter_in_bulk(api: Api, namespace: str) -> None:
    for i in range(3):
        dead_letter(api, f"net{i}", category="NETWORK_ERROR")
    dead_letter(api, "auth", category="API_ERROR")
    result = api.post(
        "/api/dead-letters/replay", json={"filter": {"category": "NETWORK_ERROR"}}
    ).json
    assert len(result["replayed"]) == 3 and all(r["dispatched"] for r in result["replayed"])
    assert api.deps.redis.llen(f"{namespace}:sync.scheduled") == 3
    left = api.get("/api/dead-letters").json["deadLetters"]
    assert [d["category"] for d in left] == ["API_ERROR"]


def test_list_pages_with_a_cursor_and_filters(api: Api) -> None:
    made = [dead_letter(api, f"u{i}", day=f"2024-01-0{i + 1}") for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = api.get("/api/dead-letters", params=params).json
        seen += [d["id"] for d in page["deadLetters"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(str(m["id"]) for m in made) and len(seen) == 5
    assert len(api.get("/api/dead-letters", params={"userId": "u1"}).json["deadLetters"]) == 1
    assert api.get("/api/dead-letters", params={"cursor": "!!"}).status_code == 400
    assert api.get("/api/dead-letters", params={"category": "NOPE"}).status_code == 400
    assert api.get("/api/dead-letters", params={"limit": "0"}).status_code == 400


def test_delete_and_purge(api: Api) -> None:
    one = dead_letter(api, "a")
    dead_letter(api, "b", provider="youtube")
    dead_letter(api, "c", provider="youtube")
    assert api.delete(f"/api/dead-letters/{one['id']}").status_code == 204
    assert api.delete(f"/api/dead-letters/{one['id']}").status_code == 404
    assert api.delete("/api/dead-letters").status_code == 400  # a purge needs a filter
    assert api.delete("/api/dead-letters", params={"provider": "youtube"}).json == {"purged": 2}
    assert (
        api.get("/api/dead-letters", params={"includeReplayed": "true"}).json["deadLetters"] == []
    )


def test_replay_input_errors(api: Api) -> None:
    assert api.post("/api/dead-letters/replay", json={}).status_code == 400
    assert api.post("/api/dead-letters/replay", json={"ids": ["nope"]}).status_code == 400
    assert (
        api.post(
            "/api/dead-letters/replay", json={"filter": {"provider": "x", "bad": 1}}
        ).status_code
        == 400
    )
    unknown = api.post("/api/dead-letters/replay", json={"ids": [str(uuid.uuid4())]})
    assert unknown.status_code == 200 and unknown.json == {"replayed": [], "errors": []}


def test_a_replay_that_fails_part_way_leaves_the_letter_as_it_was(
    api: Api, database_url: str
) -> None:
    letter = dead_letter(api, "atomic")
    # Given a session that gives up on any statement after 300 ms, and the jobs table
    # locked against inserts, so the replay fails after marking the letter
    impatient = open_pool(database_url, min_size=1, max_size=1)
    with impatient.connection() as conn:
        conn.execute("SET statement_timeout = 300")
    try:
        with api.pool.connection() as blocker, blocker.transaction():
            blocker.execute("LOCK TABLE sync_jobs IN EXCLUSIVE MODE")

            # When the letter is replayed
            with pytest.raises(LedgerUnavailable):
                deadletters.replay(impatient, letter["id"])

        # Then the letter is still waiting for a replay, with no job made for it
        after = api.sql(
            "SELECT replayed_at, replay_job_id FROM dead_letters WHERE id = %s", letter["id"]
        )
        assert after == [{"replayed_at": None, "replay_job_id": None}]
        # and a later replay goes through
        done = deadletters.replay(impatient, letter["id"])
        assert done is not None and done.letter["replay_job_id"] == done.enqueued.job["id"]
    finally:
        impatient.close()
