"""Shared fixtures: real Redis and real PostgreSQL, isolated per test.

Servers come from `tools.localstack.services.ensure()`: REDIS_URL / DATABASE_URL when set,
else the ones on 127.0.0.1:6379 / :5432, else private ones started from pip packages.
Each test gets its own Redis key namespace and its own PostgreSQL database (cloned from a
migrated template), so parallel runs never collide. A service that cannot be reached
fails the test under CI (CI=true) and skips it elsewhere with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from tributary_common.migrate import migrate

from tests.support.missing import PREFIX, missing
from tools.localstack import services as localstack
from tools.localstack.keys import local_encryption_key

# Every process a test starts (api, workers, scheduler) inherits the local key.
os.environ.setdefault(
    "TRIBUTARY_ENCRYPTION_KEYS",
    local_encryption_key(Path(__file__).resolve().parents[1] / ".run"),
)


def _unavailable(what: str, exc: Exception) -> None:
    missing(f"{what} unreachable: {exc}")


@pytest.fixture(scope="session")
def services() -> localstack.Services:
    try:
        found = localstack.ensure()
    except Exception as exc:  # any reason the servers cannot be had
        _unavailable("Redis/PostgreSQL", exc)
        raise
    # Worker and api subprocesses inherit these.
    os.environ["REDIS_URL"] = found.redis_url
    return found


@pytest.fixture(scope="session")
def redis_url(services: localstack.Services) -> str:
    return services.redis_url


@pytest.fixture
def namespace() -> str:
    """A Redis key prefix unique to this test."""
    return f"trt-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def redis_client(redis_url: str, namespace: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    try:
        client.ping()
    except redis.RedisError as exc:
        _unavailable("Redis", exc)
    yield client
    keys = list(client.scan_iter(match=f"*{namespace}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(scope="session")
def template_database(services: localstack.Services) -> Iterator[str]:
    """A migrated database that each test's database is cloned from."""
    name = f"trt_template_{uuid.uuid4().hex[:8]}"
    url = localstack.create_database(services.postgres_admin_url, name)
    migrate(url)
    yield name
    localstack.drop_database(services.postgres_admin_url, name)


@pytest.fixture
def database_url(services: localstack.Services, template_database: str) -> Iterator[str]:
    name = f"trt_{uuid.uuid4().hex[:12]}"
    import psycopg

    with psycopg.connect(services.postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'.encode())
    yield localstack.with_database(services.postgres_admin_url, name)
    localstack.drop_database(services.postgres_admin_url, name)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say loudly, last, how many tests did not run because a service or tool is missing."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        if PREFIX in text:
            reason = text.split(PREFIX, 1)[1]
            reasons[reason] = reasons.get(reason, 0) + 1
    if not reasons:
        return
    total = sum(reasons.values())
    terminalreporter.write_sep(
        "!", f"{total} TESTS DID NOT RUN: a service or tool is missing", red=True
    )
    for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1]):
        terminalreporter.write_line(f"  {count:4d} × {reason}")
    terminalreporter.write_line("  (with CI=true these fail instead of skipping)")
