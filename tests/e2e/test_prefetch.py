"""Work that goes where it should (#19): a job never waits in a busy worker process while
another process of the deployment is idle. Real worker processes, Redis, simulator."""

from __future__ import annotations

from collections.abc import Callable

from tests.e2e.stack import Stack
from tests.support.simulator import SimAdmin

#: A 12 s provider call must not time out: the job is slow, not failing.
SLOW_ENV = {"TRIBUTARY_HTTP_TIMEOUT_SECONDS": "30"}
#: The idle process polls every 100 ms; the rest is claim, sync and the loaded machine.
MAX_START_SECONDS = 3.0


def _waits_of_jobs_beside_a_busy_one(
    stack: Stack, sim: SimAdmin, start: Callable[[], None], busy_trigger: str, tries: int = 8
) -> list[float]:
    sim.fault("github", "slow", account="busy-acct", count=1, delaySeconds=12)
    start()
    busy = stack.connect("github", "busy-acct")
    job = stack.enqueue(busy["id"], sim.today, trigger=busy_trigger).job
    stack.wait_for(lambda: stack.job(job["id"])["status"] == "processing", 20, "busy job running")
    waits = []
    for i in range(tries):
        conn = stack.connect("github", f"quick-{i}")
        quick = stack.enqueue(conn["id"], sim.today, trigger="manual").job
        stack.wait_status([quick["id"]], "completed", timeout=30)
        row = stack.job(quick["id"])
        waits.append((row["started_at"] - row["created_at"]).total_seconds())
    # The premise: the busy job was still running throughout, so every quick job had the
    # idle thread only (checked after the waits, which say what went wrong first)
    assert max(waits) < MAX_START_SECONDS, waits
    assert stack.job(job["id"])["status"] == "processing"
    return waits


def test_manual_job_never_waits_in_the_busy_process(stack: Stack, sim: SimAdmin) -> None:
    # Two worker processes with one thread each; one runs a 12 s job
    waits = _waits_of_jobs_beside_a_busy_one(
        stack, sim, lambda: stack.start_workers(processes=2, threads=1, **SLOW_ENV), "manual"
    )
    assert max(waits) < MAX_START_SECONDS, waits


def test_two_deployments_share_work_beside_a_busy_scheduled_job(
    stack: Stack, sim: SimAdmin
) -> None:
    # Two worker deployments of one process and one thread; a scheduled job keeps one busy
    def start() -> None:
        stack.start_workers(processes=1, threads=1, **SLOW_ENV)
        stack.start_workers(processes=1, threads=1, **SLOW_ENV)

    waits = _waits_of_jobs_beside_a_busy_one(stack, sim, start, "scheduled")
    assert max(waits) < MAX_START_SECONDS, waits
