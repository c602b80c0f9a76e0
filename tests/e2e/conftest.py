from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.stack import Stack
from tests.support.simulator import SimAdmin, sim, simulator_server

__all__ = ["sim", "simulator_server"]


@pytest.fixture
def stack(
    database_url: str, redis_url: str, namespace: str, sim: SimAdmin, tmp_path: Path
) -> Iterator[Stack]:
    s = Stack(database_url, redis_url, namespace, sim.url, tmp_path)
    yield s
    s.close()
