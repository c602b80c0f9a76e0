"""Fresh credentials for the process that calls the provider: decrypt, refresh before
expiry or once on a rejection, one refresh per connection across every process.

The single flight: a refresher takes the connection's `RefreshLock` (with a fencing
token), re-reads the credential under it, redeems the refresh token, and writes the result
with a compare-and-set on the version it read. Everyone else waits for the lock to go and
re-reads: a waiter never redeems a refresh token someone else may already have spent. A
rejection of a refresh token that is no longer the stored one is not a failure (another
process rotated it); a rejection of the stored one sets the connection `needs_reauth`.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from psycopg_pool import ConnectionPool

from .. import metrics
from ..categories import ErrorCategory
from ..errors import Deferred, ProviderError
from ..logs import event
from ..ratelimit.base import Permit, RateLimiter
from . import store
from .box import SecretBox
from .lock import RefreshLock
from .model import Credential
from .refresher import Refresher, RefreshRejected, RefreshUnavailable

log = logging.getLogger(__name__)

#: How often a waiter looks whether the refresh it waits for is done.
POLL_SECONDS = 0.05
#: A token endpoint failure without Retry-After defers the job this long.
UNAVAILABLE_DEFER_SECONDS = 5.0


def _utc_now() -> datetime:
    return datetime.now(UTC)


class CredentialService:
    def __init__(
        self,
        *,
        pool: ConnectionPool,
        box: SecretBox,
        lock: RefreshLock | None = None,
        refreshers: Mapping[str, Refresher] | None = None,
        limiter: RateLimiter | None = None,
        timeout_seconds: float = 10.0,
        wait_seconds: float = 15.0,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.pool = pool
        self.box = box
        self.lock = lock
        self.refreshers = dict(refreshers or {})
        self.limiter = limiter
        self.timeout_seconds = timeout_seconds
        #: How long a waiter waits for another process's refresh before deferring its job.
        self.wait_seconds = wait_seconds
        self.now = now
        self._local = threading.local()

    # What the runner calls ------------------------------------------------------------

    def current(self, row: dict[str, Any], connection_id: uuid.UUID) -> Credential:
        """The credential of a claimed job's connection, renewed first when it expires
        within the provider's margin. Raises `Deferred` or `ProviderError` (API_ERROR)."""
        credential = store.from_row(self.box, row, connection_id)
        refresher = self._refresher(credential)
        if refresher is None or not credential.expires_within(
            refresher.margin_seconds(credential), self.now()
        ):
            return credential
        return self._single_flight(credential, refresher, force=False)

    def after_rejection(
        self, credential: Credential, response: httpx.Response
    ) -> Credential | None:
        """A renewed credential when ``response`` says the token expired, else None."""
        refresher = self._refresher(credential)
        if refresher is None or not refresher.says_expired(response):
            return None
        renewed = self._single_flight(credential, refresher, force=True)
        return renewed if renewed.access_token != credential.access_token else None

    # The single flight ----------------------------------------------------------------

    def _refresher(self, credential: Credential) -> Refresher | None:
        refresher = self.refreshers.get(credential.provider)
        if refresher is None or self.lock is None:
            return None
        return refresher if refresher.can_refresh(credential, self.now()) else None

    def _single_flight(self, seen: Credential, refresher: Refresher, *, force: bool) -> Credential:
        assert self.lock is not None
        deadline = time.monotonic() + self.wait_seconds
        while True:
            latest = store.load(self.pool, self.box, seen.connection_id)
            if latest.version != seen.version:
                return latest  # another process refreshed (or the user reconnected)
            if not force and not latest.expires_within(
                refresher.margin_seconds(latest), self.now()
            ):
                return latest
            held = self.lock.acquire(seen.connection_id, latest.fence)
            if held is not None:
                try:
                    latest = store.load(self.pool, self.box, seen.connection_id)
                    if latest.version != seen.version:
                        return latest
                    return self._redeem(latest, refresher, held.fence)
                finally:
                    self.lock.release(held)
            while self.lock.is_held(seen.connection_id) and time.monotonic() < deadline:
                time.sleep(POLL_SECONDS)
            if time.monotonic() >= deadline:
                metrics.credential_refresh(seen.provider, "waited_out")
                raise Deferred(
                    self.now() + timedelta(seconds=1),
                    "credential refresh in progress elsewhere",
                    scope="account",
                )

    def _redeem(self, current: Credential, refresher: Refresher, fence: int) -> Credential:
        provider = current.provider
        permit = self._take_limit(current)
        try:
            tokens = refresher.refresh(self._client(), current)
        except RefreshRejected as exc:
            latest = store.load(self.pool, self.box, current.connection_id)
            if latest.version != current.version or latest.refresh_token != current.refresh_token:
                metrics.credential_refresh(provider, "superseded")
                return latest
            reason = f"token refresh rejected: {exc.reason}"
            store.mark_needs_reauth(self.pool, current, reason)
            metrics.credential_refresh(provider, "rejected")
            event(
                log,
                "credential.rejected",
                logging.WARNING,
                provider=provider,
                connection_id=str(current.connection_id),
                reason=exc.reason,
            )
            raise ProviderError(ErrorCategory.API_ERROR, reason) from None
        except RefreshUnavailable as exc:
            metrics.credential_refresh(provider, "unavailable")
            event(
                log,
                "credential.refresh_unavailable",
                logging.WARNING,
                provider=provider,
                connection_id=str(current.connection_id),
                reason=exc.reason,
            )
            until = (
                datetime.fromtimestamp(exc.retry_at, tz=UTC)
                if exc.retry_at
                else self.now() + timedelta(seconds=UNAVAILABLE_DEFER_SECONDS)
            )
            raise Deferred(
                until, f"token endpoint unavailable: {exc.reason}", scope="account"
            ) from None
        finally:
            if permit is not None and self.limiter is not None:
                self.limiter.settle(permit)
        written = store.write_refreshed(self.pool, self.box, current, tokens, fence=fence)
        if written is None:
            metrics.credential_refresh(provider, "lost_race")
            return store.load(self.pool, self.box, current.connection_id)
        metrics.credential_refresh(provider, "refreshed")
        event(
            log,
            "credential.refreshed",
            provider=provider,
            connection_id=str(current.connection_id),
            version=written.version,
            fence=fence,
            expires_at=written.expires_at.isoformat() if written.expires_at else None,
        )
        return written

    def _take_limit(self, credential: Credential) -> Permit | None:
        """A refresh is a provider request: it takes from the provider's limits."""
        if self.limiter is None:
            return None
        decision = self.limiter.acquire(credential.provider, credential.account_id, 1)
        if decision.allowed:
            return decision.permit
        until = datetime.fromtimestamp(decision.retry_at, tz=UTC)
        raise Deferred(
            until, f"rate limit {decision.scope} (token refresh)", scope=decision.scope or ""
        )

    def _client(self) -> httpx.Client:
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = httpx.Client(timeout=self.timeout_seconds)
        return client
