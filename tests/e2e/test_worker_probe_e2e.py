"""A real worker keeps the probe's heartbeat files fresh; once it stops, liveness fails."""

from __future__ import annotations

import subprocess
import sys
import time

from tests.e2e.stack import Stack


def probe(stack: Stack, kind: str, metrics_dir: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tributary_worker.probe", kind, "--max-age", "3"],
        env={
            **stack.env,
            "PROMETHEUS_MULTIPROC_DIR": metrics_dir,
            "TRIBUTARY_WORKER_PROCESSES": "2",
        },
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_probes_follow_a_real_worker(stack: Stack) -> None:
    metrics_dir = str(stack.tmp / "metrics-0")  # where start_workers points the first one
    stack.start_workers(processes=2, threads=1)
    deadline = time.monotonic() + 60
    while probe(stack, "ready", metrics_dir).returncode != 0:
        assert time.monotonic() < deadline, stack.worker_log()[-3000:]
        time.sleep(0.5)
    assert probe(stack, "live", metrics_dir).returncode == 0
    stack.stop_workers()
    time.sleep(3.5)
    stopped = probe(stack, "live", metrics_dir)
    assert stopped.returncode == 1 and "0 of 2" in stopped.stderr
