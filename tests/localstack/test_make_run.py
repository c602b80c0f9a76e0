"""`make run`'s entry point (`python -m tools.localstack.run`) ended every way a user ends
it — SIGINT, SIGTERM, SIGHUP, a closed output pipe — leaves no process it started and no
port it opened; a second run on the same `.run/` refuses without harming the first; a bad
DATABASE_URL is one line without the password."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from tools.localstack import services as localstack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
CONSOLE_LINE = re.compile(rb"console http://127\.0\.0\.1:(\d+)/console/")


@dataclass
class Running:
    proc: subprocess.Popen[bytes]
    port: int
    family: list[psutil.Process]
    output: bytes


@pytest.fixture
def run_env(services: localstack.Services, tmp_path: Path) -> Iterator[dict[str, str]]:
    name = f"trt_run_{uuid.uuid4().hex[:8]}"
    url = localstack.create_database(services.postgres_admin_url, name)
    yield {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": services.redis_url,
        "TRIBUTARY_NAMESPACE": f"trt-run-{uuid.uuid4().hex[:8]}",
        "TRIBUTARY_RUN_DIR": str(tmp_path / "run"),
        "TRIBUTARY_METRICS_PORT": "0",
        "PYTHONUNBUFFERED": "1",
    }
    localstack.drop_database(services.postgres_admin_url, name)


def start(env: dict[str, str]) -> Running:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tools.localstack.run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    output = b""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        output += line
        found = CONSOLE_LINE.search(line)
        if found:
            port = int(found.group(1))
            family = psutil.Process(proc.pid).children(recursive=True)
            assert len(family) >= 4, family  # simulator, api, worker, scheduler (+ theirs)
            return Running(proc, port, family, output)
    proc.kill()
    raise AssertionError(f"make run did not come up:\n{output.decode(errors='replace')}")


def assert_all_gone(running: Running) -> None:
    assert running.proc.wait(90) == 0, running.proc.returncode
    deadline = time.monotonic() + 30
    alive = running.family
    while time.monotonic() < deadline:
        alive = [p for p in running.family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        if not alive:
            break
        time.sleep(0.5)
    assert alive == []
    listening = [
        c
        for c in psutil.net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == running.port
    ]
    assert listening == []  # nothing listens on the api's port any more


@pytest.mark.parametrize(
    "ending",
    [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, "closed pipe"],
    ids=["SIGINT", "SIGTERM", "SIGHUP", "closed-pipe"],
)
def test_every_ending_stops_everything(run_env: dict[str, str], ending: object) -> None:
    running = start(run_env)
    assert b"cron secret" in running.output
    assert httpx.get(f"http://127.0.0.1:{running.port}/healthz", timeout=10).status_code == 200
    if ending == "closed pipe":
        assert running.proc.stdout is not None
        running.proc.stdout.close()
    else:
        assert isinstance(ending, signal.Signals)
        running.proc.send_signal(ending)
    assert_all_gone(running)


def test_a_second_run_refuses_and_leaves_the_first_alone(run_env: dict[str, str]) -> None:
    first = start(run_env)
    try:
        log = Path(run_env["TRIBUTARY_RUN_DIR"]) / "api.log"
        size = log.stat().st_size
        second = subprocess.run(
            [sys.executable, "-m", "tools.localstack.run"],
            cwd=ROOT,
            env=run_env,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 1
        assert b"another make run" in second.stderr
        assert log.stat().st_size >= size  # not truncated
        assert httpx.get(f"http://127.0.0.1:{first.port}/healthz", timeout=10).status_code == 200
    finally:
        first.proc.send_signal(signal.SIGINT)
    assert_all_gone(first)


def test_a_bad_database_url_is_one_line_without_the_password(run_env: dict[str, str]) -> None:
    env = {**run_env, "DATABASE_URL": "postgresql://someone:hunter2@127.0.0.1:1/nowhere"}
    done = subprocess.run(
        [sys.executable, "-m", "tools.localstack.run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    message = done.stderr.decode().strip()
    assert len(message.splitlines()) == 1, message
    assert "postgresql://someone:***@127.0.0.1:1/nowhere" in message
    assert "hunter2" not in message and "Traceback" not in message
