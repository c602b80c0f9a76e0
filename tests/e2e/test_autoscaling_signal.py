"""The autoscaling signal, measured on the real system: the api under gunicorn serves
`/metrics` (Prometheus text format, parsed as Prometheus would), real worker processes run
syncs against the simulator, and a sampler scrapes every 0.25 s through four scenarios:

(a) a burst the workers absorb: the signal rises above one pod's capacity, the formula
    asks for more pods, and it returns to 0 when the work is done;
(b) a rate-limited backlog: jobs deferred by the provider limit and not due yet do not
    count, so the formula does not scale up for work more pods cannot do sooner;
(c) every thread busy, nothing waiting: the signal equals the running jobs, so the
    formula keeps the pod (the old `waiting` signal read 0 and asked for none);
(d) due retries with 0 workers: the signal sees them (0 -> 1 happens), the scheduler's
    `housekeeping` command promotes them with no worker running, and a worker started
    afterwards finishes them.

The samples are written to .run/autoscaling/samples.json; `python -m
tools.autoscaling_plot` draws docs/images/autoscaling-signal.png from them.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tributary_common.backlog import desired_replicas

from tests.e2e.stack import ROOT, Stack
from tests.helm.chartlib import REPO
from tests.support.simulator import SimAdmin
from tools.localstack.processes import API_COMMAND, wait_ready

pytestmark = pytest.mark.timeout(240)

PROCESSES, THREADS = 1, 4
CAPACITY = PROCESSES * THREADS  # per worker pod, as the chart computes the target
SAMPLES = REPO / ".run" / "autoscaling" / "samples.json"


def scrape(client: httpx.Client) -> dict[str, float]:
    """The signal and its parts, from one `/metrics` scrape."""
    parts = {"waiting": 0.0, "due_delayed": 0.0, "held": 0.0, "old_waiting": 0.0}
    live = 0.0
    for metric in text_string_to_metric_families(client.get("/metrics").text):
        for sample in metric.samples:
            if sample.name == "tributary_autoscaling_backlog":
                parts[sample.labels["state"]] += sample.value
            elif sample.name == "tributary_queue_depth" and sample.labels["state"] == "waiting":
                parts["old_waiting"] += sample.value
            elif sample.name == "tributary_worker_processes_live":
                live = sample.value
    signal = parts["waiting"] + parts["due_delayed"] + parts["held"]
    return {**parts, "signal": signal, "live_workers": live}


class Sampler:
    """Scrapes in a thread; each sample is tagged with the scenario running."""

    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=5)
        self.samples: list[dict[str, Any]] = []
        self.phase = "idle"
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                values = scrape(self.client)
            except httpx.HTTPError:
                values = None
            if values is not None:
                self.samples.append(
                    {
                        "t": round(time.monotonic() - self.started, 3),
                        "phase": self.phase,
                        **values,
                        "desired": desired_replicas(int(values["signal"]), CAPACITY),
                        "old_desired": desired_replicas(int(values["old_waiting"]), CAPACITY),
                    }
                )
            self._stop.wait(0.25)

    def of(self, phase: str) -> list[dict[str, Any]]:
        return [s for s in self.samples if s["phase"] == phase]

    def latest(self) -> dict[str, Any]:
        return scrape(self.client)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.client.close()


@contextmanager
def running_api(stack: Stack, port: int) -> Iterator[str]:
    log_path = stack.tmp / "api.log"
    env = {
        **stack.env,
        "API_TOKEN": "autoscaling-api-token",
        "CRON_SECRET": "autoscaling-cron-secret",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(stack.tmp / "api-metrics"),
        "LOG_LEVEL": "WARNING",
    }
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            API_COMMAND, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{url}/readyz", proc=proc, log=log_path, timeout=60)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


def pending(stack: Stack, accounts: list[str]) -> int:
    rows = stack.query(
        "SELECT count(*) AS n FROM sync_jobs j JOIN connections c ON c.id = j.connection_id"
        " WHERE c.account_id = ANY(%s) AND j.status IN ('pending', 'processing')",
        accounts,
    )
    return int(rows[0]["n"])


def delayed(stack: Stack) -> int:
    """Messages in the delayed sets of every band, due or not."""
    return sum(
        int(stack.redis.zcard(f"{stack.namespace}:{queue}.delayed"))
        for queue in ("sync.manual", "sync.scheduled", "sync.retry")
    )


def burst(stack: Stack, sim: SimAdmin, prefix: str, n: int) -> list[str]:
    accounts = [f"{prefix}-{i}" for i in range(n)]
    for account in accounts:
        stack.enqueue(stack.connect("github", account)["id"], sim.today)
    return accounts


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_signal_tracks_work_that_needs_a_worker(stack: Stack, sim: SimAdmin) -> None:
    stack.env_overrides["TRIBUTARY_BACKOFF_BASE_SECONDS"] = "4"
    # A stopped worker stops counting as live after 2 s (api and workers read it).
    stack.env_overrides["TRIBUTARY_HEARTBEAT_TIMEOUT_MS"] = "2000"
    with running_api(stack, free_port()) as url, Sampler(url) as sampler:
        time.sleep(1.0)

        # (a) A burst of 3 pods' worth of slow jobs, absorbed by one pod.
        sim.fault("github", "slow", count=None, delaySeconds=0.4)
        sampler.phase = "a"
        stack.start_workers(PROCESSES, THREADS)
        accounts = burst(stack, sim, "burst", 3 * CAPACITY)
        wait_until(lambda: pending(stack, accounts) == 0, 90, "the burst to finish")
        wait_until(lambda: sampler.latest()["signal"] == 0, 15, "the signal to drop to 0")
        time.sleep(1.0)
        sim.clear_faults()

        # (c) Exactly one pod's worth of long jobs: all threads busy, nothing waiting.
        sim.fault("github", "slow", count=None, delaySeconds=6.0)
        sampler.phase = "c-fill"
        accounts = burst(stack, sim, "busy", CAPACITY)
        wait_until(lambda: sampler.latest()["held"] == CAPACITY, 30, "every thread to be busy")
        sampler.phase = "c"
        # Counted in samples, not seconds: scrapes slow down on a loaded machine.
        wait_until(lambda: len(sampler.of("c")) >= 4, 5, "4 samples with every thread busy")
        sampler.phase = "c-drain"
        wait_until(lambda: pending(stack, accounts) == 0, 90, "the busy jobs to finish")
        sim.clear_faults()

        # (d) Retries become due while no worker runs.
        sim.fault("github", "server_error", count=CAPACITY + 2)
        accounts = burst(stack, sim, "retry", CAPACITY + 2)
        retry_delayed = f"{stack.namespace}:sync.retry.delayed"
        wait_until(
            lambda: stack.redis.zcard(retry_delayed) == CAPACITY + 2, 30, "every job to retry"
        )
        stack.stop_workers()
        sampler.phase = "d-zero-workers"
        wait_until(lambda: sampler.latest()["due_delayed"] == CAPACITY + 2, 30, "retries due")
        time.sleep(1.5)
        housekeeping = stack.scheduler("housekeeping")
        assert housekeeping.returncode == 0, housekeeping.stderr
        assert json.loads(housekeeping.stdout)["promoted"] == CAPACITY + 2
        time.sleep(1.0)
        sampler.phase = "d-worker-back"
        stack.start_workers(PROCESSES, THREADS)
        wait_until(lambda: pending(stack, accounts) == 0, 60, "the retries to finish")
        time.sleep(1.0)

        # (b) A rate-limited backlog: 2 jobs per 20 s for the whole provider.
        stack.stop_workers()
        sampler.phase = "b"
        stack.start_workers(PROCESSES, THREADS, TRIBUTARY_LIMITS_GITHUB="provider=2/20s")
        accounts = burst(stack, sim, "limited", 3 * CAPACITY)
        wait_until(lambda: delayed(stack) >= 8, 30, "the backlog to be deferred")
        time.sleep(1.0)
        sampler.phase = "b-deferred"
        wait_until(lambda: len(sampler.of("b-deferred")) >= 10, 15, "10 samples while deferred")
        deferred_pending = pending(stack, accounts)
        stack.stop_workers()

    SAMPLES.parent.mkdir(parents=True, exist_ok=True)
    SAMPLES.write_text(json.dumps({"capacity": CAPACITY, "samples": sampler.samples}))

    # (a) Above one pod's capacity at the start of the burst, 0 when it is done.
    a = sampler.of("a")
    assert max(s["desired"] for s in a) >= 2, a
    assert max(s["desired"] for s in a) <= 3
    assert a[-1]["signal"] == 0 and a[-1]["desired"] == 0
    # (c) All busy, nothing waiting: the signal keeps the one pod; the old one asked for 0.
    c = sampler.of("c")
    assert len(c) >= 4
    assert all(s["signal"] == CAPACITY and s["desired"] == 1 for s in c), c
    assert all(s["old_waiting"] == 0 and s["old_desired"] == 0 for s in c), c
    # (d) With 0 workers the due retries are seen: 0 -> 1 happens.
    d = sampler.of("d-zero-workers")
    due = [s for s in d if s["due_delayed"] == CAPACITY + 2]
    assert due and all(s["desired"] == 2 and s["live_workers"] == 0 for s in due), d
    assert all(s["old_desired"] == 0 for s in due)
    back = sampler.of("d-worker-back")
    assert back and back[-1]["signal"] == 0
    # (b) Deferred, not-yet-due jobs do not scale up: at most the pod there is.
    b = sampler.of("b-deferred")
    assert deferred_pending >= 8
    assert len(b) >= 10 and all(s["desired"] <= 1 for s in b), b
