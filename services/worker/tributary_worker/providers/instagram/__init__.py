"""Instagram connector: an IG professional account's media and daily post count."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

from tributary_common.connectors import ConnectionInfo, ProviderConfig, SyncContext

from ..throttles import THROTTLE_WAITS
from .client import auth_headers, map_error, read_feedback
from .streams import MediaStream


class Connector:
    """Syncs ``/{ig-user-id}/media`` and the sync date's activity count."""

    provider = "instagram"

    def __init__(self, config: ProviderConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.error_mapper = partial(map_error, clock=clock)
        self.feedback = partial(read_feedback, clock=clock)
        self.throttle_wait = THROTTLE_WAITS[self.provider]

    def default_headers(self, connection: ConnectionInfo) -> dict[str, str]:
        return auth_headers(connection)

    def sync(self, ctx: SyncContext) -> None:
        stream = MediaStream(ctx.request.connection.account_id, ctx.request.sync_date)
        stream.sync(ctx)
