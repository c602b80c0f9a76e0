"""Per-process worker state, built after fork: pool, Redis, limiter, runner, promoter.

A Dramatiq middleware owns the lifecycle: `after_process_boot` builds everything (so no
connection crosses a fork), `before_worker_shutdown` starts the grace period in which
running jobs may finish, `after_worker_shutdown` closes the pool.

Dramatiq stops a worker process a few seconds after the grace (``--worker-shutdown-timeout``,
see __main__). Jobs stop at their next page once the
grace is over; a job still inside a long provider call by then is handed back as
`interrupted` by a watchdog thread, before the kill, so it is not taken for a crash.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import dramatiq
import redis
from psycopg_pool import ConnectionPool
from tributary_common import scheduling
from tributary_common.connectors import ConnectorRegistry
from tributary_common.credentials.factory import build_credentials
from tributary_common.db import open_pool
from tributary_common.dispatch import Dispatcher
from tributary_common.errors import LedgerUnavailable
from tributary_common.event_sender import Sender
from tributary_common.lease import LeaseKeeper
from tributary_common.liveness import Liveness
from tributary_common.logs import event
from tributary_common.ratelimit import build_limiter
from tributary_common.runner import JobRunner, RunPolicy
from tributary_common.settings import Settings
from tributary_common.shutdown import StopSignal

log = logging.getLogger(__name__)

#: How often due delayed messages (retries, deferrals) are moved onto their queues.
PROMOTE_INTERVAL_SECONDS = 0.1
#: How often each worker process looks for jobs whose worker died (expired leases).
RECOVER_INTERVAL_SECONDS = 2.0
#: After the shutdown grace, jobs still running are handed back this much later (the
#: process is killed 5 s after the grace: `__main__.SHUTDOWN_MARGIN_SECONDS`).
HAND_BACK_AFTER_GRACE_SECONDS = 1.0

#: How often the heartbeat files the pod's probes read are touched (tributary_worker.probe).
HEARTBEAT_INTERVAL_SECONDS = 1.0


class Heartbeat:
    """This process's heartbeat files for the Kubernetes probes (see tributary_worker.probe)."""

    def __init__(self, directory: str | None) -> None:
        self.directory = Path(directory) / "health" if directory else None
        self.next_beat = 0.0
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)

    def beat(self, redis_ok: bool) -> None:
        """Touch ``<pid>.alive``, and ``<pid>.ready`` when Redis answered (about once a second)."""
        if self.directory is None or time.monotonic() < self.next_beat:
            return
        self.next_beat = time.monotonic() + HEARTBEAT_INTERVAL_SECONDS
        pid = os.getpid()
        try:
            (self.directory / f"{pid}.alive").touch()
            ready = self.directory / f"{pid}.ready"
            if redis_ok:
                ready.touch()
            else:
                ready.unlink(missing_ok=True)
        except OSError as exc:
            event(log, "heartbeat.write_failed", logging.WARNING, error=type(exc).__name__)


@dataclass
class Runtime:
    pool: ConnectionPool
    redis: redis.Redis
    runner: JobRunner
    stop: StopSignal
    leases: LeaseKeeper
    promoter: threading.Thread
    #: Delivers the events outbox (`tributary_common.event_sender`), off the job threads.
    sender: threading.Thread | None = None


_current: Runtime | None = None


def current() -> Runtime:
    if _current is None:
        raise RuntimeError("worker runtime not booted")
    return _current


