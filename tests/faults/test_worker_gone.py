"""A dead Dramatiq child process stops the whole worker; `make run`'s supervisor says so
loudly and starts the worker again, which goes on with the queue."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable

import psutil
import pytest

from tests.e2e.stack import Stack
from tests.faults.conftest import record
from tests.support.simulator import SimAdmin
from tools.localstack.run import supervise

pytestmark = pytest.mark.timeout(120)


def test_a_dead_worker_child_is_reported_and_the_worker_restarted(
    stack: Stack, sim: SimAdmin
) -> None:
    # Given a worker of 2 processes under the supervisor
    procs = [stack.start_workers(processes=2, threads=1)]
    restarts: dict[int, Callable[[], subprocess.Popen[bytes]]] = {
        0: lambda: stack.start_workers(processes=1, threads=2)
    }
    stack.wait_for(
        lambda: stack.worker_log().count("Worker process is ready for action") == 2,
        60,
        "both worker processes ready",
    )
    children = psutil.Process(procs[0].pid).children()
    assert len(children) == 2

    # When one child process dies
    children[0].send_signal(signal.SIGKILL)
    died = time.monotonic()
    procs[0].wait(30)  # Dramatiq's parent stops the whole instance

    # Then the supervisor says so loudly and starts a worker that runs jobs again
    said: list[str] = []
    assert supervise(procs, restarts, said.append) == 1
    assert said and said[0].startswith("!!! WORKER GONE")
    assert procs[0].poll() is None
    job = stack.enqueue(stack.connect("github", "gone-acct")["id"], sim.today).job
    stack.wait_status([job["id"]], "completed", timeout=60)
    record("worker_child_killed", seconds_to_next_job_done=time.monotonic() - died)
    assert supervise(procs, restarts, said.append) == 0
