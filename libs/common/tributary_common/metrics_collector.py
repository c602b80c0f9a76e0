"""Scrape-time metrics for the api's `/metrics`: queues, dead letters, connections,
scheduler runs and limiter state, read from Redis and the ledger when Prometheus asks.

Every name comes from `metrics.SCRAPE_METRICS`. Each source (redis, ledger, limiter) is
read on its own: a failing source is logged, reported as `tributary_collector_up{source}`
= 0 and its metrics are left out of that scrape; the collector never raises into it.
The ledger queries touch partial indexes only (`migrations/0003_metrics.sql`), so a
scrape costs the same with a thousand or a million finished jobs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from psycopg_pool import ConnectionPool

from . import backlog, bands, metrics
from .categories import ErrorCategory
from .dispatch import Dispatcher
from .logs import event
from .ratelimit.base import RateLimiter
from .settings import PROVIDERS

log = logging.getLogger(__name__)

CONNECTION_STATUSES = ("active", "needs_reauth", "paused")
#: The scheduler commands the chart runs as CronJobs: each gets a series even before its
#: first run (last success 0), so an alert fires for a command that never ran.
SCHEDULER_COMMANDS = ("enqueue-due", "reconcile", "cleanup", "housekeeping")
COOLDOWN_SCOPES = ("provider", "account")

# Bounds every query of one scrape, so a slow ledger costs a scrape, never a hang.
TIMEOUT_SQL = "SELECT set_config('statement_timeout', %s, true)"
PROCESSING_SQL = """
SELECT queue, count(*) AS n FROM sync_jobs WHERE status = 'processing' GROUP BY queue
"""
# One index probe per band on sync_jobs_pending_due; a job not yet due counts as age 0.
OLDEST_PENDING_SQL = """
SELECT b.queue, greatest(extract(epoch FROM now() - o.due_at), 0)::float8 AS age
FROM unnest(%(queues)s::text[]) AS b(queue)
LEFT JOIN LATERAL (
    SELECT greatest(enqueued_at, coalesce(not_before, enqueued_at)) AS due_at
    FROM sync_jobs
    WHERE status = 'pending' AND queue = b.queue
    ORDER BY greatest(enqueued_at, coalesce(not_before, enqueued_at))
    LIMIT 1
) o ON true
"""
DEAD_LETTERS_SQL = """
SELECT platform, category, count(*) AS n FROM dead_letters
WHERE replayed_at IS NULL GROUP BY platform, category
"""
CONNECTIONS_SQL = """
SELECT provider, status, count(*) AS n FROM connections GROUP BY provider, status
"""
# Tokens no background refresh can renew, near or past expiry (credentials.model.state).
EXPIRING_SQL = """
SELECT provider, CASE WHEN token_expires_at <= now() THEN 'expired' ELSE 'expiring' END AS state,
       count(*) AS n
FROM connections
WHERE token_expires_at IS NOT NULL AND token_expires_at <= now() + interval '7 days'
  AND status <> 'needs_reauth'
  AND NOT CASE provider WHEN 'instagram' THEN token_kind = 'user'
                        WHEN 'meta_ads' THEN token_kind = 'system_user'
                        ELSE token_kind = 'user' AND refresh_token IS NOT NULL END
GROUP BY 1, 2
"""
SCHEDULER_SQL = """
SELECT command, runs, failures,
       coalesce(extract(epoch FROM last_success_at), 0)::float8 AS last_success,
       coalesce(extract(epoch FROM last_finished_at), 0)::float8 AS last_finished
FROM scheduler_runs
"""
# Events out: endpoints by state, and the outbox's pending deliveries (partial index).
ENDPOINTS_SQL = """
SELECT enabled, count(*) AS n FROM webhook_endpoints GROUP BY enabled
"""
OUTBOX_SQL = """
SELECT count(*) AS n,
       coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS age
