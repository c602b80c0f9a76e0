"""`python -m tributary_worker`: Dramatiq with our processes, threads, prefetch and metrics.

The metrics endpoint runs in this parent process and aggregates every worker process's
samples (Prometheus multiprocess mode); the directory is wiped at start so counters of a
previous run never leak into this one.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

from prometheus_client import CollectorRegistry, multiprocess, start_http_server
from tributary_common.errors import ConfigError
from tributary_common.settings import Settings

#: Longest pause between two polls of an idle queue.
WORKER_TIMEOUT_MS = 100
#: A worker process is killed this long after the shutdown grace (runtime.py hands its
#: still-running jobs back 1 s after the grace).
SHUTDOWN_MARGIN_SECONDS = 5


def prepare_metrics_dir() -> str:
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(
        prefix="tributary-metrics-"
    )
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path


def main() -> int:
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"tributary-worker: {exc}", file=sys.stderr)
        return 2
    prepare_metrics_dir()
    # Prefetch per band is at most the threads, and across bands a process fetches only for
    # a free thread (capacity.py), so no job waits in a busy process. An idle queue is
    # polled at least every 100 ms (Dramatiq's default backs off to 1 s).
    os.environ.setdefault("dramatiq_queue_prefetch", str(settings.worker_threads))
    os.environ.setdefault("dramatiq_worker_timeout", str(WORKER_TIMEOUT_MS))
    # Dramatiq reads both when `dramatiq.worker` is first imported, and the worker
    # processes are forked from this one: import it only now.
    from dramatiq.cli import main as dramatiq_main
    from dramatiq.cli import make_argument_parser

    if settings.metrics_port:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        start_http_server(settings.metrics_port, registry=registry)
    args = [
        "tributary_worker.broker",
        "--processes",
        str(settings.worker_processes),
        "--threads",
        str(settings.worker_threads),
        "--worker-shutdown-timeout",
        str(int((settings.shutdown_grace_seconds + SHUTDOWN_MARGIN_SECONDS) * 1000)),
        "--skip-logging",
    ]
    return dramatiq_main(make_argument_parser().parse_args(args)) or 0


if __name__ == "__main__":
    sys.exit(main())
