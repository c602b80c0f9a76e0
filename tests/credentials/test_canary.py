"""Canary: after refreshes, a revoked grant and provider errors run through real worker
processes, no secret — access or refresh token (old or new), OAuth client secret, the
encryption key — appears in logs, metrics, dead-letter payloads or api answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from tributary_common.credentials import store
from tributary_common.ledger import connections
from tributary_simulator.oauth import oauth_env

from tests.api.conftest import Api
from tests.e2e.stack import Stack
from tests.support.keys import local_box, local_keys
from tests.support.simulator import SimAdmin
from tools.localstack.run import DEMO_ACCOUNTS


def test_no_secret_leaves_through_logs_metrics_dead_letters_or_answers(
    stack: Stack, sim: SimAdmin, api: Api
) -> None:
    env = oauth_env(sim.url)
    stack.env_overrides.update({**env, "LOG_LEVEL": "DEBUG"})
    secrets = {v for k, v in env.items() if k.endswith("_CLIENT_SECRET")} | set(local_keys())
    made = []
    for provider in ("x", "github", "youtube"):
        tokens = sim.grant(provider, expiresIn=30, account=DEMO_ACCOUNTS[provider])
        secrets |= {tokens["access_token"], tokens["refresh_token"]}
        made.append(
            connections.create(
                stack.pool,
                box=local_box(),
                user_id="canary",
                provider=provider,
                account_id=DEMO_ACCOUNTS[provider],
                access_token=tokens["access_token"],
                refresh_token=tokens["refresh_token"],
                token_expires_at=datetime.now(UTC) + timedelta(seconds=30),
            )
        )
        if provider == "youtube":
            sim.revoke(provider, tokens["refresh_token"])
    stack.start_workers(processes=1, threads=2)
    jobs = [stack.enqueue(c["id"], sim.today).job["id"] for c in made]
    stack.wait_for(
        lambda: all(stack.job(j)["status"] in ("completed", "failed") for j in jobs), 60, "jobs"
    )
    stack.stop_workers()
    for conn in made:  # the refreshed tokens too
        credential = store.load(stack.pool, local_box(), conn["id"])
        secrets |= {credential.access_token, credential.refresh_token or ""} - {""}
    assert [stack.job(j)["status"] for j in jobs] == ["completed", "completed", "failed"]

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(stack.tmp / "metrics-0"))
    places = {
        "worker log": stack.worker_log(),
        "worker metrics": generate_latest(registry).decode(),
        "dead letters": str(stack.query("SELECT * FROM dead_letters")),
        "job errors": str(
            stack.query("SELECT error FROM sync_jobs UNION ALL SELECT error FROM sync_attempts")
        ),
        "api connections": api.get("/api/connections", params={"userId": "canary"}).text,
        "api dead letters": api.get("/api/dead-letters").text,
    }
    assert "credential.refreshed" in places["worker log"]
    assert "tributary_credential_refreshes_total" in places["worker metrics"]
    assert "token refresh rejected" in places["api connections"]
    for where, text in places.items():
        leaked = [s[:12] + "…" for s in secrets if s in text]
        assert not leaked, f"{where} holds {leaked}"
