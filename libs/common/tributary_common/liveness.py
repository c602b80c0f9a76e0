"""Which job holders are alive: a Redis key per holder, renewed while it runs jobs.

A lease that expired in the ledger is not proof that its holder died: a worker cut off
from PostgreSQL cannot renew, yet still runs its job and writes its ending once the
ledger answers. Each `LeaseKeeper` also sets ``<ns>:holder:<owner>`` (expiring after
one lease) every renewal round, whether or not the ledger answered; recovery takes a job
from a holder only once that key is gone, so only a worker that died (kill -9, OOM,
node loss) is counted as a crash.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis


class Liveness:
    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client = client
        self.namespace = namespace

    def key(self, owner: str) -> str:
        return f"{self.namespace}:holder:{owner}"

    def beat(self, owner: str, ttl_seconds: float) -> None:
        """Say ``owner`` is alive for ``ttl_seconds``; raises `redis.RedisError`."""
        self.client.set(self.key(owner), b"1", px=max(int(ttl_seconds * 1000), 1))

    def alive(self, owners: Iterable[str]) -> set[str]:
        """The owners among ``owners`` whose key has not expired; raises `redis.RedisError`."""
        names = sorted(set(owners))
        if not names:
            return set()
        pipe = self.client.pipeline(transaction=False)
        for name in names:
            pipe.exists(self.key(name))
        return {name for name, found in zip(names, pipe.execute(), strict=True) if found}
