"""The `JobRunner` process-queue uses: built like the worker's, once per api process."""

from __future__ import annotations

import os
import socket
import threading
import uuid

from tributary_common.credentials.factory import build_credentials
from tributary_common.lease import LeaseKeeper
from tributary_common.liveness import Liveness
from tributary_common.runner import JobRunner, RunPolicy
from tributary_common.shutdown import StopSignal

from .deps import ApiDeps


class RunnerHolder:
    """Builds the runner on first use, in the process that serves the request (after fork)."""

    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps
        self._runner: JobRunner | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def get(self) -> JobRunner | None:
        """The runner, or None when the app was built without a connector registry."""
        if self.deps.registry is None:
            return None
        with self._lock:
            if self._runner is None or self._pid != os.getpid():
                self._runner = self._build()
                self._pid = os.getpid()
            return self._runner

    def _build(self) -> JobRunner:
        deps, settings = self.deps, self.deps.settings
        assert deps.registry is not None
        owner = f"api:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        leases = LeaseKeeper(
            deps.pool,
            deps.limiter,
            owner=owner,
            lease_seconds=settings.job_lease_seconds,
            liveness=Liveness(deps.redis, settings.namespace),
        )
        return JobRunner(
            pool=deps.pool,
            dispatcher=deps.dispatcher,
            limiter=deps.limiter,
            registry=deps.registry,
            provider_configs=settings.provider_configs(),
            policy=RunPolicy.from_settings(settings),
            owner=owner,
            stop=StopSignal(settings.shutdown_grace_seconds),
            leases=leases,
            credentials=build_credentials(
                settings, pool=deps.pool, client=deps.redis, limiter=deps.limiter, owner=owner
            ),
        )
