"""`/api/connections` through falcon.testing on real PostgreSQL and Redis."""

from __future__ import annotations

import json
import uuid

from tests.support.keys import local_box

from .conftest import Api

BODY = {"userId": "u1", "provider": "github", "accountId": "octocat", "accessToken": "tok-123"}


def test_create_returns_the_connection_without_its_token(api: Api) -> None:
    # When a connection is created
    result = api.post("/api/connections", json={**BODY, "private": True, "syncIntervalMinutes": 30})

    # Then it is answered 201, camelCase, with no trace of the token
    assert result.status_code == 201
    body = result.json
    assert body["userId"] == "u1" and body["provider"] == "github" and body["private"] is True
    assert body["syncIntervalMinutes"] == 30 and body["status"] == "active"
    assert "accessToken" not in body and "tok-123" not in result.text
    assert result.headers["location"] == f"/api/connections/{body['id']}"


def test_duplicate_account_is_409(api: Api) -> None:
    assert api.post("/api/connections", json=BODY).status_code == 201
    result = api.post("/api/connections", json=BODY)
    assert result.status_code == 409 and result.json["error"] == "conflict"


def test_get_list_patch_delete(api: Api) -> None:
    # Given two connections of one user and one of another
    created = api.post("/api/connections", json=BODY).json
    api.post("/api/connections", json={**BODY, "provider": "youtube"})
    api.post("/api/connections", json={**BODY, "userId": "u2"})
    path = f"/api/connections/{created['id']}"

    # Then reads see them, scoped by user
    assert api.get(path).json["id"] == created["id"]
    listed = api.get("/api/connections", params={"userId": "u1"}).json["connections"]
    assert sorted(c["provider"] for c in listed) == ["github", "youtube"]
    assert api.get(path, params={"userId": "u2"}).status_code == 404

    # When it is made private and paused, then resumed
    patched = api.patch(path, json={"private": True, "paused": True}).json
    assert patched["private"] is True and patched["status"] == "paused"
    assert api.patch(path, json={"paused": False}).json["status"] == "active"

    # And deleted
    assert api.delete(path).status_code == 204
    assert api.get(path).status_code == 404
    assert api.delete(path).status_code == 404


def test_new_token_clears_needs_reauth(api: Api) -> None:
    # Given a connection whose token was refused
    row = api.connect("u1")
    api.sql("UPDATE connections SET status = 'needs_reauth' WHERE id = %s", row["id"])
    path = f"/api/connections/{row['id']}"

    # Then resuming without a token is refused, naming the reason
    refused = api.patch(path, json={"paused": False})
    assert refused.status_code == 409 and "re-authorisation" in refused.json["message"]

    # When a new token arrives, the connection is active again
    result = api.patch(path, json={"accessToken": "fresh"})
    assert result.status_code == 200 and result.json["status"] == "active"
    stored = api.sql("SELECT access_token FROM connections WHERE id = %s", row["id"])[0]
    assert stored["access_token"] != "fresh"  # encrypted at rest
    assert local_box().decrypt(stored["access_token"]) == "fresh"


def test_bad_input_is_a_4xx_naming_the_problem(api: Api) -> None:
    cases = [
        ({**BODY, "provider": "myspace"}, 400, "provider"),
        ({**BODY, "private": "yes"}, 400, "private"),
        ({**BODY, "surprise": 1}, 400, "surprise"),
        ({k: v for k, v in BODY.items() if k != "accountId"}, 400, "accountId"),
        ({**BODY, "syncIntervalMinutes": 0}, 400, "syncIntervalMinutes"),
        ({**BODY, "syncIntervalMinutes": True}, 400, "syncIntervalMinutes"),
    ]
    for body, status, field in cases:
        result = api.post("/api/connections", json=body)
        assert result.status_code == status, body
        assert field in result.json["message"], result.json

    malformed = api.post("/api/connections", body=b"{not json", content_type="application/json")
    assert malformed.status_code == 400 and malformed.json["error"] == "malformed_json"
    array = api.post("/api/connections", json=[BODY])
    assert array.status_code == 400 and array.json["error"] == "invalid_body"
    huge = api.post("/api/connections", json={**BODY, "accessToken": "x" * 2_000_000})
    assert huge.status_code == 413 and huge.json["error"] == "body_too_large"
    wrong_type = api.post("/api/connections", body=json.dumps(BODY), content_type="text/plain")
    assert wrong_type.status_code == 415


def test_unknown_and_malformed_ids_are_404(api: Api) -> None:
    assert api.get(f"/api/connections/{uuid.uuid4()}").status_code == 404
    result = api.get("/api/connections/not-a-uuid")
    assert result.status_code == 404 and "not-a-uuid" in result.json["message"]
    assert api.patch(f"/api/connections/{uuid.uuid4()}", json={"private": True}).status_code == 404
    assert api.patch(f"/api/connections/{uuid.uuid4()}", json={}).status_code in (400, 404)
    assert api.get("/api/connections").json["error"] == "missing_parameter"
    assert api.get("/api/connections", params={"userId": "u1", "x": "1"}).status_code == 400
