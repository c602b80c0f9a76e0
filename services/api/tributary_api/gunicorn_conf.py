"""gunicorn settings for the api.

Run: ``gunicorn --config python:tributary_api.gunicorn_conf "tributary_api.app:get_app()"``.

The PostgreSQL pool is opened in `post_fork`, in each worker, never in the master, so no
connection is shared across a fork. In Prometheus multiprocess mode the metrics directory
is wiped when the master starts and a dead worker's live gauges are dropped.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
from pathlib import Path
from typing import Any

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS") or multiprocessing.cpu_count() * 2 + 1)
# Threads by default: a request stuck on a slow dependency must not leave `/healthz`
# (the liveness probe) without a thread to answer it.
threads = int(os.environ.get("GUNICORN_THREADS") or 4)
worker_class = "gthread" if threads > 1 else "sync"
# process-queue runs jobs inside a request: allow it well beyond its 20 s budget.
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 60)
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT") or 30)
keepalive = 5
# Ids in query strings are up to 200 characters, which percent-encode to ~2.4 kB each.
limit_request_line = 8190
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS") or 0)
max_requests_jitter = max_requests // 10
preload_app = False


def on_starting(server: Any) -> None:
    """Start with an empty multiprocess metrics directory (stale files would be summed)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        path = Path(directory)
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True, exist_ok=True)


def post_fork(server: Any, worker: Any) -> None:
    """Open this worker's pool before the app is loaded in it."""
    from tributary_common.settings import Settings

    from tributary_api import process

    process.pool(Settings.from_env().database_url)


def worker_exit(server: Any, worker: Any) -> None:
    from tributary_api import process

    process.close()


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
