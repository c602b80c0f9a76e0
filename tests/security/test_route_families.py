"""Every route declares its secret family; one that does not is refused, not opened."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import falcon
import pytest
from tributary_api import routes
from tributary_api.app import create_app
from tributary_api.auth import build_guards

from tests.api.conftest import API_TOKEN, Api


class Sneaky:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"secret": "data"}


def test_every_served_route_declares_a_family_with_a_guard(api: Api) -> None:
    app = api.client.app
    assert routes.undeclared(app) == []
    served = {template for template, _ in routes.served(app)}
    assert served == set(routes.families())
    guards = build_guards(api.deps.settings)
    assert {route.family for route in routes.ROUTES} <= set(guards)


def test_a_bare_add_route_is_found_and_refused(api: Api) -> None:
    app = api.client.app
    app.add_route("/api/sneaky", Sneaky())
    app.add_route("/sneaky-open", Sneaky())
    assert routes.undeclared(app) == ["/api/sneaky", "/sneaky-open"]
    for path in ("/api/sneaky", "/sneaky-open", "//sneaky-open"):
        for token in ("", API_TOKEN):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            result = api.client.simulate_get(path, headers=headers)
            assert result.status_code == 401, (path, result.text)
            assert "secret" not in (result.json or {})


def test_sinks_and_static_routes_count_as_undeclared(api: Api, tmp_path: Any) -> None:
    app = api.client.app
    app.add_sink(lambda req, resp, **kw: None, "/sunk")
    app.add_static_route("/static", str(tmp_path))
    found = routes.undeclared(app)
    assert any(item.startswith("sink ") for item in found)
    assert any(item.startswith("static ") for item in found)


def test_a_family_without_a_guard_is_refused(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = routes.Route("/api/new-thing", "no-such-family", lambda d: Sneaky())
    monkeypatch.setattr(routes, "ROUTES", (*routes.ROUTES, extra))
    app = create_app(replace(api.deps))
    result = falcon.testing.TestClient(app).simulate_get(
        "/api/new-thing", headers={"Authorization": f"Bearer {API_TOKEN}"}
    )
    assert result.status_code == 401 and result.json["error"] == "unauthorized"


def test_create_app_refuses_an_undeclared_route(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    original = routes.add_routes

    def add_and_sneak(app: falcon.App, deps: Any) -> None:
        original(app, deps)
        app.add_route("/api/sneaky", Sneaky())

    monkeypatch.setattr(routes, "add_routes", add_and_sneak)
    with pytest.raises(RuntimeError, match="/api/sneaky"):
        create_app(api.deps)
