"""The pipeline as end-to-end tests drive it: real worker processes, real Redis and
PostgreSQL, the simulator as the providers."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import redis
from psycopg_pool import ConnectionPool
from tributary_common.credentials.factory import build_credentials
from tributary_common.db import open_pool, transaction
from tributary_common.dispatch import Dispatcher
from tributary_common.lease import LeaseKeeper
from tributary_common.ledger import connections, jobs
from tributary_common.ratelimit import RateLimiter, build_limiter
from tributary_common.runner import JobRunner, RunPolicy
from tributary_common.settings import PROVIDERS, Settings
from tributary_common.shutdown import StopSignal
from tributary_worker.providers import REGISTRY

from tests.support.keys import local_box
from tools.localstack.processes import API_COMMAND, wait_ready

ROOT = Path(__file__).resolve().parents[2]
PYTHONPATH = os.pathsep.join(
    str(ROOT / p)
    for p in (
        "libs/common",
        "services/api",
        "services/worker",
        "services/scheduler",
        "tools/simulator",
        ".",
    )
)


@dataclass
class Stack:
    database_url: str
    redis_url: str
    namespace: str
    simulator_url: str
    tmp: Path
    env_overrides: dict[str, str] = field(default_factory=dict)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    apis: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _pool: ConnectionPool | None = None
    _redis: redis.Redis | None = None

    @property
    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "PYTHONPATH": PYTHONPATH,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "TRIBUTARY_NAMESPACE": self.namespace,
            "TRIBUTARY_METRICS_PORT": "0",
            "TRIBUTARY_RECONCILE_GRACE_SECONDS": "1",
            "LOG_LEVEL": "INFO",
        }
        for provider in PROVIDERS:
            env[f"TRIBUTARY_{provider.upper()}_BASE_URL"] = f"{self.simulator_url}/{provider}"
        env.update(self.env_overrides)
        return env

    @property
    def pool(self) -> ConnectionPool:
        if self._pool is None:
            self._pool = open_pool(self.database_url, max_size=4)
            self._pool.wait()
        return self._pool

    @property
    def redis(self) -> redis.Redis:
        if self._redis is None:
            self._redis = redis.Redis.from_url(self.redis_url)
        return self._redis

    @property
    def dispatcher(self) -> Dispatcher:
        return Dispatcher(self.redis, self.namespace)

    def start_workers(
        self, processes: int = 2, threads: int = 2, **env: str
    ) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"worker-{len(self.workers)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "tributary_worker"],
            env={
                **self.env,
                "TRIBUTARY_WORKER_PROCESSES": str(processes),
                "TRIBUTARY_WORKER_THREADS": str(threads),
                "PROMETHEUS_MULTIPROC_DIR": str(self.tmp / f"metrics-{len(self.workers)}"),
                **env,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers.append(proc)
        return proc

    def start_api(self, **env: str) -> str:
        """A real gunicorn api (one worker) on this stack; return its base URL."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        log_path = self.tmp / f"api-{len(self.apis)}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                API_COMMAND,
                env={
                    **self.env,
                    "GUNICORN_BIND": f"127.0.0.1:{port}",
                    "GUNICORN_WORKERS": "1",
                    "GUNICORN_ACCESS_LOG": "",
                    "PROMETHEUS_MULTIPROC_DIR": str(self.tmp / f"api-metrics-{len(self.apis)}"),
                    **env,
                },
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.apis.append(proc)
        url = f"http://127.0.0.1:{port}"
        wait_ready(f"{url}/readyz", proc=proc, log=log_path)
        return url

    def worker_log(self) -> str:
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.tmp.glob("worker-*.log"))
        )

    def scheduler(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tributary_scheduler", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def stop_workers(self, sig: int = signal.SIGTERM, timeout: float = 40) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                # Like Kubernetes: the signal goes to the main process, which relays it to
                # its worker processes (Dramatiq kills a worker that gets SIGTERM twice).
                os.kill(proc.pid, sig)
        for proc in self.workers:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        self.workers.clear()

    def close(self) -> None:
        self.stop_workers(timeout=10)
        for proc in self.apis:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        self.apis.clear()
        if self._pool is not None:
            self._pool.close()
        if self._redis is not None:
            self._redis.close()

    def runner(
        self,
        *,
        policy: RunPolicy | None = None,
        limiter: RateLimiter | None = None,
        env: dict[str, str] | None = None,
    ) -> JobRunner:
        """The job runner a worker thread runs, in this process, on this stack's ledger,
        Redis and simulator (``env`` adds settings; ``limiter`` replaces the configured one)."""
        settings = Settings.from_env({**self.env, **(env or {})})
        limiter = limiter or build_limiter(settings, self.redis)
        owner = f"test-{uuid.uuid4().hex[:6]}"
        return JobRunner(
            pool=self.pool,
            dispatcher=self.dispatcher,
            limiter=limiter,
            registry=REGISTRY,
            provider_configs=settings.provider_configs(),
            policy=policy or RunPolicy(),
            owner=owner,
            stop=StopSignal(5),
            leases=LeaseKeeper(self.pool, limiter, owner=owner, lease_seconds=10),
            credentials=build_credentials(
                settings, pool=self.pool, client=self.redis, limiter=limiter, owner=owner
            ),
            rng=random.Random(7),
        )

    # Ledger helpers -------------------------------------------------------------------

    def connect(
        self, provider: str = "github", account: str | None = None, **kw: Any
    ) -> dict[str, Any]:
        return connections.create(
            self.pool,
            box=local_box(),
            user_id=kw.pop("user_id", f"user-{uuid.uuid4().hex[:8]}"),
            provider=provider,
            account_id=account or f"acct{uuid.uuid4().hex[:6]}",
            access_token=kw.pop("access_token", "token-" + uuid.uuid4().hex),
            **kw,
        )

    def enqueue(
        self, connection_id: uuid.UUID, sync_date: date, trigger: str = "manual", send: bool = True
    ) -> jobs.Enqueued:
        result = jobs.enqueue(
            self.pool, connection_id=connection_id, sync_date=sync_date, trigger=trigger
        )
        if send and result.needs_send:
            self.dispatcher.send(result.job["id"], result.job["queue"], result.job["message_id"])
        return result

    def job(self, job_id: uuid.UUID) -> dict[str, Any]:
        return jobs.get(self.pool, job_id)

    def query(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        with transaction(self.pool) as conn:
            return conn.execute(sql.encode(), params).fetchall()

    def connection_status(self, connection_id: uuid.UUID) -> str:
        return str(
            self.query("SELECT status FROM connections WHERE id = %s", connection_id)[0]["status"]
        )

    def dead_letter_category(self, job_id: uuid.UUID) -> str:
        rows = self.query("SELECT category FROM dead_letters WHERE job_id = %s", job_id)
        return str(rows[0]["category"])

    def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 30, what: str = "condition"
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.1)
        raise AssertionError(
            f"timed out after {timeout}s waiting for {what}\n--- worker log tail ---\n{self.worker_log()[-4000:]}"
        )

    def wait_status(
        self, job_ids: list[uuid.UUID], status: str = "completed", timeout: float = 30
    ) -> None:
        ids = list(job_ids)

        def done() -> bool:
            rows = self.query(
                "SELECT count(*) AS n FROM sync_jobs WHERE id = ANY(%s) AND status = %s",
                ids,
                status,
            )
            return rows[0]["n"] == len(ids)

        self.wait_for(done, timeout, f"{len(ids)} jobs {status}")
