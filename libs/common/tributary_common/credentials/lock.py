"""One refresh per connection at a time, across every process and host: a Redis lock
with a fencing token.

`acquire` sets ``<ns>:credential-lock:<id>`` (NX, with a lifetime, so a holder killed
with SIGKILL frees it when it lapses) and takes the next fencing token from
``<ns>:credential-fence:<id>`` in the same script. The token is written with the
credential (`store.write_refreshed` refuses a fence not above the stored one), so a holder
that outlived its lock cannot overwrite what a later holder wrote.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import redis

# KEYS: lock, fence. ARGV: holder, lifetime ms, lowest fence allowed (the stored one).
_ACQUIRE = """
if redis.call('exists', KEYS[1]) == 1 then return 0 end
local fence = redis.call('incr', KEYS[2])
if fence <= tonumber(ARGV[3]) then
  fence = tonumber(ARGV[3]) + 1
  redis.call('set', KEYS[2], fence)
end
redis.call('set', KEYS[1], ARGV[1] .. '|' .. fence, 'PX', ARGV[2])
return fence
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class Held:
    connection_id: uuid.UUID
    fence: int
    value: str


class RefreshLock:
    def __init__(self, client: redis.Redis, namespace: str, owner: str, lifetime_seconds: float):
        self.client = client
        self.namespace = namespace
        self.owner = owner
        self.lifetime_ms = max(int(lifetime_seconds * 1000), 1)
        self._acquire = client.register_script(_ACQUIRE)
        self._release = client.register_script(_RELEASE)

    def key(self, connection_id: uuid.UUID) -> str:
        return f"{self.namespace}:credential-lock:{connection_id}"

    def acquire(self, connection_id: uuid.UUID, stored_fence: int) -> Held | None:
        """Take the lock and a fencing token above ``stored_fence``; None when it is held."""
        fence_key = f"{self.namespace}:credential-fence:{connection_id}"
        keys = [self.key(connection_id), fence_key]
        fence = int(self._acquire(keys=keys, args=[self.owner, self.lifetime_ms, stored_fence]))
        if fence == 0:
            return None
        return Held(connection_id, fence, f"{self.owner}|{fence}")

    def release(self, held: Held) -> None:
        """Free the lock if this holder still has it (a lapsed lock may be someone else's)."""
        self._release(keys=[self.key(held.connection_id)], args=[held.value])

    def is_held(self, connection_id: uuid.UUID) -> bool:
        return bool(self.client.exists(self.key(connection_id)))
