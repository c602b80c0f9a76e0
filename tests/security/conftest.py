"""The api fixtures (in-process app and live gunicorn) shared with tests/api."""

from __future__ import annotations

from tests.api.conftest import api, live, pool, sim, simulator_server

__all__ = ["api", "live", "pool", "sim", "simulator_server"]
