"""`python -m tributary_worker.probe live|ready`: the worker pod's Kubernetes probes.

Every worker process's housekeeping thread (tributary_worker.runtime) touches two files in
``$PROMETHEUS_MULTIPROC_DIR/health/`` about once a second: ``<pid>.alive`` on every pass
of its loop, ``<pid>.ready`` only after a Redis round trip (promoting due messages)
succeeded. The directory is wiped when the worker starts.

- ``live`` exits 0 when at least ``TRIBUTARY_WORKER_PROCESSES`` processes touched their
  alive file within ``--max-age`` seconds (default 30): a hung process fails it and the
  kubelet restarts the container.
- ``ready`` exits 0 when as many processes reached Redis within ``--max-age`` seconds
  (default 15): a worker that cannot reach Redis is taken out of readiness.

Exit 1 (with the reason on stderr) otherwise; 2 on bad usage. Only files are read, so a
probe costs one short Python start, never a Redis or PostgreSQL connection.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tributary_common.errors import ConfigError
from tributary_common.settings import Settings

DEFAULT_MAX_AGE = {"live": 30.0, "ready": 15.0}


def health_dir(metrics_dir: str) -> Path:
    """Where worker processes leave their heartbeat files."""
    return Path(metrics_dir) / "health"


def fresh(directory: Path, suffix: str, max_age: float, now: float) -> int:
    """Heartbeat files ending in ``suffix`` touched within ``max_age`` seconds of ``now``."""
    count = 0
    for path in directory.glob(f"*{suffix}"):
        try:
            if now - path.stat().st_mtime <= max_age:
                count += 1
        except FileNotFoundError:  # the process removed it meanwhile
            continue
    return count


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="tributary-worker-probe", description=__doc__)
    p.add_argument("kind", choices=sorted(DEFAULT_MAX_AGE))
    p.add_argument("--max-age", type=float, help="seconds a heartbeat stays fresh")
    args = p.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"tributary-worker-probe: {exc}", file=sys.stderr)
        return 2
    metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not metrics_dir:
        print("tributary-worker-probe: PROMETHEUS_MULTIPROC_DIR is not set", file=sys.stderr)
        return 2
    max_age = args.max_age if args.max_age is not None else DEFAULT_MAX_AGE[args.kind]
    suffix = ".alive" if args.kind == "live" else ".ready"
    count = fresh(health_dir(metrics_dir), suffix, max_age, time.time())
    if count < settings.worker_processes:
        what = "alive" if args.kind == "live" else "reaching Redis"
        print(
            f"tributary-worker-probe: {count} of {settings.worker_processes} worker processes"
            f" {what} in the last {max_age:g} s",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
