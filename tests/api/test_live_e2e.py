"""End to end through a real gunicorn (2 workers) on real PostgreSQL and Redis."""

from __future__ import annotations

import uuid

import httpx
import pytest
from tributary_common.categories import ErrorCategory

from tests.support.simulator import SimAdmin

from .conftest import API_TOKEN, CRON_SECRET, Live

pytestmark = pytest.mark.e2e


def user() -> str:
    return f"e2e-{uuid.uuid4().hex[:8]}"


def connect(client: httpx.Client, user_id: str, provider: str = "github", **kw: object) -> dict:  # type: ignore[type-arg]
    body = {
        "userId": user_id,
        "provider": provider,
        "accountId": "octocat",
        "accessToken": "t0k",
        **kw,
    }
    response = client.post("/api/connections", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_auth_health_and_errors_over_http(live: Live) -> None:
    assert httpx.get(f"{live.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{live.url}/readyz").json()["ready"] is True
    anonymous = httpx.get(f"{live.url}/api/sync/status")
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "unauthorized"
    cron_with_api_token = httpx.post(
        f"{live.url}/api/cron/sync-all", headers={"Authorization": f"Bearer {API_TOKEN}"}
    )
    assert cron_with_api_token.status_code == 401
    with live.client() as client:
        malformed = client.post(
            "/api/sync/manual", content=b"{", headers={"Content-Type": "application/json"}
        )
        assert malformed.status_code == 400 and malformed.json()["error"] == "malformed_json"
        huge = client.post(
            "/api/sync/manual",
            content=b"x" * 2_000_000,
            headers={"Content-Type": "application/json"},
        )
        assert huge.status_code == 413
        assert client.get(f"/api/sync/jobs/{uuid.uuid4()}").status_code == 404


def test_manual_dedup_position_and_process_queue(live: Live, sim: SimAdmin) -> None:
    with live.client() as client, live.client(CRON_SECRET) as cron:
        # Given two users with GitHub connections, each asking for a manual sync twice
        users = [user(), user()]
        for u in users:
            connect(client, u)
        accepted = [
            client.post("/api/sync/manual", json={"userId": u, "provider": "github"}).json()
            for u in users * 2
        ]
        assert [a["deduplicated"] for a in accepted] == [False, False, True, True]
        assert accepted[0]["jobId"] == accepted[2]["jobId"]
        positions = [
            client.get("/api/sync/status", params={"userId": u, "provider": "github"}).json()[
                "queue"
            ]["queuePosition"]
            for u in users
        ]
        assert positions[0] < positions[1]

        # When process-queue runs with no worker until both are done
        done: set[str] = set()
        for _ in range(10):
            results = cron.post("/api/cron/process-queue", json={"limit": 5}).json()["results"]
            done |= {r["jobId"] for r in results if r["outcome"] == "completed"}
            if {a["jobId"] for a in accepted} <= done:
                break
        # Then both jobs completed and the user's status shows it
        assert {a["jobId"] for a in accepted} <= done
        status = client.get(
            "/api/sync/status", params={"userId": users[0], "provider": "github"}
        ).json()
        assert status["connection"]["lastSyncedAt"] is not None
        assert status["recentSyncs"][0]["status"] == "completed"
        # And another user's status never shows this job
        other = client.get(f"/api/sync/jobs/{accepted[0]['jobId']}", params={"userId": users[1]})
        assert other.status_code == 404


def test_dead_letter_replay_completes_and_privacy_holds(live: Live, sim: SimAdmin) -> None:
    with live.client() as client, live.client(CRON_SECRET) as cron:
        u = user()
        connect(client, u, private=True)
        job_id = client.post("/api/sync/manual", json={"userId": u, "provider": "github"}).json()[
            "jobId"
        ]
        sim.fault("github", "bad_request", count=None)
        for _ in range(10):
            cron.post("/api/cron/process-queue", json={"limit": 5})
            if client.get(f"/api/sync/jobs/{job_id}").json()["job"]["status"] == "failed":
                break
        sim.clear_faults()
        letters = client.get("/api/dead-letters", params={"userId": u}).json()["deadLetters"]
        assert [d["category"] for d in letters] == [ErrorCategory.VALIDATION_ERROR.value]
        replayed = client.post("/api/dead-letters/replay", json={"filter": {"userId": u}}).json()[
            "replayed"
        ]
        new_job = replayed[0]["jobId"]
        for _ in range(10):
            cron.post("/api/cron/process-queue", json={"limit": 5})
            if client.get(f"/api/sync/jobs/{new_job}").json()["job"]["status"] == "completed":
                break
        assert client.get(f"/api/sync/jobs/{new_job}").json()["job"]["status"] == "completed"

        # The private platform's activity shows only in the full view
        everything = client.get(f"/api/users/{u}/activities", params={"visibility": "all"}).json()
        public = client.get(f"/api/users/{u}/activities").json()
        assert public["days"] == [] and public["hiddenPlatforms"] == ["github"]
        assert everything["hiddenPlatforms"] == []


def test_cron_and_metrics_over_http(live: Live) -> None:
    with live.client(CRON_SECRET) as cron:
        assert set(cron.post("/api/cron/sync-all").json()) == {
            "enqueued",
            "skipped",
            "dispatched",
            "leftForReconcile",
        }
        hourly = cron.get("/api/cron/sync-hourly").json()
        assert set(hourly["stats"]) == {"connections", "syncs24h", "queue"}
    text = httpx.get(f"{live.url}/metrics").text
    assert (
        'tributary_http_requests_total{method="POST",route="/api/cron/sync-all",status_class="2xx"}'
        in text
    )
