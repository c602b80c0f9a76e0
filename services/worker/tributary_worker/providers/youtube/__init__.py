"""YouTube connector: a channel's uploads of one day and the day's activity count."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

from tributary_common.connectors import ConnectionInfo, ProviderConfig, SyncContext

from ..throttles import THROTTLE_WAITS
from .client import auth_headers, map_error, read_feedback
from .streams import PlaylistItemsStream


class Connector:
    """Syncs the uploads playlist of ``account_id`` (a channel id) for the sync date (UTC)."""

    provider = "youtube"

    def __init__(self, config: ProviderConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.error_mapper = partial(map_error, clock=clock)
        self.feedback = read_feedback
        self.throttle_wait = THROTTLE_WAITS[self.provider]

    def default_headers(self, connection: ConnectionInfo) -> dict[str, str]:
        return auth_headers(connection)

    def sync(self, ctx: SyncContext) -> None:
        request = ctx.request
        PlaylistItemsStream(request.connection.account_id, request.sync_date).sync(ctx)
