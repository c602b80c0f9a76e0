"""Redis transport: put `{job_id}` messages on band queues, now or later.

Messages are stored exactly as Dramatiq's Redis broker stores them (`<ns>:<queue>` list
of ids, `<ns>:<queue>.msgs` hash of id → encoded message), so Dramatiq workers consume
them; we write them ourselves to send thousands in one pipeline and to choose the
message id, which the ledger keeps so `reconcile` can tell a live message from a lost one.

Delayed messages (retry backoff, deferrals) do not use Dramatiq's delay queues, which
hold every delayed message in some worker's memory: they wait in a sorted set per band
(`<ns>:<queue>.delayed`, scored by due time) and a promoter in each worker moves due ones
onto the queue atomically (one Lua call), in due order, so deferred jobs wake in turn.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import redis

from . import bands
from .logs import event

log = logging.getLogger(__name__)

#: Due means due by the Redis server's clock (TIME), the one clock every host shares.
PROMOTE_LUA = """
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ids = redis.call('zrangebyscore', KEYS[1], '-inf', now_ms, 'LIMIT', 0, tonumber(ARGV[1]))
for _, id in ipairs(ids) do
  local data = redis.call('hget', KEYS[2], id)
  redis.call('zrem', KEYS[1], id)
  redis.call('hdel', KEYS[2], id)
  if data then
    redis.call('hset', KEYS[4], id, data)
    redis.call('rpush', KEYS[3], id)
  end
end
return #ids
"""

#: Messages per pipeline round trip.
CHUNK = 2000


@dataclass(frozen=True)
class Send:
    job_id: uuid.UUID
    queue: str
    message_id: str
    delay_seconds: float = 0.0


class Dispatcher:
    def __init__(
        self, client: redis.Redis, namespace: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.clock = clock
        self._promote = client.register_script(PROMOTE_LUA)

    def key(self, queue: str, suffix: str = "") -> str:
        return f"{self.namespace}:{queue}{suffix}"

    def encode(self, job_id: uuid.UUID, queue: str, message_id: str) -> bytes:
        """A `dramatiq.Message` as Dramatiq's JSON encoder writes it (its fields, by name)."""
        band = bands.by_queue(queue)
        return json.dumps(
            {
                "queue_name": band.queue,
                "actor_name": band.actor,
                "args": [str(job_id)],
                "kwargs": {},
                "options": {"redis_message_id": message_id},
                "message_id": message_id,
                "message_timestamp": int(self.clock() * 1000),
            },
            separators=(",", ":"),
        ).encode()

    def send(
        self, job_id: uuid.UUID, queue: str, message_id: str, delay_seconds: float = 0
    ) -> None:
        self.send_many([Send(job_id, queue, message_id, delay_seconds)])

    def try_send(
        self, job_id: uuid.UUID, queue: str, message_id: str, delay_seconds: float = 0
    ) -> bool:
        """Send, or log and return False when Redis is down: the job is in the ledger with
        this message id, so `reconcile` sends it once Redis is back."""
        try:
            self.send(job_id, queue, message_id, delay_seconds)
        except redis.RedisError as exc:
            event(
                log,
                "job.send_failed",
                logging.WARNING,
                job_id=str(job_id),
                error=type(exc).__name__,
            )
            return False
        return True

    def send_many(self, sends: Iterable[Send]) -> int:
        """Send messages, a few commands per chunk; raise `redis.RedisError` if Redis is down.

        Each chunk's hash entries are written before the ids are pushed (one MULTI), so a
        consumer never pops an id whose message is not there yet.
        """
        count = 0
        chunk: list[Send] = []
        for item in sends:
            chunk.append(item)
            count += 1
            if len(chunk) == CHUNK:
                self._send_chunk(chunk)
                chunk = []
        if chunk:
            self._send_chunk(chunk)
        return count

    def server_time(self) -> float:
        """The Redis server's clock (seconds since the epoch): delays count from it."""
        seconds, micros = self.client.time()
        return seconds + micros / 1e6

    def _send_chunk(self, chunk: list[Send]) -> None:
        # Delayed messages are scored on the Redis clock, never this host's.
        now = self.server_time() if any(i.delay_seconds > 0 for i in chunk) else 0.0
        ready: dict[str, dict[str, bytes]] = defaultdict(dict)
        delayed: dict[str, dict[str, bytes]] = defaultdict(dict)
        due: dict[str, dict[str, int]] = defaultdict(dict)
        for item in chunk:
            data = self.encode(item.job_id, item.queue, item.message_id)
            if item.delay_seconds > 0:
                delayed[item.queue][item.message_id] = data
                due[item.queue][item.message_id] = int((now + item.delay_seconds) * 1000)
            else:
                ready[item.queue][item.message_id] = data
        pipe = self.client.pipeline(transaction=True)
        for queue, messages in ready.items():
            pipe.hset(self.key(queue, ".msgs"), mapping=messages)  # type: ignore[arg-type]
            pipe.rpush(self.key(queue), *messages)
        for queue, messages in delayed.items():
            pipe.hset(self.key(queue, ".delayed.msgs"), mapping=messages)  # type: ignore[arg-type]
            pipe.zadd(self.key(queue, ".delayed"), due[queue])  # type: ignore[arg-type]
        pipe.execute()

    def promote_due(self, limit: int = 500) -> int:
        """Move delayed messages due by the Redis clock onto their queues; return how many."""
        moved = 0
        for band in bands.BANDS:
            q = band.queue
            keys = [
                self.key(q, ".delayed"),
                self.key(q, ".delayed.msgs"),
                self.key(q),
                self.key(q, ".msgs"),
            ]
            moved += int(self._promote(keys=keys, args=[limit]))
        return moved

    def consume(self, queue: str, message_id: str) -> None:
        """Remove a message that will not be delivered because its job already ran here
        (process-queue), waiting or delayed. LREM scans from the head, where due jobs are."""
        pipe = self.client.pipeline(transaction=True)
        pipe.lrem(self.key(queue), 1, message_id)
        pipe.hdel(self.key(queue, ".msgs"), message_id)
        pipe.zrem(self.key(queue, ".delayed"), message_id)
        pipe.hdel(self.key(queue, ".delayed.msgs"), message_id)
        pipe.execute()

    def live(self, items: Sequence[tuple[str, str]]) -> list[bool]:
        """For each (queue, message id): is the message still waiting, delayed or in flight?"""
        pipe = self.client.pipeline(transaction=False)
        for queue, message_id in items:
            pipe.hexists(self.key(queue, ".msgs"), message_id)
            pipe.hexists(self.key(queue, ".delayed.msgs"), message_id)
        flags = pipe.execute()
        return [bool(flags[i] or flags[i + 1]) for i in range(0, len(flags), 2)]

    def depth(self) -> dict[str, dict[str, int]]:
        """Per band: messages waiting on the queue and delayed in the sorted set."""
        pipe = self.client.pipeline(transaction=False)
        for band in bands.BANDS:
            pipe.llen(self.key(band.queue))
            pipe.zcard(self.key(band.queue, ".delayed"))
        values = pipe.execute()
        return {
            band.name: {"waiting": int(values[2 * i]), "delayed": int(values[2 * i + 1])}
            for i, band in enumerate(bands.BANDS)
        }
