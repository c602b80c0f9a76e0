"""The worker pod's probe: fresh heartbeat files of every process, or a failing exit."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from tributary_worker import probe


@pytest.fixture
def metrics_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setenv("TRIBUTARY_WORKER_PROCESSES", "2")
    (tmp_path / "health").mkdir()
    return tmp_path / "health"


def touch(path: Path, age: float) -> None:
    path.touch()
    then = time.time() - age
    os.utime(path, (then, then))


def test_live_needs_every_process_fresh(metrics_dir: Path, capsys) -> None:
    touch(metrics_dir / "1.alive", 1)
    touch(metrics_dir / "2.alive", 1)
    assert probe.main(["live"]) == 0
    touch(metrics_dir / "2.alive", 60)  # one process hung
    assert probe.main(["live", "--max-age", "30"]) == 1
    assert "1 of 2 worker processes alive" in capsys.readouterr().err


def test_ready_needs_every_process_to_reach_redis(metrics_dir: Path) -> None:
    for pid in (1, 2):
        touch(metrics_dir / f"{pid}.alive", 0)
    assert probe.main(["ready"]) == 1  # alive, but no Redis round trip yet
    for pid in (1, 2):
        touch(metrics_dir / f"{pid}.ready", 2)
    assert probe.main(["ready"]) == 0


def test_probe_without_metrics_dir_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    assert probe.main(["live"]) == 2
