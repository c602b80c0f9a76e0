"""CLI tests run `bin/tributary` against the live gunicorn api."""

from __future__ import annotations

from tests.api.conftest import live
from tests.support.simulator import sim, simulator_server

__all__ = ["live", "sim", "simulator_server"]
