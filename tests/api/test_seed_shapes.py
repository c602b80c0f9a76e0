"""The seeds' own API shapes: provider aliases, sync-hourly's health document, the queue
statistics' troubleshooting fields and `POST /api/sync/manual` without a provider."""

from __future__ import annotations

import uuid
from typing import Any

from tributary_common.ledger import jobs

from .conftest import Api


def finished(api: Api, connection: dict[str, Any], statuses: list[str]) -> None:
    """One finished job per status (distinct sync dates), completed now."""
    for i, status in enumerate(statuses):
        job = jobs.enqueue(
            api.pool,
            connection_id=connection["id"],
            sync_date=f"2024-{1 + i // 28:02d}-{1 + i % 28:02d}",
            trigger="scheduled",
        ).job
        api.sql(
            "UPDATE sync_jobs SET status = %s, completed_at = now() WHERE id = %s",
            status,
            job["id"],
        )


def attempt(api: Api, job_id: Any, category: str | None, age: str = "1 minute") -> None:
    api.sql(
        "INSERT INTO sync_attempts (job_id, attempt, worker, started_at, finished_at, outcome,"
        " error_category) VALUES (%s, 1, 'w', now() - %s::interval, now() - %s::interval,"
        " %s, %s)",
        job_id,
        age,
        age,
        "retried" if category else "deferred",
        category,
    )


# Provider aliases -------------------------------------------------------------------


def test_seed_provider_names_are_accepted_and_answered_canonically(api: Api) -> None:
    # Given connections created under the seeds' names
    created = {
        alias: api.post(
            "/api/connections",
            json={"userId": "u1", "provider": alias, "accountId": alias, "accessToken": "t"},
        )
        for alias in ("meta", "google", "twitter")
    }

    # Then they were stored and answered under the canonical names
    assert {a: r.status_code for a, r in created.items()} == dict.fromkeys(created, 201)
    assert {a: r.json["provider"] for a, r in created.items()} == {
        "meta": "meta_ads",
        "google": "google_ads",
        "twitter": "x",
    }

    # And every route that takes a provider takes the alias too
    manual = api.post("/api/sync/manual", json={"userId": "u1", "provider": "meta"})
    assert manual.status_code == 202, manual.json
    job = jobs.get(api.pool, uuid.UUID(manual.json["jobId"]))
    assert job["platform"] == "meta_ads"
    status = api.get("/api/sync/status", params={"userId": "u1", "provider": "twitter"})
    assert status.status_code == 200 and status.json["provider"] == "x"
    letters = api.get("/api/dead-letters", params={"provider": "google"})
    assert letters.status_code == 200
    replay = api.post("/api/dead-letters/replay", json={"filter": {"provider": "meta"}})
    assert replay.status_code == 200 and replay.json["replayed"] == []

    # And a name that is neither is still refused
    bad = api.post("/api/sync/manual", json={"userId": "u1", "provider": "facebook"})
    assert bad.status_code == 400 and bad.json["field"] == "provider"


# sync-hourly's health document ------------------------------------------------------


def test_sync_hourly_success_rate_is_the_seeds_string(api: Api) -> None:
    # Given 49 completed and 1 failed sync in the last day
    finished(api, api.connect("u1"), ["completed"] * 49 + ["failed"])

    # When cron calls sync-hourly
    body = api.cron("/api/cron/sync-hourly", "GET").json

    # Then the rate is the seed's string, with the number beside it
    assert body["stats"]["syncs24h"] == {
        "total": 50,
        "failed": 1,
        "successRate": "98.0%",
        "successRatePercent": 98.0,
    }
    assert body["healthy"] is True


def test_sync_hourly_with_no_syncs_reports_a_full_rate(api: Api) -> None:
    body = api.cron("/api/cron/sync-hourly", "GET").json
    assert body["stats"]["syncs24h"]["successRate"] == "100.0%"
    assert body["stats"]["syncs24h"]["successRatePercent"] == 100.0


# Queue statistics: the seed's troubleshooting queries --------------------------------


