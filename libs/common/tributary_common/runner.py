"""Runs one sync job: claim, connector, and exactly one ending recorded in the ledger.

Shared by the worker's actors and the api's `process-queue`, so both apply the same
limiter, classification and retry policy.

Infrastructure is not the job's fault: when the ledger cannot be reached (or answers
with a deadlock or lock timeout) while a job runs, the job is handed back as
`interrupted` (no attempt counted, its cursor kept), and every ending is written again
and again until the ledger answers. `claim` raising `LedgerUnavailable` or
`LedgerConflict` means nothing happened; the caller leaves the job's message for later.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, TypeVar

import httpx
import redis
from psycopg_pool import ConnectionPool

from . import bands, metrics
from .categories import ErrorCategory, backoff_seconds
from .connectors import ConnectorRegistry, ProviderConfig, SyncRequest
from .credentials.model import Credential
from .credentials.service import CredentialService
from .dispatch import Dispatcher
from .errors import (
    ConnectionPaused,
    Deferred,
    JobCancelled,
    LedgerConflict,
    LedgerUnavailable,
    ProviderError,
    ShutdownRequested,
    Throttled,
)
from .lease import LeaseKeeper
from .ledger import jobs
from .ledger.connections import to_info
from .logs import event
from .provider_http import ProviderHttp
from .ratelimit.base import RateLimiter
from .redaction import guarding, redact
from .settings import Settings
from .shutdown import StopSignal
from .sync_context import LedgerSyncContext
from .throttle import DEFAULT_THROTTLE_WAIT, ThrottleWait

log = logging.getLogger(__name__)

_T = TypeVar("_T")

#: Accepts no cookie from any domain.
_NO_COOKIES = DefaultCookiePolicy(allowed_domains=[])


@dataclass(frozen=True)
class RunPolicy:
    max_retries: int = 3
    backoff_base_seconds: float = 2.0
    lease_seconds: float = 10.0
    crash_limit: int = 3
    #: A refusal shorter than this is slept through inside the request.
    max_inline_wait_seconds: float = 1.0
    #: A deferred job's message is due this much before its limiter reservation, and the
    #: runner waits out the rest, so the job is on time for the permit held for it
    #: (messages take a few hundred milliseconds from the delayed set to a worker).
    defer_lead_seconds: float = 0.3
    #: A provider throttle defers the job; one that ends more than this long after the
    #: job's first throttle dead-letters it as RATE_LIMIT instead (seconds).
    throttle_horizon_seconds: float = 86_400.0
    #: Pause between two tries of an ending the ledger could not take (grows to the max).
    ending_retry_seconds: float = 0.2
    ending_retry_max_seconds: float = 2.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RunPolicy:
        return cls(
            max_retries=settings.max_retries,
            backoff_base_seconds=settings.backoff_base_seconds,
            lease_seconds=settings.job_lease_seconds,
            crash_limit=settings.crash_limit,
            throttle_horizon_seconds=settings.throttle_horizon_seconds,
        )


@dataclass(frozen=True)
class RunResult:
    job_id: uuid.UUID
    #: completed, retried, failed, deferred, interrupted, held (its connection was paused
    #: during the run), cancelled (its connection was deleted under it) — or, when nothing
    #: ran: duplicate (already done or running), early (not due yet), missing (deleted),
    #: held (the connection is paused; the job waits for resume, the message is dropped).
    outcome: str
    category: str | None = None
    error: str | None = None
    records: int = 0
    delay_seconds: float = 0.0


class JobRunner:
    def __init__(
        self,
        *,
        pool: ConnectionPool,
        dispatcher: Dispatcher,
        limiter: RateLimiter,
        registry: ConnectorRegistry,
        provider_configs: Mapping[str, ProviderConfig],
        policy: RunPolicy,
        owner: str,
        stop: StopSignal,
        leases: LeaseKeeper,
        credentials: CredentialService,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.pool = pool
        self.dispatcher = dispatcher
        self.limiter = limiter
        self.registry = registry
        self.provider_configs = provider_configs
        self.policy = policy
        self.owner = owner
        self.stop = stop
        self.leases = leases
        self.credentials = credentials
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        # Loading the CA bundle costs ~20 ms: once per runner, not once per job.
        self._ssl = httpx.create_ssl_context()
        # One HTTP client per (thread, provider), kept across jobs: connections to the
        # provider stay open (no TLS handshake per job) and building a client is not free.
        self._local = threading.local()
        # Jobs running now, for `hand_back_running` at the end of a shutdown's grace.
        self._running: dict[uuid.UUID, tuple[_Started, list[LedgerSyncContext]]] = {}
        self._running_lock = threading.Lock()

    def _client(self, provider: str, config: ProviderConfig) -> httpx.Client:
        clients: dict[str, httpx.Client] = self._local.__dict__.setdefault("clients", {})
        client = clients.get(provider)
        if client is None:
            client = clients[provider] = httpx.Client(
                base_url=config.base_url,
                timeout=config.timeout_seconds,
                verify=self._ssl,
                # Shared by every account's jobs on this thread: no cookie may carry over.
                cookies=CookieJar(policy=_NO_COOKIES),
            )
        return client

    def run(self, job_id: uuid.UUID) -> RunResult:
        job = jobs.claim(
            self.pool, job_id, owner=self.owner, lease_seconds=self.policy.lease_seconds
        )
        if job is None:
            return self._not_claimed(job_id)
        started = _Started(job=job, at=datetime.now(UTC), mono=time.monotonic())
        provider = job["platform"]
        event(log, "job.claimed", job_id=str(job_id), provider=provider, queue=job["queue"])
        if job["crash_count"] >= self.policy.crash_limit:
            message = f"worker died {job['crash_count']} times while running this job"
            return self._fail(started, ErrorCategory.UNKNOWN, message, attempted=False)
        if job["connection_status"] == "paused":
            return self._hold(started, 0)
        if job["connection_status"] != "active":
            category = (
                ErrorCategory.API_ERROR
                if job["connection_status"] == "needs_reauth"
                else ErrorCategory.VALIDATION_ERROR
            )
            message = f"connection is {job['connection_status']}"
            return self._fail(started, category, message, attempted=False)
        if provider not in self.registry or provider not in self.provider_configs:
            message = f"no connector for provider {provider!r}"
            return self._fail(started, ErrorCategory.VALIDATION_ERROR, message)
        if float(job["early_seconds"]) > 0:
            self.sleep(min(float(job["early_seconds"]), self.policy.max_inline_wait_seconds))
        metrics.job_started(provider, job["trigger"], job["queue"], float(job["wait_seconds"]))
        slot = self.limiter.acquire_slot(provider, str(job_id), self.policy.lease_seconds)
        if not slot.allowed:
            until = datetime.fromtimestamp(slot.retry_at, tz=UTC)
            return self._defer(started, Deferred(until, "no concurrency slot", scope="slots"), 0)
        self.leases.hold(job_id, provider)
        contexts: list[LedgerSyncContext] = []
        with self._running_lock:
            self._running[job_id] = (started, contexts)
        try:
            return self._run_connector(started, contexts)
        finally:
            with self._running_lock:
                self._running.pop(job_id, None)
            self.leases.drop(job_id)
            self.limiter.release_slot(provider, str(job_id))

    def hand_back_running(self) -> int:
        """Hand every job still running back as `interrupted` (its cursor is in the ledger
        from its last page); return how many. Called when a shutdown's grace has run out
        and threads are still inside a provider call, before the process is killed."""
        with self._running_lock:
            running = list(self._running.values())
        for started, contexts in running:
            self._interrupt(started, _records(contexts[0] if contexts else None))
        return len(running)

    def _run_connector(self, started: _Started, contexts: list[LedgerSyncContext]) -> RunResult:
        # Every text of this run (error messages, log lines, the result) is masked of the
        # connection's secrets by value (`_sync` adds them as it decrypts or renews them).
        with ExitStack() as guards:
            return self._sync(started, guards, contexts)

    def _sync(
        self, started: _Started, guards: ExitStack, contexts: list[LedgerSyncContext]
    ) -> RunResult:
        job = started.job
        provider = job["platform"]
        config = self.provider_configs[provider]
        connector = self.registry.build(provider, config)
        context: LedgerSyncContext | None = None
        try:
            # Decrypted here, in the process that calls the provider, and nowhere else.
            row = {**job, "id": job["connection_id"], "provider": provider}
            held: list[Credential] = [self.credentials.current(row, job["connection_id"])]
            guards.enter_context(guarding(held[0].secrets()))
            connection = to_info(row, held[0].access_token)

            def reauthorize(response: httpx.Response) -> dict[str, str] | None:
                renewed = self.credentials.after_rejection(held[0], response)
                if renewed is None:
                    return None
                held[0] = renewed
                guards.enter_context(guarding(renewed.secrets()))
                return connector.default_headers(to_info(row, renewed.access_token))

            request = SyncRequest(
                job_id=job["id"],
                connection=connection,
                sync_date=job["sync_date"],
                trigger=job["trigger"],
                options=job.get("options") or {},
            )
            http = ProviderHttp(
                provider=provider,
                account=connection.account_id,
                client=self._client(provider, config),
                headers=connector.default_headers(connection),
                limiter=self.limiter,
                error_mapper=connector.error_mapper,
                feedback=connector.feedback,
                observe=metrics.provider_response,
                max_inline_wait_seconds=self.policy.max_inline_wait_seconds,
                unstated_wait_seconds=_throttle_wait(connector).unstated(job.get("throttles", 0)),
                reauthorize=reauthorize,
            )
            context = LedgerSyncContext(self.pool, request, http, stop=self.stop)
            contexts.append(context)
            connector.sync(context)
        except Deferred as deferred:
            return self._defer(started, deferred, _records(context))
        except ShutdownRequested:
            return self._interrupt(started, _records(context))
        except ConnectionPaused:
            return self._hold(started, _records(context))
        except JobCancelled:
            return self._cancelled(started, _records(context))
        except Throttled as throttle:
            return self._throttled(started, throttle, _records(context))
        except (LedgerUnavailable, LedgerConflict) as exc:
            # Not the job's fault: hand it back, to run again once the ledger answers.
            reason = f"ledger unavailable: {exc}"
            return self._interrupt(started, _records(context), reason=reason)
        except ProviderError as exc:
            retry_at = exc.retry_at.timestamp() if exc.retry_at else None
            message = redact(str(exc))
            return self._failure(started, exc.category, message, _records(context), retry_at)
        except Exception as exc:  # anything unclassified is UNKNOWN, and retried
            if jobs.state(self.pool, job["id"]) is None:  # deleted with its connection
                return self._cancelled(started, _records(context))
            log.exception("job.unexpected_error", extra={"job_id": str(job["id"])})
            message = redact(f"{type(exc).__name__}: {exc}")
            return self._failure(started, ErrorCategory.UNKNOWN, message, _records(context), None)
        return self._complete(started, _records(context))

    def _end(self, started: _Started, outcome: str, records: int, **kw: Any) -> jobs.AttemptEnd:
        return jobs.AttemptEnd(
            owner=self.owner,
            started_at=started.at,
            outcome=outcome,
            records=records,
            duration_ms=started.elapsed_ms(),
            **kw,
        )

    def _complete(self, started: _Started, records: int) -> RunResult:
        job = started.job
        end = self._end(started, "completed", records)
        row = self._write(started, lambda: jobs.complete(self.pool, job["id"], end))
        outcome = "completed" if row is not None else self._lost(job["id"])
        self._finished(started, outcome, records=records)
        return RunResult(job["id"], outcome, records=records)

    def _throttled(self, started: _Started, throttle: Throttled, records: int) -> RunResult:
        """A provider throttle: defer, unless it ends past the horizon (then RATE_LIMIT)."""
        job = started.job
        since = job.get("throttled_since")
        start = since.timestamp() if since is not None else self.clock()
        horizon = self.policy.throttle_horizon_seconds
        if throttle.until.timestamp() - start > horizon:
            message = f"throttled beyond the {horizon:g} s horizon: {throttle}"
            return self._fail(started, ErrorCategory.RATE_LIMIT, message, records=records)
        how = "stated" if throttle.stated else "default"
        reason = f"provider throttle ({throttle.scope}, {how} wait): {throttle}"
        deferred = Deferred(throttle.until, reason, scope=f"throttle:{throttle.scope}")
        return self._defer(started, deferred, records, throttled=True)

    def _defer(
        self, started: _Started, deferred: Deferred, records: int, *, throttled: bool = False
    ) -> RunResult:
        job = started.job
        # The limiter's times are on the Redis clock: the wait is measured on it too, and
        # the ledger's not_before is that wait from its own now() (never this host's clock).
        wait = max(deferred.until.timestamp() - self._redis_now(), 0.0)
        delay = max(wait - self.policy.defer_lead_seconds, 0.0)
        message_id = jobs.new_message_id()
        category = ErrorCategory.RATE_LIMIT.value if throttled else None
        error = redact(deferred.reason)
        end = self._end(started, "deferred", records, category=category, error=error)
        row = self._write(
            started,
            lambda: jobs.back_to_pending(
                self.pool,
                job["id"],
                end,
                not_before=None,
                delay_seconds=wait,
                message_id=message_id,
                throttled=throttled,
            ),
        )
        if row is not None:
            self.dispatcher.try_send(job["id"], row["queue"], message_id, delay)
        metrics.ratelimit_decision(job["platform"], deferred.scope, "deferred")
        self._finished(started, "deferred", records=records, delay=delay)
        return RunResult(job["id"], "deferred", records=records, delay_seconds=delay)

    def _hold(self, started: _Started, records: int) -> RunResult:
        """The connection is paused: the job waits, held, for resume (no attempt counted)."""
        job = started.job
        end = self._end(started, "held", records, error="connection is paused")
        row = jobs.hold_running(self.pool, job["id"], end)
        outcome = "held" if row is not None else self._lost(job["id"])
        self._finished(started, outcome, records=records)
        return RunResult(job["id"], outcome, records=records)

    def _cancelled(self, started: _Started, records: int) -> RunResult:
        """The connection (and with it the job) was deleted during the run."""
        self._finished(started, "cancelled", records=records)
        return RunResult(started.job["id"], "cancelled", records=records)

    def _lost(self, job_id: uuid.UUID) -> str:
        """Why a guarded update matched nothing: the job was deleted, or someone else ended it."""
        return "cancelled" if jobs.state(self.pool, job_id) is None else "duplicate"

    def _redis_now(self) -> float:
        """The Redis server's clock (the limiter's); this host's only if Redis is down."""
        try:
            return self.dispatcher.server_time()
        except redis.RedisError:
            return self.clock()

    def _interrupt(
        self, started: _Started, records: int, reason: str = "worker shutting down"
    ) -> RunResult:
        job = started.job
        message_id = jobs.new_message_id()
        end = self._end(started, "interrupted", records, error=reason)
        row = self._write(
            started,
            lambda: jobs.back_to_pending(
                self.pool, job["id"], end, not_before=None, message_id=message_id
            ),
        )
        if row is None:  # already handed back (shutdown) or no longer ours
            return RunResult(job["id"], "duplicate", records=records)
        self.dispatcher.try_send(job["id"], row["queue"], message_id, 0)
        self._finished(started, "interrupted", error=reason, records=records)
        return RunResult(job["id"], "interrupted", error=reason, records=records)

    def _failure(
        self,
        started: _Started,
        category: ErrorCategory,
        message: str,
        records: int,
        retry_at: float | None,
    ) -> RunResult:
        job = started.job
        if category.retryable and job["retry_count"] < self.policy.max_retries:
            delay = backoff_seconds(
                job["retry_count"] + 1, self.policy.backoff_base_seconds, self.rng
            )
            if retry_at is not None:  # parsed against this host's clock: only the wait counts
                delay = max(delay, retry_at - self.clock())
            message_id = jobs.new_message_id()
            end = self._end(started, "retried", records, category=category.value, error=message)
            row = self._write(
                started,
                lambda: jobs.retry(
                    self.pool, job["id"], end, delay_seconds=delay, message_id=message_id
                ),
            )
            if row is None and self._lost(job["id"]) == "cancelled":
                return self._cancelled(started, records)
            if row is not None:
                self.dispatcher.try_send(job["id"], bands.RETRY.queue, message_id, delay)
            self._finished(started, "retried", category, message, records, delay)
            return RunResult(job["id"], "retried", category.value, message, records, delay)
        return self._fail(started, category, message, records=records)

    def _fail(
        self,
        started: _Started,
        category: ErrorCategory,
        message: str,
        *,
        records: int = 0,
        attempted: bool = True,
    ) -> RunResult:
        job = started.job
        end = self._end(started, "failed", records, category=category.value, error=message)
        needs_reauth = category.needs_reauth and job["connection_status"] == "active"
        row = self._write(
            started,
            lambda: jobs.fail(
                self.pool,
                job["id"],
                end,
                owner=self.owner,
                attempted=attempted,
                needs_reauth=needs_reauth,
            ),
        )
        if row is None and self._lost(job["id"]) == "cancelled":
            return self._cancelled(started, records)
        metrics.dead_lettered(job["platform"], category.value)
        self._finished(started, "failed", category, message, records)
        return RunResult(job["id"], "failed", category.value, message, records)

    def _write(self, started: _Started, write: Callable[[], _T]) -> _T:
        """Run one ending's ledger write, again and again until the ledger takes it.

        The job stays leased to this worker meanwhile (its holder key says it is alive),
        so no one else runs it and no crash is counted.
        """
        pause = self.policy.ending_retry_seconds
        while True:
            try:
                return write()
            except (LedgerUnavailable, LedgerConflict) as exc:
                event(
                    log,
                    "job.ending_retry",
                    logging.WARNING,
                    job_id=str(started.job["id"]),
                    error=str(exc),
                    pause_seconds=round(pause, 3),
                )
                self.sleep(pause)
                pause = min(pause * 2, self.policy.ending_retry_max_seconds)

    def _not_claimed(self, job_id: uuid.UUID) -> RunResult:
        state = jobs.state(self.pool, job_id)
        if state is None:
            return RunResult(job_id, "missing")
        # A redelivery while another worker holds the job: look again once the lease
        # would have expired, in case that worker died (this may be the only message);
        # recovery puts a dead holder's job back to pending meanwhile.
        if state["status"] == "held":
            return RunResult(job_id, "held")
        if state["status"] == "processing":
            self.dispatcher.try_send(
                job_id,
                state["queue"],
                jobs.new_message_id(),
                max(float(state["lease_left_seconds"]), 0.0) + 1.0,
            )
            return RunResult(job_id, "duplicate")
        if state["status"] == "pending" and float(state["wait_left_seconds"]) > 0.1:
            delay = float(state["wait_left_seconds"])
            self.dispatcher.try_send(job_id, state["queue"], jobs.new_message_id(), delay)
            return RunResult(job_id, "early", delay_seconds=delay)
        return RunResult(job_id, "duplicate")

    def _finished(
        self,
        started: _Started,
        outcome: str,
        category: ErrorCategory | None = None,
        error: str | None = None,
        records: int = 0,
        delay: float | None = None,
    ) -> None:
        job = started.job
        seconds = started.elapsed_ms() / 1000
        metrics.job_finished(
            job["platform"], job["trigger"], outcome, seconds, category.value if category else None
        )
        event(
            log,
            f"job.{outcome}",
            logging.WARNING if outcome == "failed" else logging.INFO,
            job_id=str(job["id"]),
            provider=job["platform"],
            trigger=job["trigger"],
            queue=job["queue"],
            category=category.value if category else None,
            error=error,
            records=records,
            duration_ms=started.elapsed_ms(),
            delay_seconds=None if delay is None else round(delay, 3),
        )


@dataclass(frozen=True)
class _Started:
    job: dict[str, Any]
    at: datetime
    mono: float

    def elapsed_ms(self) -> int:
        return int((time.monotonic() - self.mono) * 1000)


def _throttle_wait(connector: object) -> ThrottleWait:
    """The connector's default throttle wait (optional attribute ``throttle_wait``)."""
    wait = getattr(connector, "throttle_wait", None)
    return wait if isinstance(wait, ThrottleWait) else DEFAULT_THROTTLE_WAIT


def _records(context: LedgerSyncContext | None) -> int:
    return 0 if context is None else context.new_records
