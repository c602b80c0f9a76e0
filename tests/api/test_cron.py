"""`/api/cron/*`: sync-all, sync-hourly's health document, process-queue with no worker."""

from __future__ import annotations

import uuid

from tributary_common.ledger import jobs, schedule_runs

from tests.support.simulator import SimAdmin

from .conftest import Api, build_api


def test_sync_all_enqueues_every_active_connection_once(api: Api, namespace: str) -> None:
    # Given two active connections and a paused one
    api.connect("u1")
    api.connect("u2")
    paused = api.connect("u3")
    api.sql("UPDATE connections SET status = 'paused' WHERE id = %s", paused["id"])

    # When sync-all runs twice
    first = api.cron("/api/cron/sync-all")
    second = api.cron("/api/cron/sync-all")

    # Then each active connection got one scheduled job, the second run skipped them
    assert first.status_code == 200 and first.json == {
        "enqueued": 2,
        "skipped": 0,
        "dispatched": 2,
        "leftForReconcile": 0,
    }
    assert second.json == {
        "enqueued": 0,
        "skipped": 2,
        "dispatched": 0,
        "leftForReconcile": 0,
    }
    assert api.deps.redis.llen(f"{namespace}:sync.scheduled") == 2
    runs = {r["command"]: r for r in schedule_runs.all_runs(api.pool)}
    assert runs["enqueue-due"]["runs"] == 2 and runs["enqueue-due"]["last_ok"] is True


def test_sync_hourly_answers_the_health_document(api: Api) -> None:
    # Given one due connection and a day of finished syncs: 3 completed, 1 failed
    due = api.connect("u1")
    api.sql(
        "UPDATE connections SET next_due_at = now() - interval '1 minute' WHERE id = %s", due["id"]
    )
    other = api.connect("u2")
    for i, status in enumerate(["completed"] * 3 + ["failed"]):
        job = jobs.enqueue(
            api.pool, connection_id=other["id"], sync_date=f"2024-01-0{i + 1}", trigger="scheduled"
        ).job
        api.sql(
            "UPDATE sync_jobs SET status = %s, completed_at = now() WHERE id = %s",
            status,
            job["id"],
        )

    for method in ("GET", "POST"):
        result = api.cron("/api/cron/sync-hourly", method)
        assert result.status_code == 200, result.json
    body = api.cron("/api/cron/sync-hourly", "GET").json
    assert body["stats"]["connections"] == {"total": 2, "active": 2}
    assert body["stats"]["syncs24h"] == {
        "total": 4,
        "failed": 1,
        "successRate": "75.0%",
        "successRatePercent": 75.0,
    }
    assert body["stats"]["queue"] == {"waiting": 1, "active": 0, "completed": 3}
    assert body["healthy"] is False  # 75 % is below the 80 % bar
    runs = {r["command"] for r in schedule_runs.all_runs(api.pool)}
    assert runs == {"enqueue-due", "cleanup"}


def test_process_queue_runs_jobs_with_no_worker(sim_api: Api, sim: SimAdmin) -> None:
    # Given two manual syncs and a scheduled one waiting, no worker running
    for user in ("a", "b", "c"):
        sim_api.connect(user, account_id="octocat")
    ids = [
        sim_api.post("/api/sync/manual", json={"userId": u, "provider": "github"}).json["jobId"]
        for u in ("a", "b", "c")
    ]

    # When process-queue runs two of them
    result = sim_api.cron("/api/cron/process-queue", json={"limit": 2})

    # Then the two oldest ran to completion inside the request; the third still waits
    assert result.status_code == 200, result.json
    assert [r["jobId"] for r in result.json["results"]] == ids[:2]
    assert [r["outcome"] for r in result.json["results"]] == ["completed", "completed"]
    assert [jobs.get(sim_api.pool, uuid.UUID(i))["status"] for i in ids] == [
        "completed",
        "completed",
        "pending",
    ]
    assert sim.requests("github")
    # And the job's attempts are readable
    detail = sim_api.get(f"/api/sync/jobs/{ids[0]}").json
    assert detail["attempts"][0]["outcome"] == "completed"


def test_process_queue_validates_and_needs_connectors(api: Api) -> None:
    assert api.cron("/api/cron/process-queue", json={"limit": 0}).status_code == 400
    assert api.cron("/api/cron/process-queue", json={"limit": "5"}).status_code == 400
    assert api.cron("/api/cron/process-queue", json={"max": 5}).status_code == 400
    assert api.cron("/api/cron/process-queue").json == {"processed": 0, "results": []}
    bare = build_api(api.deps.settings, api.pool, api.deps.redis, registry=None)
    result = bare.cron("/api/cron/process-queue", json={"limit": 1})
    assert result.status_code == 503 and result.json["error"] == "no_connectors"
