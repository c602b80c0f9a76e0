"""Provider webhooks through the whole pipeline: the simulator delivers to a real gunicorn
api, real workers run the one debounced sync."""

from __future__ import annotations

import httpx

from tests.e2e.stack import Stack
from tests.support.simulator import SimAdmin

SECRET = "e2e-github-webhook-secret"


def test_fifty_deliveries_in_two_seconds_run_one_sync(stack: Stack, sim: SimAdmin) -> None:
    # Given a GitHub connection, workers, and an api with the webhook secret and a 10 s
    # debounce (the burst below is paced over 2 s; on a loaded machine it may take longer,
    # and the property holds as long as it fits in the window)
    row = stack.connect("github", "octocat")
    stack.start_workers(processes=1, threads=2)
    api = stack.start_api(
        TRIBUTARY_WEBHOOK_GITHUB_SECRET=SECRET, TRIBUTARY_WEBHOOK_DEBOUNCE_SECONDS="10"
    )

    # When "GitHub" (the simulator) sends 50 signed push deliveries within 2 s
    sent = sim.http.post(
        "/webhooks/send",
        json={
            "url": f"{api}/webhooks/github",
            "provider": "github",
            "secret": SECRET,
            "account": "octocat",
            "count": 50,
            "intervalSeconds": 0.038,
        },
        timeout=60,
    ).json()
    assert [a["status"] for a in sent["answers"]] == [200] * 50
    assert len({a["deliveryId"] for a in sent["answers"]}) == 50
    assert sent["elapsedSeconds"] < 10, f"the burst took {sent['elapsedSeconds']:.1f} s"

    # Then exactly one sync of that connection runs and completes
    stack.wait_for(
        lambda: (
            stack.query(
                "SELECT count(*) AS n FROM sync_jobs WHERE connection_id = %s AND status = 'completed'",
                row["id"],
            )[0]["n"]
            == 1
        ),
        timeout=60,
        what="the webhook sync to complete",
    )
    # Every delivery was answered before the sync was claimed: no second sync can follow
    jobs = stack.query(
        "SELECT trigger, queue, status FROM sync_jobs WHERE connection_id = %s", row["id"]
    )
    assert jobs == [{"trigger": "webhook", "queue": "sync.webhook", "status": "completed"}]
    assert stack.query("SELECT count(*) AS n FROM webhook_deliveries")[0]["n"] == 50

    # And a tampered delivery is refused at the real server
    body = b'{"zen":"x"}'
    bad = httpx.post(
        f"{api}/webhooks/github",
        content=body,
        headers={
            "X-GitHub-Event": "ping",
            "X-GitHub-Delivery": "d-1",
            "X-Hub-Signature-256": "sha256=" + "0" * 64,
        },
    )
    assert bad.status_code == 401


def test_websub_renew_subscribes_and_the_hub_verifies_then_delivers(
    stack: Stack, sim: SimAdmin
) -> None:
    # Given a YouTube connection and an api with the WebSub secret
    row = stack.connect("youtube", "UCwebsubchannel000000001")
    stack.start_workers(processes=1, threads=2)
    api = stack.start_api(
        TRIBUTARY_WEBHOOK_YOUTUBE_SECRET="hub-secret", TRIBUTARY_WEBHOOK_DEBOUNCE_SECONDS="0"
    )
    stack.env_overrides.update(
        TRIBUTARY_WEBHOOK_YOUTUBE_SECRET="hub-secret",
        TRIBUTARY_WEBSUB_CALLBACK_URL=f"{api}/webhooks/youtube",
        TRIBUTARY_WEBSUB_HUB_URL=f"{sim.url}/_hub/websub",
        TRIBUTARY_WEBSUB_LEASE_SECONDS="3600",
    )

    # When the hub refuses (503, as Google's did for days), then accepts
    sim.http.put("/websub", json={"refuseStatus": 503}).raise_for_status()
    refused = stack.scheduler("websub-renew")
    assert refused.returncode == 0, refused.stderr
    assert '"failed": 1' in refused.stdout
    stack.query(
        "UPDATE websub_subscriptions SET requested_at = now() - interval '1 hour' RETURNING 1"
    )
    sim.http.put("/websub", json={"refuseStatus": None}).raise_for_status()
    renewed = stack.scheduler("websub-renew")
    assert '"accepted": 1' in renewed.stdout, renewed.stdout + renewed.stderr

    # Then the hub's verification GET reached the api and set a lease of an hour
    def verified() -> bool:
        subs = sim.http.get("/websub").json()["subscriptions"]
        return bool(subs) and subs[0]["verified"]

    stack.wait_for(verified, timeout=20, what="the hub to verify the subscription")
    (sub,) = stack.query(
        "SELECT extract(epoch FROM lease_expires_at - now()) AS left FROM websub_subscriptions"
    )
    assert 3500 < float(sub["left"]) <= 3600
    # A lease an hour out is within the renewal margin (1 day): renewed again, but not yet
    # (it was just asked for); with the margin at 0 nothing is due.
    stack.env_overrides["TRIBUTARY_WEBSUB_RENEW_BEFORE_SECONDS"] = "0"
    assert '"due": 0' in stack.scheduler("websub-renew").stdout

    # And a signed notification from the hub runs a sync of that channel
    statuses = sim.http.post("/websub/publish", json={"channelId": row["account_id"]}).json()
    assert statuses["statuses"] == [200]
    stack.wait_for(
        lambda: (
            stack.query(
                "SELECT count(*) AS n FROM sync_jobs WHERE connection_id = %s AND status = 'completed'"
                " AND trigger = 'webhook'",
                row["id"],
            )[0]["n"]
            == 1
        ),
        timeout=60,
        what="the WebSub-triggered sync",
    )
