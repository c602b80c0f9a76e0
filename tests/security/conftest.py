"""The api fixtures (in-process app, live gunicorn) and the e2e stack, shared."""

from __future__ import annotations

from tests.api.conftest import api, live, pool, sim, simulator_server
from tests.e2e.conftest import stack

__all__ = ["api", "live", "pool", "sim", "simulator_server", "stack"]
