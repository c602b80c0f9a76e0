"""LedgerCollector against real Redis and PostgreSQL: values, zero series, failure isolation."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from psycopg_pool import ConnectionPool
from tributary_common.db import open_pool, transaction
from tributary_common.dispatch import Dispatcher
from tributary_common.ledger import connections, jobs, schedule_runs
from tributary_common.metrics_collector import LedgerCollector
from tributary_common.ratelimit import MemoryLimiter

from tests.support.keys import local_box

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def pool(database_url: str) -> Iterator[ConnectionPool]:
    p = open_pool(database_url, max_size=2)
    p.wait()
    yield p
    p.close()


def scrape(collector: LedgerCollector) -> Samples:
    """Serve the collector from a registry and parse the exposition, as Prometheus would."""
    registry = CollectorRegistry()
    registry.register(collector)
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_collector_reports_queues_dead_letters_connections_and_scheduler(
    pool: ConnectionPool, redis_client: redis.Redis, namespace: str
) -> None:
    # Given two GitHub connections, one needing re-auth; a waiting job, a delayed message,
    # a dead letter, a scheduler run and a provider cooldown
    dispatcher = Dispatcher(redis_client, namespace)
    a = connections.create(
        pool, box=local_box(), user_id="u1", provider="github", account_id="a", access_token="t1"
    )
    b = connections.create(
        pool, box=local_box(), user_id="u2", provider="github", account_id="b", access_token="t2"
    )
    with transaction(pool) as conn:
        conn.execute("UPDATE connections SET status = 'needs_reauth' WHERE id = %s", (b["id"],))
    today = datetime.now(UTC).date()
    job = jobs.enqueue(pool, connection_id=a["id"], sync_date=today, trigger="manual").job
    dispatcher.send(job["id"], job["queue"], job["message_id"])
    dispatcher.send(uuid.uuid4(), "sync.retry", "m-delayed", delay_seconds=60)
    with transaction(pool) as conn:
        conn.execute(
            "UPDATE sync_jobs SET enqueued_at = now() - interval '90 seconds' WHERE id = %s",
            (job["id"],),
        )
        conn.execute(
            "INSERT INTO dead_letters (id, job_id, user_id, platform, connection_id, category,"
            " error, attempts, payload) VALUES (%s, %s, 'u2', 'github', %s, 'API_ERROR', 'x', 1,"
            " '{}')",
            (uuid.uuid4(), uuid.uuid4(), b["id"]),
        )
    schedule_runs.started(pool, "enqueue-due")
    schedule_runs.finished(pool, "enqueue-due", ok=True)
    limiter = MemoryLimiter()
    now = datetime.now(UTC).timestamp()
    limiter.cooldown("github", None, now + 30, "secondary rate limit")
    limiter.cooldown("github", "a", now + 5, "reset header")

    # When Prometheus scrapes
    samples = scrape(LedgerCollector(pool, dispatcher, limiter))

    # Then every source is up and each value matches what was set up
    for source in ("redis", "ledger", "limiter"):
        assert value(samples, "tributary_collector_up", source=source) == 1.0
    assert value(samples, "tributary_queue_depth", queue="sync.manual", state="waiting") == 1
    assert value(samples, "tributary_queue_depth", queue="sync.retry", state="delayed") == 1
    assert value(samples, "tributary_queue_depth", queue="sync.manual", state="processing") == 0
    assert 85 <= value(samples, "tributary_oldest_pending_age_seconds", queue="sync.manual") < 150
    assert value(samples, "tributary_oldest_pending_age_seconds", queue="sync.retry") == 0
    assert value(samples, "tributary_dead_letters", provider="github", category="API_ERROR") == 1
    # zero series exist for every provider and category, so a first dead letter is a rise
    assert value(samples, "tributary_dead_letters", provider="x", category="UNKNOWN") == 0
    assert value(samples, "tributary_connections", provider="github", status="active") == 1
    assert value(samples, "tributary_connections", provider="github", status="needs_reauth") == 1
    assert value(samples, "tributary_connections", provider="youtube", status="paused") == 0
    last = value(
        samples, "tributary_scheduler_last_success_timestamp_seconds", command="enqueue-due"
    )
    assert abs(last - now) < 60
    assert value(samples, "tributary_scheduler_runs_total", command="enqueue-due") == 1
    assert value(samples, "tributary_scheduler_failures_total", command="enqueue-due") == 0
    assert (
        25
        < value(
            samples, "tributary_ratelimit_cooldown_seconds", provider="github", scope="provider"
        )
        <= 30
    )
    assert (
        value(samples, "tributary_ratelimit_cooldowns_active", provider="github", scope="account")
        == 1
    )
    assert (
        value(samples, "tributary_ratelimit_cooldown_seconds", provider="x", scope="provider") == 0
    )
    # and no label carries a user, account or job id
    for _, labels in samples:
        for _, label_value in labels:
            assert label_value not in {"u1", "u2", "a", "b", str(job["id"])}


def test_a_failing_source_is_reported_not_raised(
    pool: ConnectionPool, redis_client: redis.Redis, namespace: str
) -> None:
    # Given a collector whose Redis is unreachable
    dead_redis = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    collector = LedgerCollector(pool, Dispatcher(dead_redis, namespace))

    # When Prometheus scrapes
    samples = scrape(collector)

    # Then the scrape succeeds: Redis is reported down, the ledger's metrics are still there
    assert value(samples, "tributary_collector_up", source="redis") == 0
    assert value(samples, "tributary_collector_up", source="ledger") == 1
    assert (
        "tributary_queue_depth",
        (("queue", "sync.manual"), ("state", "waiting")),
    ) not in samples
    assert value(samples, "tributary_queue_depth", queue="sync.manual", state="processing") == 0


def test_a_slow_ledger_is_cut_by_the_statement_timeout(
    pool: ConnectionPool, redis_client: redis.Redis, namespace: str
) -> None:
    # Given a ledger table locked by another transaction, so the collector's reads block
    collector = LedgerCollector(pool, Dispatcher(redis_client, namespace), statement_timeout_ms=200)
    with pool.connection() as blocker, blocker.transaction():
        blocker.execute("LOCK TABLE connections IN ACCESS EXCLUSIVE MODE")
        started = datetime.now(UTC)

        # When Prometheus scrapes
        samples = scrape(collector)
        elapsed = datetime.now(UTC) - started

    # Then the scrape returns promptly with the ledger marked down
    assert elapsed < timedelta(seconds=2)
    assert value(samples, "tributary_collector_up", source="ledger") == 0
    assert value(samples, "tributary_collector_up", source="redis") == 1


def test_collector_exports_the_autoscaling_backlog_and_commands_that_never_ran(
    pool: ConnectionPool, redis_client: redis.Redis, namespace: str
) -> None:
    # Given one waiting message, one delayed message already due, one not due for a minute,
    # and two messages held by a worker (Dramatiq's ack set) whose heartbeat is fresh
    dispatcher = Dispatcher(redis_client, namespace)
    dispatcher.send(uuid.uuid4(), "sync.manual", "m-waiting")
    dispatcher.send(uuid.uuid4(), "sync.retry", "m-later", delay_seconds=60)
    redis_client.zadd(f"{namespace}:sync.retry.delayed", {"m-due": 1})
    redis_client.zadd(f"{namespace}:__heartbeats__", {"worker-1": int(time.time() * 1000)})
    redis_client.sadd(f"{namespace}:__acks__.worker-1.sync.scheduled", "m-run-1", "m-run-2")

    # When the api's collector is scraped
    samples = scrape(LedgerCollector(pool, dispatcher))

    # Then the signal counts the waiting, the due and the held messages, not the deferral
    def backlog(queue: str, state: str) -> float:
        return value(samples, "tributary_autoscaling_backlog", queue=queue, state=state)

    assert backlog("sync.manual", "waiting") == 1
    assert backlog("sync.retry", "due_delayed") == 1
    assert backlog("sync.scheduled", "held") == 2
    total = sum(v for (name, _), v in samples.items() if name == "tributary_autoscaling_backlog")
    assert total == 4
    assert value(samples, "tributary_worker_processes_live") == 1
    # And every CronJob command has a last-success series, 0 when it never ran
    for command in ("enqueue-due", "reconcile", "cleanup", "housekeeping"):
        assert (
            value(samples, "tributary_scheduler_last_success_timestamp_seconds", command=command)
            == 0
        )
