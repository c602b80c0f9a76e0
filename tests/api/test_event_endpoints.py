"""`/api/webhook-endpoints`: register (secret shown once), list, change, disable/enable,
deliveries and replay; `/api/webhook-deliveries`: provider deliveries received."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from tributary_common.db import transaction
from tributary_common.event_sender import Sender
from tributary_common.ledger import jobs, outbox
from tributary_common.settings import EventSettings

from tests.support.receiver import Receiver, start_receiver

from .conftest import Api, build_api


@pytest.fixture
def events_api(api: Api) -> Api:
    settings = replace(api.deps.settings, events=EventSettings(allow_http=True))
    return build_api(settings, api.pool, api.deps.redis)


@pytest.fixture
def receiver():
    yield from start_receiver()


def register(api: Api, url: str, types: list[str] | None = None):
    return api.post(
        "/api/webhook-endpoints",
        json={"url": url, "eventTypes": types or ["sync.completed"], "description": "crm"},
    )


def complete_a_job(api: Api) -> uuid.UUID:
    conn = api.connect("u1", "github")
    job = jobs.enqueue(
        api.pool, connection_id=conn["id"], sync_date=datetime.now(UTC).date(), trigger="manual"
    ).job
    claimed = jobs.claim(api.pool, job["id"], owner="w", lease_seconds=10)
    assert claimed is not None
    # records are counted as their pages are saved (save_page), before the ending
    api.sql("UPDATE sync_jobs SET records_synced = 3 WHERE id = %s RETURNING id", job["id"])
    end = jobs.AttemptEnd("w", datetime.now(UTC), "completed", 3, 12)
    assert jobs.complete(api.pool, job["id"], end) is not None
    return uuid.UUID(str(job["id"]))


def test_register_shows_the_secret_once_and_validates(api: Api, events_api: Api) -> None:
    created = register(api, "https://crm.example/hooks")
    assert created.status_code == 201, created.json
    assert created.json["secret"].startswith("whsec_") and created.json["enabled"] is True
    endpoint_id = created.json["id"]
    listed = api.get("/api/webhook-endpoints").json["endpoints"]
    assert [e["id"] for e in listed] == [endpoint_id]
    assert (
        "secret" not in listed[0]
        and created.json["secret"] not in api.get(f"/api/webhook-endpoints/{endpoint_id}").text
    )
    # Plain http is refused unless allowed; unknown event types and fields are 400
    assert register(api, "http://crm.example/hooks").status_code == 400
    assert register(events_api, "http://crm.example/hooks").status_code == 201
    assert register(api, "https://x.example", ["sync.exploded"]).json["field"] == "eventTypes[0]"
    bad = api.post("/api/webhook-endpoints", json={"url": "https://x.example", "eventTypes": []})
    assert bad.status_code == 400
    assert api.get(f"/api/webhook-endpoints/{uuid.uuid4()}").status_code == 404
    assert api.delete(f"/api/webhook-endpoints/{endpoint_id}").status_code == 204
    assert api.get(f"/api/webhook-endpoints/{endpoint_id}").status_code == 404


def test_the_outbox_row_is_written_with_the_ending(events_api: Api) -> None:
    # Given an endpoint for sync.completed (and one for failures only)
    wanted = register(events_api, "http://127.0.0.1:9/a").json
    register(events_api, "http://127.0.0.1:9/b", ["sync.failed"])

    # When a job completes
    job_id = complete_a_job(events_api)

    # Then exactly one delivery, for the subscribed endpoint, is pending with the job's data
    (delivery,) = events_api.get(f"/api/webhook-endpoints/{wanted['id']}/deliveries").json[
        "deliveries"
    ]
    assert delivery["status"] == "pending" and delivery["eventType"] == "sync.completed"
    assert delivery["id"].startswith("msg_") and len(delivery["id"]) == 36
    assert delivery["payload"]["type"] == "sync.completed"
    assert delivery["payload"]["data"]["jobId"] == str(job_id)
    assert delivery["payload"]["data"]["recordsSynced"] == 3
    assert events_api.sql("SELECT count(*) AS n FROM webhook_outbox")[0]["n"] == 1


def test_an_ending_that_rolls_back_leaves_no_event(events_api: Api) -> None:
    register(events_api, "http://127.0.0.1:9/a", ["sync.failed", "sync.dead_lettered"])
    conn = events_api.connect("u1", "github")
    job = jobs.enqueue(
        events_api.pool,
        connection_id=conn["id"],
        sync_date=datetime.now(UTC).date(),
        trigger="manual",
    ).job
    with pytest.raises(RuntimeError), transaction(events_api.pool) as tx:
        outbox.failed_in(tx, job, "UNKNOWN", "boom", uuid.uuid4(), reauth=False)
        assert tx.execute("SELECT count(*) AS n FROM webhook_outbox").fetchone()["n"] == 2
        raise RuntimeError("the ending failed")
    assert events_api.sql("SELECT count(*) AS n FROM webhook_outbox")[0]["n"] == 0


def test_deliver_fail_disable_enable_and_replay(events_api: Api, receiver: Receiver) -> None:
    # Given an endpoint whose receiver refuses once, and a completed job
    created = register(events_api, receiver.url).json
    receiver.secret = created["secret"]
    receiver.script[:] = [500]
    complete_a_job(events_api)
    settings = EventSettings(allow_http=True, retry_schedule=(0,), disable_after_seconds=0)
    sender = Sender(events_api.pool, settings)

    # When the sender tries: the one failure disables it (disable after 0 s), with a reason
    assert sender.run_once() == 1
    endpoint = events_api.get(f"/api/webhook-endpoints/{created['id']}").json
    assert endpoint["enabled"] is False and "HTTP 500" in endpoint["disabledReason"]
    assert sender.run_once() == 0  # a disabled endpoint gets nothing

    # Then re-enabling sends the pending delivery, verified by the receiver
    enabled = events_api.patch(f"/api/webhook-endpoints/{created['id']}", json={"enabled": True})
    assert enabled.json["enabled"] is True and enabled.json["disabledReason"] is None
    assert sender.run_once() == 1
    deliveries = events_api.get(f"/api/webhook-endpoints/{created['id']}/deliveries").json
    (delivery,) = deliveries["deliveries"]
    assert delivery["status"] == "delivered" and delivery["attempts"] == 2
    assert [r.answered for r in receiver.received] == [500, 200]
    assert receiver.received[-1].verified

    # And a replay sends it again with the same webhook-id
    path = f"/api/webhook-endpoints/{created['id']}/deliveries/{delivery['id']}/replay"
    replayed = events_api.post(path)
    assert replayed.status_code == 202 and replayed.json["status"] == "pending"
    assert sender.run_once() == 1
    assert [r.webhook_id for r in receiver.received] == [delivery["id"]] * 3
    assert events_api.post(path.replace(delivery["id"], "msg_" + "0" * 32)).status_code == 404


def test_inbound_deliveries_are_listed(api: Api) -> None:
    api.sql(
        "INSERT INTO webhook_deliveries (provider, delivery_id, event, outcome)"
        " VALUES ('github', 'd1', 'push', 'unmatched'), ('meta', 'sha256:x', 'page', 'ignored')"
    )
    page = api.get("/api/webhook-deliveries", params={"provider": "github"}).json
    assert [d["deliveryId"] for d in page["deliveries"]] == ["d1"] and page["nextBefore"] is None
    assert api.get("/api/webhook-deliveries", params={"provider": "x"}).status_code == 400
