"""Canary tokens never leave: a sync that fails on its token's text, through the real worker
processes and the simulator, and the canary is searched for everywhere it could come out."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from tributary_common.ledger import jobs

from tests.api.conftest import build_api, make_settings
from tests.e2e.stack import Stack
from tests.support.keys import local_box
from tests.support.simulator import SimAdmin

TEXT_TYPES = ("text", "character varying", "jsonb", "json")


def _text_columns(stack: Stack) -> list[tuple[str, str]]:
    rows = stack.query(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = 'public' AND data_type = ANY(%s)",
        list(TEXT_TYPES),
    )
    return [(r["table_name"], r["column_name"]) for r in rows]


def _ledger_hits(stack: Stack, marker: str) -> list[str]:
    """Columns holding ``marker``, except the one place a token lives (connections.access_token)."""
    hits = []
    for table, column in _text_columns(stack):
        if (table, column) == ("connections", "access_token"):
            continue
        found = stack.query(
            f'SELECT count(*) AS n FROM "{table}" WHERE "{column}"::text LIKE %s',
            f"%{marker}%",
        )[0]["n"]
        if found:
            hits.append(f"{table}.{column}")
    return hits


@pytest.mark.e2e
def test_canary_tokens_appear_nowhere(
    database_url: str, redis_url: str, namespace: str, sim: SimAdmin, tmp_path: Path
) -> None:
    stack = Stack(
        database_url,
        redis_url,
        namespace,
        sim.url,
        tmp_path,
        env_overrides={"TRIBUTARY_BACKOFF_BASE_SECONDS": "0", "LOG_LEVEL": "DEBUG"},
    )
    try:
        markers = {
            "newline": f"CANARYNL{uuid.uuid4().hex}",
            "bang": f"CANARYBANG{uuid.uuid4().hex}",
        }
        tokens = {
            # Stored before validation refused such tokens: the HTTP client then fails
            # with an error text holding the header (as bytes repr).
            "newline": f"canary{markers['newline']}\n",
            "bang": f"ab!{markers['bang']}\n",
        }
        assert stack.query("SELECT 1 AS one")[0]["one"] == 1
        connections = {
            name: stack.connect("github", "octocat", user_id=f"u-{name}", access_token=token)
            for name, token in tokens.items()
        }
        job_ids = {
            name: stack.enqueue(conn["id"], sim.today).job["id"]
            for name, conn in connections.items()
        }
        stack.start_workers(processes=1, threads=2)
        stack.wait_status(list(job_ids.values()), status="failed", timeout=90)
        stack.stop_workers()

        for job_id in job_ids.values():
            attempts = jobs.attempts(stack.pool, job_id)
            assert attempts and all(a["error"] for a in attempts)
        letters = stack.query("SELECT error FROM dead_letters")
        assert len(letters) == 2 and all("***" in r["error"] for r in letters), letters

        settings = make_settings(database_url, redis_url, namespace)
        api = build_api(settings, stack.pool, stack.redis)
        responses = []
        for name, conn in connections.items():
            user = f"u-{name}"
            for path, params in (
                (f"/api/sync/jobs/{job_ids[name]}", {}),
                ("/api/connections", {"userId": user}),
                (f"/api/connections/{conn['id']}", {}),
                ("/api/sync/status", {"userId": user, "provider": "github"}),
            ):
                responses.append(api.get(path, params=params))
        responses.append(api.get("/api/sync/status"))
        letters_page = api.get("/api/dead-letters")
        responses.append(letters_page)
        for letter in letters_page.json["deadLetters"]:
            responses.append(api.get(f"/api/dead-letters/{letter['id']}"))
        responses.append(api.client.simulate_get("/metrics"))
        assert all(r.status_code == 200 for r in responses), [r.text for r in responses]

        worker_metrics = CollectorRegistry()
        multiprocess.MultiProcessCollector(worker_metrics, path=str(tmp_path / "metrics-0"))
        metrics_text = generate_latest(worker_metrics).decode()
        log = stack.worker_log()
        assert "job." in log

        for name, marker in markers.items():
            assert _ledger_hits(stack, marker) == [], name
            assert [r.text for r in responses if marker in r.text] == [], name
            assert marker not in log, (name, [line for line in log.splitlines() if marker in line])
            assert marker not in metrics_text, name
        # The token is still where it belongs (the canary test looks in the right place):
        # encrypted at rest (#14), so the ledger search above could not have seen it anyway.
        stored = stack.query("SELECT access_token FROM connections ORDER BY user_id")
        box = local_box()
        assert [box.decrypt(r["access_token"]) for r in stored] == [
            tokens["bang"],
            tokens["newline"],
        ]
    finally:
        stack.close()
