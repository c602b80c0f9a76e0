"""schemathesis `--checks all` against `/openapi.json` on the live gunicorn: 0 failures.

The CLI runs every phase (examples, coverage, fuzzing, stateful) with a fixed seed and a
fixed number of examples per operation, so the run is bounded (about a minute on two busy
cores). `schemathesis.toml` beside this file gives each route family its secret and lists
the operations whose rules OpenAPI cannot state in a schema.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tributary_api.openapi import document
from tributary_api.routes import families

from .conftest import API_TOKEN, CRON_SECRET, Live

CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = 5


@pytest.mark.e2e
def test_live_server_serves_this_document(live: Live) -> None:
    assert httpx.get(f"{live.url}/openapi.json").json() == json.loads(
        json.dumps(document(families()))
    )


@pytest.mark.e2e
def test_schemathesis_checks_all_finds_nothing(live: Live, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TRIBUTARY_TEST_API_TOKEN": API_TOKEN,
        "TRIBUTARY_TEST_CRON_SECRET": CRON_SECRET,
    }
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(CONFIG),
        "run",
        f"{live.url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        "11",
        "--request-timeout",
        "30",
        "--no-color",
    ]
    run = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=400, check=False
    )
    tail = run.stdout[-6000:] + run.stderr[-2000:]
    assert run.returncode == 0, tail
    assert "Tested:" in run.stdout and "passed" in run.stdout, tail
