"""Auth on every route, health, metrics, and the OpenAPI document matching the routes."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from tributary_api.auth import CRON, OPEN
from tributary_api.openapi import document
from tributary_api.routes import families, served

from .conftest import API_TOKEN, CRON_SECRET, Api, build_api

IDS = {
    "{connection_id}": str(uuid.uuid4()),
    "{job_id}": str(uuid.uuid4()),
    "{letter_id}": str(uuid.uuid4()),
    "{user_id}": "u1",
    "{endpoint_id}": str(uuid.uuid4()),
    "{delivery_id}": "msg_" + uuid.uuid4().hex,
}


def operations() -> list[tuple[str, str, str]]:
    found = []
    declared = families()
    for template, methods in document(declared)["paths"].items():
        path = template
        for name, value in IDS.items():
            path = path.replace(name, value)
        family = declared[template]
        found += [(method.upper(), path, family) for method in methods if family != OPEN]
    return found


@pytest.mark.parametrize(("method", "path", "family"), operations())
def test_every_protected_route_needs_its_own_secret(
    api: Api, method: str, path: str, family: str
) -> None:
    right, wrong = (CRON_SECRET, API_TOKEN) if family == CRON else (API_TOKEN, CRON_SECRET)
    for headers in (
        {},
        {"Authorization": f"Bearer {wrong}"},
        {"Authorization": f"Basic {right}"},
        {"Authorization": f"Bearer {right}x"},
        {"Authorization": "Bearer"},
    ):
        result = api.client.simulate_request(method, path, headers=headers)
        assert result.status_code == 401, (headers, result.json)
        assert result.json["error"] == "unauthorized" and right not in result.text
        assert result.headers["www-authenticate"].startswith("Bearer")
    authorised = api.client.simulate_request(
        method, path, headers={"Authorization": f"Bearer {right}"}
    )
    assert authorised.status_code != 401


def test_no_secret_configured_fails_closed(api: Api) -> None:
    settings = replace(api.deps.settings, api_token="", cron_secret="")
    bare = build_api(settings, api.pool, api.deps.redis)
    for path in ("/api/sync/status", "/api/cron/sync-all"):
        result = bare.client.simulate_post(path, headers={"Authorization": "Bearer "})
        assert result.status_code == 401 and result.json["error"] == "auth_not_configured"
    assert bare.client.simulate_get("/healthz").status_code == 200


def test_health_readiness_metrics(api: Api) -> None:
    assert api.client.simulate_get("/healthz").json == {"status": "ok"}
    ready = api.client.simulate_get("/readyz")
    assert ready.status_code == 200 and ready.json == {
        "ready": True,
        "checks": {"postgres": "ok", "redis": "ok"},
    }
    api.get("/api/sync/status")
    api.get("/nope")
    text = api.client.simulate_get("/metrics").text
    assert (
        'tributary_http_requests_total{method="GET",route="/api/sync/status",status_class="2xx"}'
        in text
    )
    assert 'route="unmatched"' in text and "tributary_http_request_duration_seconds_bucket" in text


def test_unknown_routes_and_methods_answer_json(api: Api) -> None:
    missing = api.get("/api/nothing-here")
    assert missing.status_code == 404 and missing.json["error"] == "not_found"
    wrong_method = api.call("PUT", "/api/sync/manual")
    assert wrong_method.status_code == 405 and wrong_method.json["error"] == "method_not_allowed"


def test_openapi_lists_exactly_the_routes(api: Api) -> None:
    doc = api.client.simulate_get("/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    # The operator console's HTML pages (/console) are not part of the JSON api.
    routes = {t: r for t, r in served(api.client.app) if not t.startswith("/console")}
    assert set(doc["paths"]) == set(routes)
    for template, methods in doc["paths"].items():
        declared = {m for m in methods}
        implemented = {
            m
            for m in ("get", "post", "patch", "delete", "put")
            if hasattr(routes[template], f"on_{m}")
        }
        assert declared == implemented, template
