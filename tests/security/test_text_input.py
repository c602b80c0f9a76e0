"""Untrusted text: patterns match whole (no final newline), control characters refused in
ids and tokens, a lone surrogate is a 400 on every route that reads a body."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from tributary_api.openapi import document
from tributary_api.routes import families

from tests.api.conftest import Api, Live

from .table import IDS, SECRETS, protected

BAD_TOKENS = ["abc\n", "abc\r\n", "\nabc", "ab c", "abc\t", "ab\x00c", "abc\x7f", "ab\u00e9"]
BAD_IDS = ["u1\n", "u1\r", "\nu1", "u\x00", "u\x1b[31m", "u\x7f", "u\u0085", "u\u009b"]


def _create(api: Api, **fields: Any) -> Any:
    body = {"userId": "u1", "provider": "github", "accountId": "a1", "accessToken": "tok"}
    return api.post("/api/connections", json=body | fields)


@pytest.mark.parametrize("token", BAD_TOKENS)
def test_tokens_with_control_or_non_visible_characters_are_refused(api: Api, token: str) -> None:
    created = _create(api, accessToken=token)
    assert created.status_code == 400, created.text
    assert created.json["field"] == "accessToken"
    ok = _create(api, accountId="a2", accessToken="visible!ASCII~token")
    assert ok.status_code == 201, ok.text
    patched = api.patch(
        f"/api/connections/{ok.json['id']}", params={"userId": "u1"}, json={"accessToken": token}
    )
    assert patched.status_code == 400 and patched.json["field"] == "accessToken"


@pytest.mark.parametrize("bad", BAD_IDS)
def test_ids_with_control_characters_are_refused_in_body_query_and_path(api: Api, bad: str) -> None:
    for field in ("userId", "accountId"):
        result = _create(api, **{field: bad})
        assert result.status_code == 400 and result.json["field"] == field, (field, result.text)
    listed = api.get("/api/connections", params={"userId": bad})
    assert listed.status_code == 400 and listed.json["field"] == "userId"
    path = api.get(f"/api/users/{bad}/activities")
    assert path.status_code == 400 and path.json["field"] == "userId"


def test_every_pattern_is_anchored() -> None:
    def patterns(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                yield node["pattern"]
            for value in node.values():
                yield from patterns(value)
        elif isinstance(node, list):
            for value in node:
                yield from patterns(value)

    found = list(patterns(document(families())))
    assert found
    assert [p for p in found if not (p.startswith("^") and p.endswith("$"))] == []


def body_operations() -> list[tuple[str, str, str]]:
    """(method, concrete path, secret) of every operation that takes a JSON body."""
    doc = document(families())["paths"]
    found = []
    for template, family, path in protected():
        # The console's HTML routes take forms, not JSON: they are not in the document.
        for method, operation in doc.get(template, {}).items():
            if "requestBody" in operation:
                found.append((method.upper(), path, SECRETS[family]))
    return found


SURROGATE_BODIES = [
    b'{"userId": "\\ud800"}',
    b'{"\\udfff": 1}',
    b'{"userId": "u1", "campaignIds": ["ok", "\\udc00x"]}',
    b'{"accessToken": "ab\\ud800"}',
]


@pytest.mark.parametrize(("method", "path", "secret"), body_operations())
def test_a_lone_surrogate_is_a_400_on_every_body_route(
    api: Api, method: str, path: str, secret: str
) -> None:
    real = api.connect()  # so routes that load their row first reach the body
    path = path.replace(IDS["{connection_id}"], str(real["id"]))
    for body in SURROGATE_BODIES:
        result = api.call(
            method, path, secret, body=body, headers={"Content-Type": "application/json"}
        )
        assert result.status_code == 400, (body, result.text)
        assert result.json["error"] == "invalid_text" and "surrogate" in result.json["message"]


def test_a_surrogate_pair_is_text(api: Api) -> None:
    body = json.dumps(
        {"userId": "u\U0001f600", "provider": "github", "accountId": "a1", "accessToken": "tok"}
    )
    assert "\\ud83d\\ude00" in body
    created = api.post("/api/connections", body=body, headers={"Content-Type": "application/json"})
    assert created.status_code == 201 and created.json["userId"] == "u\U0001f600"


@pytest.mark.e2e
def test_bad_text_over_http_is_never_a_500(live: Live) -> None:
    with live.client() as client:
        real = client.post(
            "/api/connections",
            json={
                "userId": "u1",
                "provider": "github",
                "accountId": uuid.uuid4().hex,
                "accessToken": "tok",
            },
        ).json()["id"]
        for method, path, secret in body_operations():
            path = path.replace(IDS["{connection_id}"], real)
            for body in SURROGATE_BODIES:
                result = client.request(
                    method,
                    path,
                    content=body,
                    headers={
                        "Authorization": f"Bearer {secret}",
                        "Content-Type": "application/json",
                    },
                )
                assert result.status_code == 400, (method, path, body, result.text)
        for raw in ("%ED%A0%80", "%FF", "u%00", "u%0A", "%C0%AF"):
            # Invalid UTF-8 arrives as U+FFFD (valid text); control characters are refused.
            user = client.get(f"/api/users/{raw}/activities")
            assert user.status_code in (200, 400), (raw, user.text)
            listed = client.get(f"/api/connections?userId={raw}")
            assert listed.status_code in (200, 400), (raw, listed.text)
            if raw in ("u%00", "u%0A"):
                assert user.status_code == listed.status_code == 400
        job = client.get(f"/api/sync/jobs/{uuid.uuid4()}%ED%A0%80")
        assert job.status_code in (400, 404)


def test_integral_floats_are_integers_and_replay_needs_ids_or_filter(api: Api) -> None:
    created = _create(api, syncIntervalMinutes=30.0)
    assert created.status_code == 201 and created.json["syncIntervalMinutes"] == 30
    assert _create(api, accountId="a9", syncIntervalMinutes=30.5).status_code == 400
    empty = api.post("/api/dead-letters/replay", json={})
    assert empty.status_code == 400 and empty.json["message"] == "give ids or a filter"
