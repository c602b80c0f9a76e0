"""schemathesis against `/openapi.json` on the live gunicorn: no 5xx, nothing off-schema."""

from __future__ import annotations

import json

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tributary_api.openapi import document
from tributary_api.routes import families

from .conftest import API_TOKEN, CRON_SECRET, Live

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


# The document the live server serves (asserted below), loaded at collection time so each
# operation is its own test.
schema = schemathesis.openapi.from_dict(document(families()))


@pytest.mark.e2e
def test_live_server_serves_this_document(live: Live) -> None:
    assert httpx.get(f"{live.url}/openapi.json").json() == json.loads(
        json.dumps(document(families()))
    )


@pytest.mark.e2e
@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case: schemathesis.Case, live: Live) -> None:
    # process-queue would call providers; keep every run small.
    if case.path == "/api/cron/process-queue" and isinstance(case.body, dict):
        case.body["limit"] = 1
    token = CRON_SECRET if case.path.startswith("/api/cron/") else API_TOKEN
    case.call_and_validate(
        base_url=live.url, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS, timeout=30
    )
