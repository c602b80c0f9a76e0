"""`python -m tests.faults.prober URL TOKEN SECONDS OUT`: clients of the api during a fault.

Runs in a process of its own, so its timings are not those of the test process's threads
(the simulator serves from there): 4 clients call `GET /api/sync/status` in a loop (20 a second each at most) and a
fifth probes `/healthz` every 0.1 s, for SECONDS; every call's start (monotonic clock,
the test's clock too), duration, status and error code go to OUT as JSON.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

import httpx


def main(url: str, token: str, seconds: float, out: str) -> int:
    stop = time.monotonic() + seconds
    calls: list[list[Any]] = []
    health: list[list[Any]] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, headers=headers, timeout=10) as c:
            i = 0
            while time.monotonic() < stop:
                started = time.monotonic()
                params = {"userId": f"pgdown-{(n + i) % 5}", "provider": "github"}
                i += 1
                try:
                    r = c.get("/api/sync/status", params=params)
                    status, error = r.status_code, r.json().get("error", "")
                except httpx.HTTPError as exc:
                    status, error = 0, type(exc).__name__
                with lock:
                    calls.append([started, time.monotonic() - started, status, error])
                time.sleep(0.05)

    def healthz() -> None:
        with httpx.Client(base_url=url, timeout=5) as c:
            while time.monotonic() < stop:
                started = time.monotonic()
                try:
                    status = c.get("/healthz").status_code
                except httpx.HTTPError:
                    status = 0
                health.append([started, time.monotonic() - started, status])
                time.sleep(0.1)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    threads.append(threading.Thread(target=healthz))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(out, "w") as f:
        json.dump({"calls": calls, "health": health}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]))