def build(settings: Settings, registry: ConnectorRegistry) -> Runtime:
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    # Fixed size, opened at boot so the first jobs do not wait for connections to be made;
    # shared by every thread (no thread holds one while it waits on a provider), so
    # threads can far outnumber connections (settings.worker_pool_size, docs/deploy.md).
    size = settings.worker_pool_size()
    pool = open_pool(settings.database_url, min_size=size, max_size=size)
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5, health_check_interval=30)
    limiter = build_limiter(settings, client)
    dispatcher = Dispatcher(client, settings.namespace)
    stop = StopSignal(settings.shutdown_grace_seconds)
    leases = LeaseKeeper(
        pool,
        limiter,
        owner=owner,
        lease_seconds=settings.job_lease_seconds,
        liveness=Liveness(client, settings.namespace),
    )
    runner = JobRunner(
        pool=pool,
        dispatcher=dispatcher,
        limiter=limiter,
        registry=registry,
        provider_configs=settings.provider_configs(),
        policy=RunPolicy.from_settings(settings),
        owner=owner,
        stop=stop,
        leases=leases,
        credentials=build_credentials(
            settings, pool=pool, client=client, limiter=limiter, owner=owner
        ),
    )
    promoter = threading.Thread(
        target=_housekeeping_loop,
        args=(pool, dispatcher, stop, settings.crash_limit),
        name="housekeeping",
        daemon=True,
    )
    sender = threading.Thread(
        target=Sender(pool, settings.events).loop,
        args=(stop.is_set, stop.wait),
        name="event-sender",
        daemon=True,
    )
    return Runtime(pool, client, runner, stop, leases, promoter, sender)


def _housekeeping_loop(
    pool: ConnectionPool, dispatcher: Dispatcher, stop: StopSignal, crash_limit: int
) -> None:
    """Promote due delayed messages (every 0.1 s), recover dead workers' jobs (every 2 s) and
    keep the probes' heartbeat files fresh. The scheduler's `housekeeping` CronJob does the
    first two when no worker runs (scale to zero)."""
    next_recovery = 0.0
    heartbeat = Heartbeat(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
    while not stop.is_set():
        try:
            moved = dispatcher.promote_due()
            redis_ok = True
        except redis.RedisError as exc:
            event(log, "promoter.redis_error", logging.WARNING, error=type(exc).__name__)
            moved, redis_ok = 0, False
        heartbeat.beat(redis_ok)
        if time.monotonic() >= next_recovery:
            next_recovery = time.monotonic() + RECOVER_INTERVAL_SECONDS
            try:
                report = scheduling.recover_expired(pool, dispatcher, crash_limit=crash_limit)
            except (LedgerUnavailable, redis.RedisError) as exc:
                event(log, "recovery.failed", logging.WARNING, error=type(exc).__name__)
            else:
                if report.recovered or report.dead_lettered:
                    event(
                        log,
                        "recovery.expired_leases",
                        recovered=report.recovered,
                        dead_lettered=report.dead_lettered,
                    )
        if moved == 0:
            stop.wait(PROMOTE_INTERVAL_SECONDS)


def _hand_back_at_deadline(rt: Runtime) -> None:
    """Once the grace is over, hand back every job still running (see the module doc)."""
    rt.stop.wait_past_grace(HAND_BACK_AFTER_GRACE_SECONDS)
    count = rt.runner.hand_back_running()
    if count:
        event(log, "worker.handed_back", logging.WARNING, jobs=count)


class WorkerRuntime(dramatiq.Middleware):
    def __init__(self, settings: Settings, registry: ConnectorRegistry) -> None:
        self.settings = settings
        self.registry = registry

    def after_process_boot(self, broker: dramatiq.Broker) -> None:
        global _current
        _current = build(self.settings, self.registry)
        _current.promoter.start()
        if _current.sender is not None:
            _current.sender.start()
        event(log, "worker.booted", owner=_current.runner.owner)

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        event(
            log,
            "worker.consuming",
            threads=worker.worker_threads,
            queue_prefetch=worker.queue_prefetch,
            poll_timeout_ms=worker.worker_timeout,
        )

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        if _current is not None:
            _current.stop.request()
            threading.Thread(
                target=_hand_back_at_deadline, args=(_current,), name="hand-back", daemon=True
            ).start()
            event(log, "worker.stopping", grace_seconds=self.settings.shutdown_grace_seconds)

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        if _current is not None:
            _current.leases.stop()
            _current.pool.close()
            _current.redis.close()
