"""Every Prometheus metric Tributary exports, in one module.

Names start with `tributary_`; labels are bounded (provider, queue, trigger, outcome,
category, scope, decision, route, method, status class, command) — never a user, account
or job id. Job metrics come from the workers (multiprocess mode, see `multiprocess.py`);
queue depth and ledger statistics are read at scrape time by the api's collector.
Recording metrics never raises into the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from prometheus_client import Counter, Histogram

log = logging.getLogger(__name__)

DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 3600, 14400)

JOBS_STARTED = Counter(
    "tributary_jobs_started_total", "Job runs started (claimed) by a worker.",
    ["provider", "trigger", "queue"],
)
JOBS_FINISHED = Counter(
    "tributary_jobs_finished_total",
    "Job runs finished, by outcome: completed, failed, retried, deferred, dead_lettered, interrupted.",
    ["provider", "trigger", "outcome"],
)
JOB_DURATION = Histogram(
    "tributary_job_duration_seconds", "Wall time of one job run.",
    ["provider", "outcome"], buckets=DURATION_BUCKETS,
)
JOB_QUEUE_WAIT = Histogram(
    "tributary_job_queue_wait_seconds", "Time from becoming pending to being claimed.",
    ["provider", "queue"], buckets=WAIT_BUCKETS,
)
JOB_ERRORS = Counter(
    "tributary_job_errors_total", "Failed job runs by error category.", ["provider", "category"]
)
PROVIDER_REQUESTS = Counter(
    "tributary_provider_requests_total",
    "HTTP requests sent to providers, by status class (2xx, 4xx, 5xx, error for transport failures).",
    ["provider", "status_class"],
)
RATELIMIT_DECISIONS = Counter(
    "tributary_ratelimit_decisions_total",
    "Limiter decisions: allowed, deferred (refused beyond the inline wait), cooldown (provider feedback).",
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
    "tributary_dead_letters_created_total", "Jobs dead-lettered, by error category.",
    ["provider", "category"],
)


@safely
def dead_lettered(provider: str, category: str) -> None:
    DEAD_LETTERS_CREATED.labels(provider, category).inc()
