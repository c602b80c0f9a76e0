"""The module Dramatiq loads in every worker process: broker, middleware and actors.

Settings are read here, once per process (this is the worker's entry point).
"""

from __future__ import annotations

import dramatiq
import redis
from dramatiq.middleware import CurrentMessage, TimeLimit
from tributary_common import redaction
from tributary_common.connectors import load_registry
from tributary_common.credentials.box import SecretBox
from tributary_common.credentials.factory import app_secrets
from tributary_common.logs import configure
from tributary_common.settings import Settings

from .capacity import SlotBroker, SlotMiddleware
from .runtime import WorkerRuntime

settings = Settings.from_env()
configure(settings.log_level)
redaction.register(settings.api_token, settings.cron_secret, *app_secrets(settings))
SecretBox(settings.encryption_keys)  # refuses to start without an encryption key

#: Out of a million broker commands, how many also requeue dead workers' messages: high
#: enough that a killed worker's job is redelivered within seconds of its heartbeat timeout.
MAINTENANCE_CHANCE = 100_000

# A process takes a message only for a free thread (capacity.py): a busy process never
# holds a job another process could start now.
broker = SlotBroker(
    client=redis.Redis.from_url(settings.redis_url),
    namespace=settings.namespace,
    heartbeat_timeout=settings.heartbeat_timeout_ms,
    maintenance_chance=MAINTENANCE_CHANCE,
    # Our runner owns retries, deferrals and dead letters, so Dramatiq's Retries
    # middleware is left out; TimeLimit stays as a last resort against a hung job.
    # CurrentMessage: an actor whose claim failed re-sends its own message (actors.py).
    middleware=[
        TimeLimit(time_limit=3_600_000),
        SlotMiddleware(),
        CurrentMessage(),
        WorkerRuntime(settings, load_registry(settings.connectors_module)),
    ],
)
dramatiq.set_broker(broker)

from . import actors  # noqa: E402,F401  (actors register on the broker set above)
