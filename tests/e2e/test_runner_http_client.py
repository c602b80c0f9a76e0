"""The runner keeps one HTTP client per thread and provider across jobs: each request still
carries its own connection's token, and no cookie set for one account reaches another."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from tributary_common.connectors import ConnectorRegistry, ProviderConfig, SyncContext
from tributary_common.credentials.factory import build_credentials
from tributary_common.errors import ProviderError
from tributary_common.lease import LeaseKeeper
from tributary_common.ratelimit import build_limiter
from tributary_common.runner import JobRunner, RunPolicy
from tributary_common.settings import Settings
from tributary_common.shutdown import StopSignal

from tests.e2e.stack import Stack


class _Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[dict[str, Any]] = []

    def do_GET(self) -> None:
        self.seen.append(
            {
                "authorization": self.headers.get("Authorization"),
                "cookie": self.headers.get("Cookie"),
                "peer_port": self.client_address[1],
            }
        )
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Set-Cookie", "session=first-account; Path=/")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


class _OneRequest:
    """A GitHub stand-in that sends one authenticated GET per job."""

    provider = "github"

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config

    @staticmethod
    def error_mapper(response: Any) -> ProviderError | None:
        return None

    @staticmethod
    def feedback(response: Any) -> None:
        return None

    def default_headers(self, connection: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {connection.access_token}"}

    def sync(self, ctx: SyncContext) -> None:
        ctx.http.request("GET", "/probe")


def test_jobs_share_a_client_but_not_tokens_or_cookies(
    stack: Stack, recorder: tuple[str, list[dict[str, Any]]]
) -> None:
    base_url, seen = recorder
    settings = Settings.from_env(stack.env)
    limiter = build_limiter(settings, stack.redis)
    runner = JobRunner(
        pool=stack.pool,
        dispatcher=stack.dispatcher,
        limiter=limiter,
        registry=ConnectorRegistry({"github": _OneRequest}),
        provider_configs={"github": ProviderConfig(base_url=base_url, timeout_seconds=5)},
        policy=RunPolicy(),
        owner=f"test-{uuid.uuid4().hex[:6]}",
        stop=StopSignal(5),
        leases=LeaseKeeper(stack.pool, limiter, owner="test", lease_seconds=10),
        credentials=build_credentials(
            settings, pool=stack.pool, client=stack.redis, limiter=limiter, owner="test"
        ),
    )
    first = stack.connect("github", "alice", access_token="token-alice")
    second = stack.connect("github", "bob", access_token="token-bob")

    for conn in (first, second):
        job = stack.enqueue(conn["id"], date.today(), send=False).job
        assert runner.run(job["id"]).outcome == "completed"

    assert [s["authorization"] for s in seen] == ["Bearer token-alice", "Bearer token-bob"]
    assert seen[1]["cookie"] is None, "a cookie from alice's response reached bob's request"
    assert seen[0]["peer_port"] == seen[1]["peer_port"], "the connection was not kept open"
