"""Meta Ads connector: campaigns, ad sets and ads of one ad account (``act_…``).

``options["campaignIds"]`` restricts all three to those campaigns through the edges'
``filtering`` parameter (one request per page rather than one edge per campaign).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from tributary_common.categories import ErrorCategory
from tributary_common.connectors import ConnectionInfo, ProviderConfig, SyncContext
from tributary_common.errors import ProviderError

from ..throttles import THROTTLE_WAITS
from .client import auth_headers, map_error, read_feedback
from .streams import STREAMS


def campaign_ids_option(options: Mapping[str, Any]) -> list[str] | None:
    """Return ``options["campaignIds"]`` as digit strings; raise VALIDATION_ERROR if malformed."""
    raw = options.get("campaignIds")
    if raw is None:
        return None
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise ProviderError(ErrorCategory.VALIDATION_ERROR, "campaignIds must be a list")
    ids = [str(item) for item in raw]
    if not all(item.isdigit() for item in ids):
        raise ProviderError(ErrorCategory.VALIDATION_ERROR, "campaignIds must be numeric ids")
    return ids or None


class Connector:
    """Syncs an ad account's campaigns, ad sets and ads from the Marketing API."""

    provider = "meta_ads"

    def __init__(self, config: ProviderConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.error_mapper = partial(map_error, clock=clock)
        self.feedback = partial(read_feedback, clock=clock)
        self.throttle_wait = THROTTLE_WAITS[self.provider]

    def default_headers(self, connection: ConnectionInfo) -> dict[str, str]:
        return auth_headers(connection)

    def sync(self, ctx: SyncContext) -> None:
        campaign_ids = campaign_ids_option(ctx.request.options)
        account_id = ctx.request.connection.account_id
        for stream_class in STREAMS:
            stream_class(account_id, campaign_ids).sync(ctx)
            ctx.check_stop()
