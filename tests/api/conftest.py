"""Fixtures of the api tests: the app on real PostgreSQL/Redis, and a live gunicorn."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import falcon.testing
import httpx
import psycopg
import pytest
import redis
from psycopg_pool import ConnectionPool
from tributary_api.app import create_app, make_redis
from tributary_api.deps import ApiDeps
from tributary_common.db import open_pool
from tributary_common.dispatch import Dispatcher
from tributary_common.ledger import connections
from tributary_common.ratelimit import build_limiter
from tributary_common.settings import DEFAULT_BASE_URLS, Settings
from tributary_worker.providers import REGISTRY

from tests.support.keys import local_box, local_keys
from tests.support.simulator import SimAdmin, sim, simulator_server
from tools.localstack import services as localstack
from tools.localstack.processes import API_COMMAND, wait_ready

__all__ = ["sim", "simulator_server"]

API_TOKEN = "api-token-for-tests"
CRON_SECRET = "cron-secret-for-tests"
ROOT = Path(__file__).resolve().parents[2]


def auth(token: str = API_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Api:
    """The app under test with its collaborators and authenticated helpers."""

    client: falcon.testing.TestClient
    deps: ApiDeps

    @property
    def pool(self) -> ConnectionPool:
        return self.deps.pool

    def call(
        self, method: str, path: str, token: str = API_TOKEN, **kw: Any
    ) -> falcon.testing.Result:
        headers = {**auth(token), **kw.pop("headers", {})}
        return self.client.simulate_request(method, path, headers=headers, **kw)

    def get(self, path: str, **kw: Any) -> falcon.testing.Result:
        return self.call("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> falcon.testing.Result:
        return self.call("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> falcon.testing.Result:
        return self.call("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> falcon.testing.Result:
        return self.call("DELETE", path, **kw)

    def cron(self, path: str, method: str = "POST", **kw: Any) -> falcon.testing.Result:
        return self.call(method, path, CRON_SECRET, **kw)

    def connect(self, user_id: str = "u1", provider: str = "github", **kw: Any) -> dict[str, Any]:
        return connections.create(
            self.pool,
            box=local_box(),
            user_id=user_id,
            provider=provider,
            account_id=kw.pop("account_id", f"acct{uuid.uuid4().hex[:6]}"),
            access_token=kw.pop("access_token", "secret-token"),
            **kw,
        )

    def sql(self, statement: str, *params: Any) -> list[dict[str, Any]]:
        with self.pool.connection() as conn:
            cur = conn.execute(statement.encode(), params)
            return cur.fetchall() if cur.description else []


def make_settings(database_url: str, redis_url: str, namespace: str, **kw: Any) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        namespace=namespace,
        api_token=API_TOKEN,
        cron_secret=CRON_SECRET,
        base_urls=kw.pop("base_urls", dict(DEFAULT_BASE_URLS)),
        backoff_base_seconds=0.0,
        encryption_keys=kw.pop("encryption_keys", local_keys()),
        **kw,
    )


def build_api(settings: Settings, pool: ConnectionPool, client: redis.Redis, **kw: Any) -> Api:
    deps = ApiDeps(
        settings=settings,
        pool=pool,
        redis=client,
        dispatcher=Dispatcher(client, settings.namespace),
        limiter=build_limiter(settings, client),
        registry=kw.pop("registry", REGISTRY),
        **kw,
    )
    return Api(falcon.testing.TestClient(create_app(deps)), deps)


@pytest.fixture
def pool(database_url: str) -> Iterator[ConnectionPool]:
    p = open_pool(database_url, max_size=4)
    p.wait()
    yield p
    p.close()


@pytest.fixture
def api(
    database_url: str,
    redis_url: str,
    namespace: str,
    redis_client: redis.Redis,
    pool: ConnectionPool,
) -> Api:
    return build_api(make_settings(database_url, redis_url, namespace), pool, redis_client)


@pytest.fixture
def sim_api(api: Api, sim: SimAdmin) -> Api:
    """The app with every provider pointed at the simulator, as process-queue needs."""
    urls = {p: sim.base_url(p) for p in DEFAULT_BASE_URLS}
    settings = replace(api.deps.settings, base_urls=urls, http_timeout_seconds=2.0)
    return build_api(settings, api.pool, api.deps.redis)


@pytest.fixture
def dead_redis() -> Iterator[redis.Redis]:
    """A client of a Redis that is not there (nothing listens on the port)."""
    client = make_redis(f"redis://127.0.0.1:{free_port()}")
    yield client
    client.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# The live server ----------------------------------------------------------------------


@dataclass
class Live:
    url: str
    database_url: str
    namespace: str
    log: Path

    def client(self, token: str = API_TOKEN) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=auth(token), timeout=30)


@pytest.fixture(scope="session")
def live(
    services: localstack.Services,
    template_database: str,
    simulator_server: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Live]:
    """A real gunicorn (2 workers) on its own database and namespace, providers simulated."""
    name = f"trt_api_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(services.postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'.encode())
    database_url = localstack.with_database(services.postgres_admin_url, name)
    namespace = f"trt-api-{uuid.uuid4().hex[:8]}"
    tmp = tmp_path_factory.mktemp("gunicorn")
    url = f"127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": services.redis_url,
        "TRIBUTARY_NAMESPACE": namespace,
        "API_TOKEN": API_TOKEN,
        "CRON_SECRET": CRON_SECRET,
        "GUNICORN_BIND": url,
        "GUNICORN_WORKERS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"),
        "TRIBUTARY_BACKOFF_BASE_SECONDS": "0",
        "TRIBUTARY_HTTP_TIMEOUT_SECONDS": "2",
        "GUNICORN_ACCESS_LOG": "",
        "LOG_LEVEL": "WARNING",
    }
    for provider in DEFAULT_BASE_URLS:
        env[f"TRIBUTARY_{provider.upper()}_BASE_URL"] = f"{simulator_server.url}/{provider}"
    log = tmp / "gunicorn.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            API_COMMAND,
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_ready(f"http://{url}/readyz", proc=proc, log=log)
        yield Live(f"http://{url}", database_url, namespace, log)
    finally:
        proc.terminate()
        proc.wait(30)
        client = redis.Redis.from_url(services.redis_url)
        keys = list(client.scan_iter(match=f"{namespace}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
        localstack.drop_database(services.postgres_admin_url, name)


def today() -> str:
    return datetime.now(UTC).date().isoformat()
