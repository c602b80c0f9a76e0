"""The contract of a provider's refresh adapter, and what a refresh can end in."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import httpx

from ..errors import TributaryError
from .model import Credential, TokenSet


class RefreshRejected(TributaryError):
    """Raised when the token endpoint refuses the grant for good (``invalid_grant``, revoked,
    consent withdrawn, GitHub ``bad_refresh_token``): the user must reconnect."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RefreshUnavailable(TributaryError):
    """Raised when the token endpoint failed in a way worth waiting out (5xx, timeout, 429);
    ``retry_at`` (epoch seconds) is the provider's Retry-After, or None."""

    def __init__(self, reason: str, retry_at: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_at = retry_at


class Refresher(Protocol):
    @property
    def provider(self) -> str: ...

    def margin_seconds(self, credential: Credential) -> float:
        """How long before expiry the credential is renewed in the background."""

    def can_refresh(self, credential: Credential, now: datetime) -> bool:
        """Whether this credential can be renewed without the user (PATs cannot)."""

    def refresh(self, client: httpx.Client, credential: Credential) -> TokenSet:
        """Redeem the credential at the token endpoint; raise `RefreshRejected` or
        `RefreshUnavailable`."""

    def says_expired(self, response: httpx.Response) -> bool:
        """Whether a failed API response says the access token expired (or was invalidated)."""
