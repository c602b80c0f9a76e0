"""How our processes are started and waited for, shared by `make run`, tests and benchmarks."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

#: The api under gunicorn, as the chart and the README run it.
API_COMMAND = [
    sys.executable,
    "-m",
    "gunicorn",
    "--config",
    "python:tributary_api.gunicorn_conf",
    "tributary_api.app:get_app()",
]


def wait_ready(
    url: str,
    *,
    proc: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
    timeout: float = 30,
) -> None:
    """Poll ``url`` until it answers 200; fail at once if ``proc`` exits, and with the tail
    of ``log`` (when given) if it never does."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url}: the process exited{_tail(log)}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer 200 within {timeout:.0f} s{_tail(log)}")
        time.sleep(0.2)


def _tail(log: Path | None) -> str:
    return "" if log is None else f"\n{log.read_text(errors='replace')[-3000:]}"
