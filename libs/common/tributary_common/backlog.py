"""The autoscaling signal: work that could run now and needs a worker thread.

Per band queue, read from Redis in one pipeline:

- ``waiting``: message ids on the band's list (``LLEN <ns>:<queue>``);
- ``due_delayed``: delayed messages whose due time has passed (``ZCOUNT
  <ns>:<queue>.delayed -inf <now ms>``): retries and deferrals that a promoter moves onto
  the list on its next pass. Deferrals not yet due are left out: more workers cannot beat a
  provider's rate limit;
- ``held``: messages a worker process has taken off the list and not acknowledged yet,
  i.e. running or prefetched (Dramatiq's ``<ns>:__acks__.<worker id>.<queue>`` sets, for
  every worker id in ``<ns>:__heartbeats__``, live or dead: a dead worker's messages still
  need a worker once Dramatiq's maintenance requeues them).

``backlog = Σ bands (waiting + due_delayed + held)`` is compared with a worker pod's
capacity, ``processes x threads``: desired pods = ceil(backlog / capacity). While every
thread is busy and nothing waits, backlog = running = current capacity, so the formula
keeps the pods it has instead of scaling down; due retries with no worker at all make it
positive, so a scale-to-zero deployment wakes up. docs/deploy.md plots it under load.

``live_workers`` counts worker processes whose Dramatiq heartbeat (refreshed on every
fetch, at least every 100 ms) is younger than the heartbeat timeout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import redis

from . import bands

STATES = ("waiting", "due_delayed", "held")


@dataclass(frozen=True)
class Backlog:
    #: band queue -> state ("waiting", "due_delayed", "held") -> messages
    by_queue: dict[str, dict[str, int]] = field(default_factory=dict)
    #: worker processes with a fresh Dramatiq heartbeat
    live_workers: int = 0

    @property
    def total(self) -> int:
        """The signal: every message that could run now and needs a worker thread."""
        return sum(sum(states.values()) for states in self.by_queue.values())


def desired_replicas(backlog: int, capacity_per_pod: int) -> int:
    """Pods the HPA/KEDA formula asks for: ceil(backlog / capacity), at least 0."""
    if capacity_per_pod < 1:
        raise ValueError("capacity_per_pod must be at least 1 (processes x threads)")
    return -(-max(backlog, 0) // capacity_per_pod)


def read(
    client: redis.Redis,
    namespace: str,
    *,
    now_ms: int,
    heartbeat_timeout_ms: int,
    heartbeat_now_ms: int | None = None,
) -> Backlog:
    """Read the backlog of every band; raises `redis.RedisError` when Redis is down.

    ``now_ms`` decides what is due: pass the Redis server's clock (`Dispatcher.server_time`),
    which scores the delayed sets. Dramatiq scores heartbeats with each worker host's clock,
    so liveness compares with ``heartbeat_now_ms`` (this host's clock; default ``now_ms``).
    """
    heartbeats_key = f"{namespace}:__heartbeats__"
    beat_now = now_ms if heartbeat_now_ms is None else heartbeat_now_ms
    beats: list[tuple[bytes, float]] = client.zrange(heartbeats_key, 0, -1, withscores=True)  # type: ignore[assignment]
    workers = [worker.decode() if isinstance(worker, bytes) else str(worker) for worker, _ in beats]
    live = sum(1 for _, score in beats if score >= beat_now - heartbeat_timeout_ms)
    pipe = client.pipeline(transaction=False)
    for band in bands.BANDS:
        pipe.llen(f"{namespace}:{band.queue}")
        pipe.zcount(f"{namespace}:{band.queue}.delayed", "-inf", now_ms)
        for worker in workers:
            pipe.scard(f"{namespace}:__acks__.{worker}.{band.queue}")
    values = iter(pipe.execute())
    by_queue: dict[str, dict[str, int]] = {}
    for band in bands.BANDS:
        waiting, due = int(next(values)), int(next(values))
        held = sum(int(next(values)) for _ in workers)
        by_queue[band.queue] = {"waiting": waiting, "due_delayed": due, "held": held}
    return Backlog(by_queue, live)
