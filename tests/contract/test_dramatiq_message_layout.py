"""`dispatch.py` writes Dramatiq's private Redis layout itself; Dramatiq must read it.

If a Dramatiq upgrade changes its message encoding or its Redis keys, these fail here
instead of in production (workers silently not consuming what the api and the scheduler
send).
"""

from __future__ import annotations

import uuid

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from tributary_common import bands
from tributary_common.dispatch import Dispatcher


def test_an_encoded_message_decodes_as_a_dramatiq_message(
    redis_client: redis.Redis, namespace: str
) -> None:
    dispatcher = Dispatcher(redis_client, namespace)
    job_id, message_id = uuid.uuid4(), uuid.uuid4().hex
    band = bands.for_trigger("manual")

    message = dramatiq.Message.decode(dispatcher.encode(job_id, band.queue, message_id))

    assert message.queue_name == band.queue
    assert message.actor_name == band.actor
    assert message.args == (str(job_id),)
    assert message.message_id == message_id
    assert message.options["redis_message_id"] == message_id


def test_dramatiq_redis_broker_consumes_what_the_dispatcher_sends(
    redis_client: redis.Redis, namespace: str
) -> None:
    band = bands.for_trigger("scheduled")
    broker = RedisBroker(client=redis_client, namespace=namespace)
    seen: list[str] = []

    @dramatiq.actor(actor_name=band.actor, queue_name=band.queue, broker=broker)
    def sync(job_id: str) -> None:
        seen.append(job_id)

    job_id, message_id = uuid.uuid4(), uuid.uuid4().hex
    Dispatcher(redis_client, namespace).send(job_id, band.queue, message_id)

    consumer = broker.consume(band.queue, prefetch=1, timeout=2000)
    try:
        message = next(m for m in consumer if m is not None)
        assert message.message_id == message_id
        assert message.args == (str(job_id),)
        consumer.ack(message)
    finally:
        consumer.close()
        broker.close()
