"""Google Ads connector: a customer's campaigns, optionally restricted by campaign id."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

from tributary_common.connectors import ConnectionInfo, ProviderConfig, SyncContext

from ..throttles import THROTTLE_WAITS
from .client import auth_headers, map_error, read_feedback
from .streams import CampaignsStream, campaign_ids_option


class Connector:
    """Syncs ``campaign`` rows through GAQL for ``connection.account_id`` (customer id)."""

    provider = "google_ads"

    def __init__(self, config: ProviderConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.developer_token = config.credentials.get("developer_token")
        self.error_mapper = partial(map_error, clock=clock)
        self.feedback = partial(read_feedback, clock=clock)
        self.throttle_wait = THROTTLE_WAITS[self.provider]

    def default_headers(self, connection: ConnectionInfo) -> dict[str, str]:
        return auth_headers(connection, self.developer_token)

    def sync(self, ctx: SyncContext) -> None:
        campaign_ids = campaign_ids_option(ctx.request.options)
        CampaignsStream(ctx.request.connection.account_id, campaign_ids).sync(ctx)