FROM webhook_outbox WHERE status = 'pending'
"""


def family(spec: metrics.ScrapeMetric) -> GaugeMetricFamily | CounterMetricFamily:
    """Return an empty metric family for ``spec``."""
    if spec.kind == "counter":
        return CounterMetricFamily(spec.name, spec.documentation, labels=list(spec.labels))
    return GaugeMetricFamily(spec.name, spec.documentation, labels=list(spec.labels))


class LedgerCollector(Collector):
    """A prometheus_client collector; register it on the registry `/metrics` serves."""

    def __init__(
        self,
        pool: ConnectionPool,
        dispatcher: Dispatcher,
        limiter: RateLimiter | None = None,
        *,
        providers: Sequence[str] = PROVIDERS,
        heartbeat_timeout_ms: int = 60_000,
        statement_timeout_ms: int = 2000,
        connect_timeout_seconds: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.pool = pool
        self.dispatcher = dispatcher
        self.limiter = limiter
        self.providers = tuple(providers)
        self.heartbeat_timeout_ms = heartbeat_timeout_ms
        self.statement_timeout_ms = statement_timeout_ms
        self.connect_timeout_seconds = connect_timeout_seconds
        self.clock = clock

    def describe(self) -> Iterable[Metric]:
        """Name the families without touching Redis or PostgreSQL (registration time)."""
        return [family(spec) for spec in metrics.SCRAPE_METRICS]

    def collect(self) -> Iterator[Metric]:
        up = family(metrics.COLLECTOR_UP)
        duration = family(metrics.COLLECTOR_DURATION)
        sources: list[tuple[str, Callable[[], list[Metric]]]] = [
            ("redis", self._redis_metrics),
            ("ledger", self._ledger_metrics),
        ]
        limiter = self.limiter
        if limiter is not None:
            sources.append(("limiter", lambda: self._limiter_metrics(limiter)))
        for source, read in sources:
            started = time.perf_counter()
            try:
                families = read()
                ok = True
            except Exception as exc:  # a scrape must never fail because a source did
                event(
                    log,
                    "metrics.collector_failed",
                    logging.WARNING,
                    source=source,
                    error=f"{type(exc).__name__}: {exc}",
                )
                families, ok = [], False
            up.add_metric([source], 1.0 if ok else 0.0)
            duration.add_metric([source], time.perf_counter() - started)
            yield from families
        yield up
        yield duration

    # Sources ---------------------------------------------------------------------------

    def _redis_metrics(self) -> list[Metric]:
        depth = family(metrics.QUEUE_DEPTH)
        by_name = self.dispatcher.depth()
        for band in bands.BANDS:
            counts = by_name.get(band.name, {})
            for state in ("waiting", "delayed"):
                depth.add_metric([band.queue, state], float(counts.get(state, 0)))
        signal = backlog.read(
            self.dispatcher.client,
            self.dispatcher.namespace,
            now_ms=int(self.dispatcher.server_time() * 1000),
            heartbeat_timeout_ms=self.heartbeat_timeout_ms,
            heartbeat_now_ms=int(self.clock() * 1000),
        )
        autoscaling = family(metrics.AUTOSCALING_BACKLOG)
        for queue, states in signal.by_queue.items():
            for state in backlog.STATES:
                autoscaling.add_metric([queue, state], float(states[state]))
        live = family(metrics.WORKER_PROCESSES_LIVE)
        live.add_metric([], float(signal.live_workers))
        return [depth, autoscaling, live]

    def _ledger_metrics(self) -> list[Metric]:
        queues = [band.queue for band in bands.BANDS]
        pooled = self.pool.connection(timeout=self.connect_timeout_seconds)
        # One transaction: the statement timeout is set LOCAL to it.
        with pooled as conn, conn.transaction():
            conn.execute(TIMEOUT_SQL, (f"{int(self.statement_timeout_ms)}ms",))
            processing = _rows(conn.execute(PROCESSING_SQL))
            oldest = _rows(conn.execute(OLDEST_PENDING_SQL, {"queues": queues}))
            dead = _rows(conn.execute(DEAD_LETTERS_SQL))
            conns = _rows(conn.execute(CONNECTIONS_SQL))
            expiring_rows = _rows(conn.execute(EXPIRING_SQL))
            scheduler = _rows(conn.execute(SCHEDULER_SQL))
            endpoint_rows = _rows(conn.execute(ENDPOINTS_SQL))
            outbox = _rows(conn.execute(OUTBOX_SQL))

        depth = family(metrics.QUEUE_DEPTH)
        in_flight = {row["queue"]: row["n"] for row in processing}
        for queue in sorted(set(queues) | set(in_flight)):
            depth.add_metric([queue, "processing"], float(in_flight.get(queue, 0)))

        age = family(metrics.OLDEST_PENDING_AGE)
        for row in oldest:
            age.add_metric([row["queue"]], float(row["age"] or 0.0))

        # Zero series for every known (provider, label) pair, so `delta()` and alerts see
        # the first dead letter or re-auth as a rise rather than as a new series.
        categories = [c.value for c in ErrorCategory]
        dead_letters = _grid(
            metrics.DEAD_LETTERS,
            self.providers,
            categories,
            ((r["platform"], r["category"], r["n"]) for r in dead),
        )
        connections = _grid(
            metrics.CONNECTIONS,
            self.providers,
            CONNECTION_STATUSES,
            ((r["provider"], r["status"], r["n"]) for r in conns),
        )

        expiring = _grid(
            metrics.CONNECTIONS_EXPIRING,
            self.providers,
            ("expiring", "expired"),
            ((r["provider"], r["state"], r["n"]) for r in expiring_rows),
        )

        last_success = family(metrics.SCHEDULER_LAST_SUCCESS)
        last_run = family(metrics.SCHEDULER_LAST_RUN)
        runs = family(metrics.SCHEDULER_RUNS)
        failures = family(metrics.SCHEDULER_FAILURES)
        never_ran = {"runs": 0, "failures": 0, "last_success": 0.0, "last_finished": 0.0}
        known = {row["command"]: row for row in scheduler}
        for name in SCHEDULER_COMMANDS:
            known.setdefault(name, {"command": name, **never_ran})
        for row in sorted(known.values(), key=lambda r: str(r["command"])):
            command = [row["command"]]
            last_success.add_metric(command, float(row["last_success"]))
            last_run.add_metric(command, float(row["last_finished"]))
            runs.add_metric(command, float(row["runs"]))
            failures.add_metric(command, float(row["failures"]))
        endpoints = family(metrics.EVENT_ENDPOINTS)
        by_state = {bool(r["enabled"]): r["n"] for r in endpoint_rows}
        endpoints.add_metric(["enabled"], float(by_state.get(True, 0)))
        endpoints.add_metric(["disabled"], float(by_state.get(False, 0)))
        pending = family(metrics.EVENT_OUTBOX_PENDING)
        pending.add_metric(["pending"], float(outbox[0]["n"] if outbox else 0))
        pending.add_metric(["oldest_age_seconds"], float(outbox[0]["age"] if outbox else 0.0))
        return [
            depth,
            age,
            dead_letters,
            connections,
            expiring,
            last_success,
            last_run,
            runs,
            failures,
            endpoints,
            pending,
        ]

    def _limiter_metrics(self, limiter: RateLimiter) -> list[Metric]:
        snapshot = limiter.snapshot()
        if snapshot.get("unavailable"):
            raise ConnectionError("rate limiter snapshot unavailable")
        now = self.clock()
        cooldown = family(metrics.RATELIMIT_COOLDOWN)
        active = family(metrics.RATELIMIT_COOLDOWNS_ACTIVE)
        usage = family(metrics.RATELIMIT_USAGE_RATIO)
        slots = family(metrics.RATELIMIT_SLOTS_IN_USE)
        for provider, state in sorted(snapshot.items()):
            for scope in COOLDOWN_SCOPES:
                remaining = [
                    c["until"] - now
                    for c in state.get("cooldowns", [])
                    if (c["account"] is None) == (scope == "provider") and c["until"] > now
                ]
                cooldown.add_metric([provider, scope], max(remaining, default=0.0))
                active.add_metric([provider, scope], float(len(remaining)))
            for window, values in sorted(state.get("windows", {}).items()):
                limit = float(values.get("limit") or 0)
                if limit > 0:
                    usage.add_metric([provider, window], float(values.get("used", 0)) / limit)
            slots.add_metric([provider], float(state.get("slots", {}).get("in_use", 0)))
        return [cooldown, active, usage, slots]


def _rows(cursor: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = cursor.fetchall()
    return rows


def _grid(
    spec: metrics.ScrapeMetric,
    providers: Sequence[str],
    values: Sequence[str],
    counts: Iterable[tuple[str, str, int]],
) -> Metric:
    """One series per (provider, value), zero unless ``counts`` says otherwise."""
    found = {(provider, value): n for provider, value, n in counts}
    metric = family(spec)
    for key in sorted(set(found) | {(p, v) for p in providers for v in values}):
        metric.add_metric(list(key), float(found.get(key, 0)))
    return metric


def build_collector(
    pool: ConnectionPool,
    dispatcher: Dispatcher,
    limiter: RateLimiter | None = None,
    *,
    heartbeat_timeout_ms: int = 60_000,
) -> LedgerCollector:
    """Return the collector the api registers next to its own metrics on `/metrics`.

    Pass the api's limiter too, or the `tributary_ratelimit_*` scrape-time gauges
    (cooldowns, window usage, slots) are left out.
    """
    return LedgerCollector(pool, dispatcher, limiter, heartbeat_timeout_ms=heartbeat_timeout_ms)
