"""Raw Dramatiq baseline: a no-op actor that only marks first/last completion times."""

from __future__ import annotations

import os
import time

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

NAMESPACE = os.environ["BENCH_NAMESPACE"]
client = redis.Redis.from_url(os.environ["REDIS_URL"])
broker = RedisBroker(client=client, namespace=NAMESPACE)
dramatiq.set_broker(broker)


@dramatiq.actor(queue_name="bench.raw", max_retries=0)
def noop(job_id: str) -> None:
    now = time.time()
    client.set(f"{NAMESPACE}:first", now, nx=True)
    client.set(f"{NAMESPACE}:last", now)
    client.incr(f"{NAMESPACE}:done")
