"""`/api/sync/*`: manual enqueue, dedup, queue position, status, statistics, jobs."""

from __future__ import annotations

import uuid
from datetime import date

import redis
from psycopg_pool import ConnectionPool
from tributary_common.ledger import jobs

from .conftest import Api, build_api, today


def manual(api: Api, user: str = "u1", provider: str = "github", **kw: object):
    return api.post("/api/sync/manual", json={"userId": user, "provider": provider, **kw})


def test_manual_records_sends_and_deduplicates(api: Api, namespace: str) -> None:
    # Given a user with a GitHub connection
    api.connect("u1")

    # When a manual sync is requested twice
    first = manual(api, campaignIds=["c1"])
    second = manual(api)

    # Then one job was created, sent once on the manual band, and the second call got it back
    assert first.status_code == 202 and second.status_code == 202
    assert first.json["deduplicated"] is False and second.json["deduplicated"] is True
    assert first.json["jobId"] == second.json["jobId"]
    assert first.json["status"] == "pending" and first.json["queuePosition"] == 0
    job = jobs.get(api.pool, uuid.UUID(first.json["jobId"]))
    assert job["trigger"] == "manual" and job["options"] == {"campaignIds": ["c1"]}
    assert job["sync_date"] == date.fromisoformat(today())
    assert api.deps.redis.llen(f"{namespace}:sync.manual") == 1


def test_manual_raises_a_pending_scheduled_job(api: Api, namespace: str) -> None:
    # Given a pending scheduled job for today
    row = api.connect("u1")
    scheduled = jobs.enqueue(
        api.pool,
        connection_id=row["id"],
        sync_date=date.fromisoformat(today()),
        trigger="scheduled",
    )

    # When the user asks for a manual sync of the same day
    result = manual(api)

    # Then the scheduled job is moved to the manual band instead of being duplicated
    assert result.json["jobId"] == str(scheduled.job["id"]) and result.json["deduplicated"] is True
    assert result.json["queue"] == "sync.manual"
    assert api.deps.redis.llen(f"{namespace}:sync.manual") == 1


def test_manual_errors(api: Api) -> None:
    missing = manual(api, "nobody")
    assert missing.status_code == 404 and "github" in missing.json["message"]
    row = api.connect("u1")
    api.sql("UPDATE connections SET status = 'needs_reauth' WHERE id = %s", row["id"])
    reauth = manual(api)
    assert reauth.status_code == 409 and "re-authorisation" in reauth.json["message"]
    api.sql("UPDATE connections SET status = 'paused' WHERE id = %s", row["id"])
    assert manual(api).status_code == 409
    for bad in (
        {"syncDate": "2024-13-01"},
        {"syncDate": "20240101"},
        {"syncDate": "2999-01-01"},
        {"campaignIds": "c1"},
        {"provider": "orkut"},
        {"extra": True},
    ):
        result = manual(api, **bad)
        assert result.status_code == 400, bad
        assert result.json["field"] in {"syncDate", "campaignIds", "provider", "extra"}


def test_queue_position_follows_band_then_age(api: Api) -> None:
    # Given pending jobs on the retry, scheduled and manual bands, oldest first
    day = date.fromisoformat(today())
    retry_job = jobs.enqueue(
        api.pool, connection_id=api.connect("r")["id"], sync_date=day, trigger="retry"
    ).job
    api.sql(
        "UPDATE sync_jobs SET priority = 10, queue = 'sync.retry' WHERE id = %s", retry_job["id"]
    )
    scheduled = [
        jobs.enqueue(
            api.pool, connection_id=api.connect(f"s{i}")["id"], sync_date=day, trigger="scheduled"
        ).job
        for i in range(2)
    ]
    api.connect("m1")
    api.connect("m2")

    # When two users ask for manual syncs
    m1 = manual(api, "m1").json
    m2 = manual(api, "m2").json

    # Then the manual ones go first (in age order), then scheduled, then retry
    assert (m1["queuePosition"], m2["queuePosition"]) == (0, 1)
    status = {
        u: api.get("/api/sync/status", params={"userId": u, "provider": "github"}).json
        for u in ("m1", "m2", "s0", "s1", "r")
    }
    assert [status[u]["queue"]["queuePosition"] for u in ("m1", "m2", "s0", "s1", "r")] == [
        0,
        1,
        2,
        3,
        4,
    ]
    assert status["s1"]["queue"] | {"queuePosition": None} == {
        "isActive": True,
        "queuePosition": None,
        "dueAt": None,
        "jobId": str(scheduled[1]["id"]),
        "waiting": 5,
        "active": 0,
    }
    # And a job that starts running is at position 0
    api.sql("UPDATE sync_jobs SET status = 'processing' WHERE id = %s", retry_job["id"])
    assert (
        api.get("/api/sync/status", params={"userId": "r", "provider": "github"}).json["queue"][
            "queuePosition"
        ]
        == 0
    )


