"""Credential tests use the api app (tests/api), the pipeline stack (tests/e2e) and the
simulator, all on real PostgreSQL and Redis."""

from __future__ import annotations

from tests.api.conftest import api, pool
from tests.e2e.conftest import stack
from tests.support.simulator import sim, simulator_server

__all__ = ["api", "pool", "sim", "simulator_server", "stack"]
