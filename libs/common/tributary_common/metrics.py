"""Every Prometheus metric Tributary exports, in one module.

Names start with `tributary_`; labels are bounded (provider, queue, trigger, outcome,
category, scope, decision, route, method, status class, command) — never a user, account
or job id. Job metrics come from the workers (multiprocess mode, see `tributary_worker.__main__`);
queue depth and ledger statistics are read at scrape time by the api's collector.
Recording metrics never raises into the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter, Histogram

log = logging.getLogger(__name__)

DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 3600, 14400)

JOBS_STARTED = Counter(
    "tributary_jobs_started_total",
    "Job runs started (claimed) by a worker.",
    ["provider", "trigger", "queue"],
)
JOBS_FINISHED = Counter(
    "tributary_jobs_finished_total",
    "Job runs finished, by outcome: completed, retried, failed (terminal: dead-lettered), "
    "deferred (rate limit, no attempt used), interrupted (worker shutdown).",
    ["provider", "trigger", "outcome"],
)
JOB_DURATION = Histogram(
    "tributary_job_duration_seconds",
    "Wall time of one job run.",
    ["provider", "outcome"],
    buckets=DURATION_BUCKETS,
)
JOB_QUEUE_WAIT = Histogram(
    "tributary_job_queue_wait_seconds",
    "Time from becoming pending to being claimed.",
    ["provider", "queue"],
    buckets=WAIT_BUCKETS,
)
JOB_ERRORS = Counter(
    "tributary_job_errors_total", "Failed job runs by error category.", ["provider", "category"]
)
PROVIDER_REQUESTS = Counter(
    "tributary_provider_requests_total",
    "HTTP requests sent to providers, by status class (2xx, 4xx, 5xx; error: transport failure).",
    ["provider", "status_class"],
)
RATELIMIT_DECISIONS = Counter(
    "tributary_ratelimit_decisions_total",
    "Limiter decisions: allowed, deferred (refused beyond the inline wait), "
    "cooldown (set from provider feedback).",
    ["provider", "scope", "decision"],
)


def safely(fn: Callable[..., Any]) -> Callable[..., None]:
    """Wrap a recording function so a metrics failure is logged, never raised."""

    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except Exception:  # metrics must never break a job
            log.exception("metrics.record_failed")

    return wrapper


def status_class(status: int | None) -> str:
    return "error" if status is None else f"{status // 100}xx"


@safely
def provider_response(provider: str, status: int | None) -> None:
    PROVIDER_REQUESTS.labels(provider, status_class(status)).inc()


@safely
def job_started(provider: str, trigger: str, queue: str, wait_seconds: float) -> None:
    JOBS_STARTED.labels(provider, trigger, queue).inc()
    JOB_QUEUE_WAIT.labels(provider, queue).observe(max(wait_seconds, 0.0))


@safely
def job_finished(
    provider: str, trigger: str, outcome: str, seconds: float, category: str | None = None
) -> None:
    JOBS_FINISHED.labels(provider, trigger, outcome).inc()
    JOB_DURATION.labels(provider, outcome).observe(seconds)
    if category is not None:
        JOB_ERRORS.labels(provider, category).inc()


@safely
def ratelimit_decision(provider: str, scope: str, decision: str) -> None:
    RATELIMIT_DECISIONS.labels(provider, scope or "none", decision).inc()


DEAD_LETTERS_CREATED = Counter(
    "tributary_dead_letters_created_total",
    "Jobs dead-lettered, by error category.",
    ["provider", "category"],
)


@safely
def dead_lettered(provider: str, category: str) -> None:
    DEAD_LETTERS_CREATED.labels(provider, category).inc()


HTTP_REQUESTS = Counter(
    "tributary_http_requests_total",
    "HTTP requests answered by the api, by route template and status class.",
    ["route", "method", "status_class"],
)
HTTP_REQUEST_DURATION = Histogram(
    "tributary_http_request_duration_seconds",
    "Time the api took to answer, by route template.",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


@safely
def http_request(route: str, method: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(route, method, status_class(status)).inc()
    HTTP_REQUEST_DURATION.labels(route, method).observe(seconds)


WEBHOOK_DELIVERIES_IN = Counter(
    "tributary_webhook_deliveries_received_total",
    "Provider webhook deliveries received, by provider and outcome: enqueued, duplicate, "
    "unmatched (no connection), ignored (no sync wanted), bad_signature, too_large, "
    "malformed, not_configured (no secret set).",
    ["provider", "outcome"],
)
EVENT_DELIVERIES_OUT = Counter(
    "tributary_event_deliveries_total",
    "Signed event delivery attempts to registered endpoints, by event type and outcome: "
    "delivered, retried (will be sent again), failed (retries exhausted).",
    ["event_type", "outcome"],
)
EVENT_DELIVERY_DURATION = Histogram(
    "tributary_event_delivery_duration_seconds",
    "Time one event delivery attempt took, until the endpoint answered or timed out.",
    ["event_type"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
EVENT_ENDPOINTS_DISABLED = Counter(
    "tributary_event_endpoints_disabled_total",
    "Endpoints disabled after failing for TRIBUTARY_EVENTS_DISABLE_AFTER_SECONDS.",
    [],
)


@safely
def webhook_received(provider: str, outcome: str) -> None:
    WEBHOOK_DELIVERIES_IN.labels(provider, outcome).inc()


@safely
def event_delivery(event_type: str, outcome: str, seconds: float) -> None:
    EVENT_DELIVERIES_OUT.labels(event_type, outcome).inc()
    EVENT_DELIVERY_DURATION.labels(event_type).observe(seconds)


@safely
def endpoint_disabled() -> None:
    EVENT_ENDPOINTS_DISABLED.inc()


@dataclass(frozen=True)
class ScrapeMetric:
    """A metric the api's `metrics_collector.LedgerCollector` builds at scrape time.

    Defined here so every Tributary metric name lives in this module; ``kind`` is
    ``gauge`` or ``counter`` (a counter's exposed name gains ``_total``).
    """

    name: str
    documentation: str
    labels: tuple[str, ...]
    kind: str = "gauge"


QUEUE_DEPTH = ScrapeMetric(
    "tributary_queue_depth",
    "Jobs per band queue: waiting (on the Redis list), delayed (Redis sorted set: retry "
    "backoff and deferrals), processing (ledger, leased by a worker).",
    ("queue", "state"),
)
OLDEST_PENDING_AGE = ScrapeMetric(
    "tributary_oldest_pending_age_seconds",
    "Seconds the oldest due pending job of a band has waited since it became due (0 if none).",
    ("queue",),
)
DEAD_LETTERS = ScrapeMetric(
    "tributary_dead_letters",
    "Dead letters not yet replayed, from the ledger.",
    ("provider", "category"),
)
CONNECTIONS = ScrapeMetric(
    "tributary_connections",
    "Connections by status: active, needs_reauth, paused.",
    ("provider", "status"),
)
CONNECTIONS_EXPIRING = ScrapeMetric(
    "tributary_connections_expiring",
    "Connections whose token only their user can renew (Meta user tokens, personal tokens) "
    "and which expires within 7 days (expiring) or has expired (expired).",
    ("provider", "state"),
)
SCHEDULER_LAST_SUCCESS = ScrapeMetric(
    "tributary_scheduler_last_success_timestamp_seconds",
    "Unix time of the last successful run of each scheduler command (0 if it never succeeded).",
    ("command",),
)
SCHEDULER_LAST_RUN = ScrapeMetric(
    "tributary_scheduler_last_run_timestamp_seconds",
    "Unix time the last run of each scheduler command finished, successfully or not.",
    ("command",),
)
SCHEDULER_RUNS = ScrapeMetric(
    "tributary_scheduler_runs",
    "Scheduler command runs started, from the ledger.",
    ("command",),
    kind="counter",
)
SCHEDULER_FAILURES = ScrapeMetric(
    "tributary_scheduler_failures",
    "Scheduler command runs that failed, from the ledger.",
    ("command",),
    kind="counter",
)
RATELIMIT_COOLDOWN = ScrapeMetric(
    "tributary_ratelimit_cooldown_seconds",
    "Longest remaining provider-imposed cooldown, per scope (provider or account); 0 if none.",
    ("provider", "scope"),
)
RATELIMIT_COOLDOWNS_ACTIVE = ScrapeMetric(
    "tributary_ratelimit_cooldowns_active",
    "Active cooldowns, per scope (account cooldowns are counted, never named).",
    ("provider", "scope"),
)
RATELIMIT_USAGE_RATIO = ScrapeMetric(
    "tributary_ratelimit_usage_ratio",
    "Share of a provider-wide rate-limit window used (reservations for deferred callers excluded).",
    ("provider", "window"),
)
RATELIMIT_SLOTS_IN_USE = ScrapeMetric(
    "tributary_ratelimit_slots_in_use",
    "Concurrency slots held, per provider.",
    ("provider",),
)
EVENT_ENDPOINTS = ScrapeMetric(
    "tributary_event_endpoints",
    "Registered event endpoints by state: enabled, disabled.",
    ("state",),
)
EVENT_OUTBOX_PENDING = ScrapeMetric(
    "tributary_event_outbox_pending",
    "Event deliveries waiting to be sent (pending in the outbox), and the oldest one's age "
    "in seconds (state=oldest_age_seconds).",
    ("state",),
)
AUTOSCALING_BACKLOG = ScrapeMetric(
    "tributary_autoscaling_backlog",
    "The autoscaling signal, per band queue and state: waiting (on the list), due_delayed "
    "(retries/deferrals past their due time), held (running or prefetched by a worker). "
    "Sum it and divide by a worker pod's processes x threads for the pods needed "
    "(tributary_common/backlog.py).",
    ("queue", "state"),
)
WORKER_PROCESSES_LIVE = ScrapeMetric(
    "tributary_worker_processes_live",
    "Worker processes with a fresh Dramatiq heartbeat in Redis (any scrape job, any pod).",
    (),
)
COLLECTOR_UP = ScrapeMetric(
    "tributary_collector_up",
    "1 if the last scrape read this source (redis, ledger, limiter), 0 if it failed.",
    ("source",),
)
COLLECTOR_DURATION = ScrapeMetric(
    "tributary_collector_duration_seconds",
    "Time the last scrape spent reading this source.",
    ("source",),
)

SCRAPE_METRICS: tuple[ScrapeMetric, ...] = (
    QUEUE_DEPTH,
    OLDEST_PENDING_AGE,
    DEAD_LETTERS,
    CONNECTIONS,
    SCHEDULER_LAST_SUCCESS,
    SCHEDULER_LAST_RUN,
    SCHEDULER_RUNS,
    SCHEDULER_FAILURES,
    RATELIMIT_COOLDOWN,
    RATELIMIT_COOLDOWNS_ACTIVE,
    RATELIMIT_USAGE_RATIO,
    RATELIMIT_SLOTS_IN_USE,
    EVENT_ENDPOINTS,
    EVENT_OUTBOX_PENDING,
    AUTOSCALING_BACKLOG,
    WORKER_PROCESSES_LIVE,
    COLLECTOR_UP,
    COLLECTOR_DURATION,
)


CREDENTIAL_REFRESHES = Counter(
    "tributary_credential_refreshes_total",
    "Credential refresh attempts by outcome: refreshed, rejected (the stored refresh token "
    "was refused: needs_reauth), unavailable (token endpoint 5xx/timeout/429: deferred), "
    "superseded (refused, but another process had rotated it), lost_race (compare-and-set "
    "lost), waited_out (another process's refresh outlasted the wait: deferred).",
    ["provider", "outcome"],
)


@safely
def credential_refresh(provider: str, outcome: str) -> None:
    CREDENTIAL_REFRESHES.labels(provider, outcome).inc()