def test_user_status_lists_recent_syncs_of_that_user_only(api: Api) -> None:
    api.connect("u1")
    api.connect("u2")
    mine = manual(api, "u1").json["jobId"]
    manual(api, "u2")
    body = api.get("/api/sync/status", params={"userId": "u1", "provider": "github"}).json
    assert body["provider"] == "github"
    assert body["connection"] == {"status": "active", "lastSyncedAt": None}
    assert [s["jobId"] for s in body["recentSyncs"]] == [mine]
    missing = api.get("/api/sync/status", params={"userId": "u1", "provider": "youtube"})
    assert missing.status_code == 404
    assert api.get("/api/sync/status", params={"userId": "u1"}).status_code == 400


def test_queue_statistics(api: Api) -> None:
    api.connect("u1")
    manual(api, "u1")
    body = api.get("/api/sync/status").json
    assert body["bands"]["manual"] == {"waiting": 1, "delayed": 0}
    assert body["jobsByStatus"]["pending"] == 1
    assert body["pendingByBand"]["manual"]["pending"] == 1
    assert body["deadLetters"] == {"total": 0, "byProvider": {}}
    assert body["oldestPendingSeconds"] >= 0 and body["redis"] == "ok"
    assert "github" in body["limits"]


def test_job_detail_is_scoped_to_its_user(api: Api) -> None:
    api.connect("u1")
    job_id = manual(api, "u1").json["jobId"]
    body = api.get(f"/api/sync/jobs/{job_id}").json
    assert body["job"]["id"] == job_id and body["job"]["userId"] == "u1" and body["attempts"] == []
    assert api.get(f"/api/sync/jobs/{job_id}", params={"userId": "u1"}).status_code == 200
    other = api.get(f"/api/sync/jobs/{job_id}", params={"userId": "u2"})
    assert other.status_code == 404 and "u1" not in other.text
    assert api.get(f"/api/sync/jobs/{uuid.uuid4()}").status_code == 404
    assert api.get("/api/sync/jobs/42").status_code == 404


def test_redis_down_still_records_the_manual_job(api: Api, dead_redis: redis.Redis) -> None:
    # Given an app whose Redis is unreachable
    down = build_api(api.deps.settings, api.pool, dead_redis)
    api.connect("u1")

    # When a manual sync is requested, it is accepted and in the ledger, not yet sent
    result = manual(down, "u1")
    assert result.status_code == 202 and result.json["dispatched"] is False
    assert jobs.get(api.pool, uuid.UUID(result.json["jobId"]))["status"] == "pending"
    # And statistics still answer from the ledger
    stats = down.get("/api/sync/status").json
    assert stats["bands"] is None and stats["redis"].startswith("unavailable")
    assert down.get("/readyz").status_code == 503


def test_postgres_down_is_503(api: Api) -> None:
    # Given an app whose PostgreSQL is unreachable
    dead = ConnectionPool(
        "postgresql://postgres@127.0.0.1:1/none", min_size=0, max_size=1, timeout=0.5, open=True
    )
    down = build_api(api.deps.settings, dead, api.deps.redis)
    try:
        result = manual(down, "u1")
        assert result.status_code == 503 and result.json["error"] == "database_unavailable"
        assert down.get("/api/sync/status").status_code == 503
        ready = down.get("/readyz")
        assert ready.status_code == 503 and ready.json["checks"]["redis"] == "ok"
        assert down.get("/healthz").status_code == 200
    finally:
        dead.close()
