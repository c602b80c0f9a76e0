"""Simulator tests run against the real simulator (see tests/support/simulator.py)."""

from __future__ import annotations

from tests.support.simulator import sim, simulator_server

__all__ = ["sim", "simulator_server"]
