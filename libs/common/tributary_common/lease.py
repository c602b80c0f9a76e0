"""Keeps the leases of this process's running jobs alive: ledger lease and concurrency slot.

One thread per process renews every running job every third of the lease, so a killed
worker's jobs (and slots) free themselves within one lease. Each round it also marks the
holder alive in Redis (`Liveness`) before it touches the ledger, so a holder that cannot
reach PostgreSQL is not mistaken for a dead one.
"""

from __future__ import annotations

import logging
import threading
import uuid

import redis
from psycopg_pool import ConnectionPool

from .errors import LedgerConflict, LedgerUnavailable
from .ledger import jobs
from .liveness import Liveness
from .ratelimit.base import RateLimiter

log = logging.getLogger(__name__)


class LeaseKeeper:
    def __init__(
        self,
        pool: ConnectionPool,
        limiter: RateLimiter,
        *,
        owner: str,
        lease_seconds: float,
        liveness: Liveness | None = None,
    ) -> None:
        self.pool = pool
        self.liveness = liveness
        self.limiter = limiter
        self.owner = owner
        self.lease_seconds = lease_seconds
        self._running: dict[uuid.UUID, str] = {}  # job id → provider holding a slot
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, job_id: uuid.UUID, provider: str) -> None:
        with self._lock:
            self._running[job_id] = provider
        self._ensure_thread()

    def drop(self, job_id: uuid.UUID) -> None:
        with self._lock:
            self._running.pop(job_id, None)

    def renew_once(self) -> None:
        with self._lock:
            running = dict(self._running)
        if not running:
            return
        if self.liveness is not None:
            try:
                self.liveness.beat(self.owner, self.lease_seconds)
            except redis.RedisError:
                log.warning("lease.heartbeat_failed", extra={"jobs": len(running)})
        try:
            jobs.renew_leases(
                self.pool, list(running), owner=self.owner, lease_seconds=self.lease_seconds
            )
        except (LedgerUnavailable, LedgerConflict):
            log.warning("lease.renew_failed", extra={"jobs": len(running)})
        for job_id, provider in running.items():
            self.limiter.renew_slot(provider, str(job_id), self.lease_seconds)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="lease-keeper", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            try:
                self.renew_once()
            except Exception:
                log.exception("lease.loop_error")

    def stop(self) -> None:
        self._stop.set()
