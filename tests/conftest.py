"""Shared fixtures: real Redis and real PostgreSQL, isolated per test run.

`REDIS_URL` and `DATABASE_URL` point at the servers (the Makefile starts private ones
when none is listening). Each run gets its own Redis key namespace and its own
PostgreSQL database, so parallel runs never collide. A service that cannot be reached
fails the test under CI (CI=true) and skips it elsewhere with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _unavailable(what: str, exc: Exception) -> None:
    message = f"{what} unreachable: {exc}"
    if IN_CI:
        pytest.fail(message + " (CI=true: services are required)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def redis_url() -> str:
    return REDIS_URL


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
