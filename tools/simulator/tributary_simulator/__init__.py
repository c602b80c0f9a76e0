"""Tributary's provider simulator: a real HTTP server that behaves like six provider APIs.

Where things live: `server` (sockets, transport faults), `dispatch` (per-request
pipeline), `admin` (``/_admin/`` API), `ratelimit` (strict sliding windows), `faults`,
`requestlog`, `data` (seeded data helpers), `providers/` (one plugin per provider; see
`providers/base.py` for how to add one).
"""

from __future__ import annotations

from .server import SimulatorServer

__all__ = ["SimulatorServer"]
