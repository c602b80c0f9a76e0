"""The simulator as tests use it: one server per session, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest
from tributary_simulator import SimulatorServer


class SimAdmin:
    """Thin client of the simulator's ``/_admin/`` API."""

    def __init__(self, server: SimulatorServer) -> None:
        self.server = server
        self.url = server.url
        self.http = httpx.Client(base_url=f"{server.url}/_admin", timeout=5)

    @property
    def today(self) -> date:
        """The simulated "today" (UTC) that the data modules are anchored to."""
        return self.server.state.today

    def base_url(self, provider: str) -> str:
        return f"{self.url}/{provider}"

    def reset(self) -> None:
        self.http.post("/reset").raise_for_status()

    def set_limit(
        self, provider: str, requests: int, window_seconds: float, scope: str = "account"
    ) -> None:
        body = {"requests": requests, "windowSeconds": window_seconds, "scope": scope}
        self.http.put(f"/limits/{provider}", json=body).raise_for_status()

    def clear_limit(self, provider: str) -> None:
        self.http.delete(f"/limits/{provider}").raise_for_status()

    def fault(self, provider: str, kind: str, **options: Any) -> dict[str, Any]:
        response = self.http.post("/faults", json={"provider": provider, "kind": kind, **options})
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def clear_faults(self) -> None:
        self.http.delete("/faults").raise_for_status()

    def requests(self, provider: str | None = None, account: str | None = None) -> list[Any]:
        params = {k: v for k, v in {"provider": provider, "account": account}.items() if v}
        result: list[Any] = self.http.get("/requests", params=params).json()["requests"]
        return result

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self.http.get("/stats").json()["providers"]
        return result

    # OAuth (tributary_simulator.oauth) ------------------------------------------------

    def grant(self, provider: str, **payload: Any) -> dict[str, Any]:
        """Seed a grant as if its user had consented; returns the token response."""
        answer = self.http.post(f"/oauth/{provider}/grants", json=payload)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    def oauth(self, provider: str, **behaviour: Any) -> dict[str, Any]:
        """Set the token endpoint's behaviour (accessTtlSeconds, delaySeconds, failStatus…)."""
        answer = self.http.put(f"/oauth/{provider}", json=behaviour)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    def revoke(self, provider: str, token: str) -> None:
        self.http.post(f"/oauth/{provider}/revoke", json={"token": token}).raise_for_status()

    def expire(self, provider: str, token: str) -> None:
        self.http.post(f"/oauth/{provider}/expire", json={"token": token}).raise_for_status()

    def oauth_counters(self, provider: str) -> dict[str, int]:
        result: dict[str, int] = self.http.get("/oauth").json()["providers"][provider]["counters"]
        return result


@pytest.fixture(scope="session")
def simulator_server() -> Iterator[SimulatorServer]:
    server = SimulatorServer("127.0.0.1", 0).start()
    yield server
    server.stop()


@pytest.fixture
def sim(simulator_server: SimulatorServer) -> Iterator[SimAdmin]:
    """The shared simulator, reset (no faults, default limits, empty log) for this test."""
    admin = SimAdmin(simulator_server)
    admin.reset()
    yield admin
    admin.http.close()
