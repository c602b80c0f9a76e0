"""A worker process takes a message off Redis only for a thread that is free to run it.

Dramatiq's prefetch is per queue: a process whose only thread runs a 12 s job still
fetches one message of each band, which then waits in that process while another process
sits idle (#19: 9.4 s, 4 tries in 8). Here every process has one pool of slots, one per
worker thread: a consumer fetches at most as many messages as there are free slots, a
slot is taken at fetch and given back when the thread has processed the message. So a
busy process holds no message, and an idle one takes it within a poll interval.

A consumer waiting for a slot sleeps on a condition that a finishing thread signals, so
a freed thread gets its next message at once, not after a poll. A lower band's consumer
that gets a slot while a higher band has messages waiting gives it back, so the manual
band keeps first claim on free threads.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import compute_backoff
from dramatiq.message import Message
from tributary_common import bands


class Slots:
    """Free worker threads of this process (set at worker boot)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._free = 0

    def set(self, threads: int) -> None:
        with self._cond:
            self._free = threads
            self._cond.notify_all()

    def take(self, wanted: int, timeout: float) -> int:
        """Take up to ``wanted`` slots, waiting at most ``timeout`` seconds for one."""
        with self._cond:
            if self._free == 0:
                self._cond.wait(timeout)
            got = min(wanted, self._free)
            self._free -= got
            return got

    def give(self, count: int = 1) -> None:
        if count <= 0:
            return
        with self._cond:
            self._free += count
            self._cond.notify_all()


SLOTS = Slots()


def _is_band(queue_name: str) -> bool:
    return any(b.queue == queue_name for b in bands.BANDS)


class SlotConsumer(_RedisConsumer):  # type: ignore[misc]
    """Dramatiq's Redis consumer, fetching only for free slots (band queues only)."""

    def __init__(self, broker: RedisBroker, queue_name: str, prefetch: int, timeout: int) -> None:
        super().__init__(broker, queue_name, prefetch, timeout)
        self._band = _is_band(queue_name)
        priority = next((b.priority for b in bands.BANDS if b.queue == queue_name), 0)
        self._higher = [
            f"{broker.namespace}:{b.queue}" for b in bands.BANDS if b.priority < priority
        ]

    def __next__(self) -> MessageProxy | None:
        if not self._band:
            return super().__next__()
        while self.message_cache:
            data = self.message_cache.pop(0)
            if data is None:
                continue
            self.misses = 0
            message = Message.decode(data)
            self.queued_message_ids.add(message.message_id)
            return MessageProxy(message)
        wanted = self.prefetch - self.outstanding_message_count
        if wanted <= 0:
            time.sleep(self.timeout / 1000)
            return None
        got = SLOTS.take(wanted, self.timeout / 1000)
        if got == 0:
            return None
        if self._higher_band_waiting():
            SLOTS.give(got)
            time.sleep(0.005)
            return None
        messages = [m for m in self.broker.do_fetch(self.queue_name, got) if m is not None]
        SLOTS.give(got - len(messages))
        self.message_cache = messages
        if not messages:
            self.misses, backoff_ms = compute_backoff(self.misses, max_backoff=self.timeout)
            time.sleep(backoff_ms / 1000)
        return None

    def _higher_band_waiting(self) -> bool:
        if not self._higher:
            return False
        pipe = self.broker.client.pipeline(transaction=False)
        for key in self._higher:
            pipe.llen(key)
        return any(int(n) for n in pipe.execute())


class SlotBroker(RedisBroker):  # type: ignore[misc]
    """The Redis broker whose consumers fetch only for free worker threads."""

    @property
    def consumer_class(self) -> type[SlotConsumer]:
        return SlotConsumer


class SlotMiddleware(dramatiq.Middleware):  # type: ignore[misc]
    """Sizes the slots to the worker's threads and gives a slot back per processed message."""

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        SLOTS.set(worker.worker_threads)

    def after_process_message(
        self, broker: dramatiq.Broker, message: MessageProxy, **kwargs: Any
    ) -> None:
        if _is_band(message.queue_name):
            SLOTS.give(1)

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        if _is_band(message.queue_name):
            SLOTS.give(1)