def test_status_counts_error_categories_of_the_last_day(api: Api) -> None:
    # Given failed attempts in several categories, one older than a day, and a deferral
    row = api.connect("u1")
    job = jobs.enqueue(api.pool, connection_id=row["id"], sync_date="2024-01-01", trigger="manual")
    for category in ["NETWORK_ERROR", "NETWORK_ERROR", "API_ERROR", "RATE_LIMIT"]:
        attempt(api, job.job["id"], category)
    attempt(api, job.job["id"], "UNKNOWN", age="25 hours")
    attempt(api, job.job["id"], None)

    # When the queue statistics are read
    body = api.get("/api/sync/status").json

    # Then each category counts its failures of the last 24 h, every category present
    assert body["stats"]["errorCategories"] == {
        "RATE_LIMIT": 1,
        "NETWORK_ERROR": 2,
        "UNKNOWN": 0,
        "API_ERROR": 1,
        "VALIDATION_ERROR": 0,
    }


def test_status_counts_connections_by_status_per_provider(api: Api) -> None:
    # Given GitHub connections in each status and one Meta Ads connection
    api.connect("u1", "github")
    paused = api.connect("u2", "github")
    broken = api.connect("u3", "github")
    api.connect("u4", "meta_ads")
    api.sql("UPDATE connections SET status = 'paused' WHERE id = %s", paused["id"])
    api.sql("UPDATE connections SET status = 'needs_reauth' WHERE id = %s", broken["id"])

    # When the queue statistics are read
    providers = api.get("/api/sync/status").json["providers"]

    # Then every provider is listed with its connection counts
    by_name = {p["provider"]: p["connection"] for p in providers}
    assert list(by_name) == ["github", "youtube", "x", "instagram", "meta_ads", "google_ads"]
    assert by_name["github"] == {"total": 3, "active": 1, "paused": 1, "needs_reauth": 1}
    assert by_name["meta_ads"] == {"total": 1, "active": 1, "paused": 0, "needs_reauth": 0}
    assert by_name["youtube"] == {"total": 0, "active": 0, "paused": 0, "needs_reauth": 0}


# POST /api/sync/manual without a provider --------------------------------------------


def test_manual_without_provider_syncs_every_active_connection(api: Api, namespace: str) -> None:
    # Given a user with three active connections and a paused one, and another user
    mine = [api.connect("u1", p) for p in ("github", "youtube", "meta_ads")]
    paused = api.connect("u1", "x")
    api.sql("UPDATE connections SET status = 'paused' WHERE id = %s", paused["id"])
    api.connect("u2", "github")

    # When the user asks for a sync without naming a provider
    result = api.post("/api/sync/manual", json={"userId": "u1"})

    # Then one manual job per active connection was recorded and sent
    assert result.status_code == 202, result.json
    answered = result.json["jobs"]
    assert sorted(j["connectionId"] for j in answered) == sorted(str(c["id"]) for c in mine)
    assert sorted(j["provider"] for j in answered) == ["github", "meta_ads", "youtube"]
    for item in answered:
        job = jobs.get(api.pool, uuid.UUID(item["jobId"]))
        assert str(job["connection_id"]) == item["connectionId"]
        assert job["trigger"] == "manual" and item["queue"] == "sync.manual"
        assert item["deduplicated"] is False and item["dispatched"] is True
    assert api.deps.redis.llen(f"{namespace}:sync.manual") == 3

    # And asking again returns the same jobs, deduplicated
    again = api.post("/api/sync/manual", json={"userId": "u1"}).json["jobs"]
    assert {j["jobId"] for j in again} == {j["jobId"] for j in answered}
    assert all(j["deduplicated"] for j in again)


def test_manual_without_provider_needs_an_active_connection(api: Api) -> None:
    paused = api.connect("u1", "github")
    api.sql("UPDATE connections SET status = 'paused' WHERE id = %s", paused["id"])
    for user in ("u1", "nobody"):
        result = api.post("/api/sync/manual", json={"userId": user})
        assert result.status_code == 404 and result.json["error"] == "connection_not_found"
    api.connect("u1", "youtube")
    campaigns = api.post("/api/sync/manual", json={"userId": "u1", "campaignIds": ["c1"]})
    assert campaigns.status_code == 400 and campaigns.json["field"] == "campaignIds"
