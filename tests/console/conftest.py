"""Console tests reuse the api fixtures: the app on real PostgreSQL/Redis, a live gunicorn."""

from __future__ import annotations

from tests.api.conftest import api, live, pool
from tests.support.simulator import sim, simulator_server

__all__ = ["api", "live", "pool", "sim", "simulator_server"]
