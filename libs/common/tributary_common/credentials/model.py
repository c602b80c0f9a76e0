"""A connection's credential: what the provider issued, decrypted, in the calling process.

Only the process that calls the provider (the worker, or the api's process-queue) builds
one: it holds plaintext tokens, so ``repr`` hides them and nothing serializes it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

KINDS = ("user", "personal", "system_user")


@dataclass(frozen=True)
class Credential:
    connection_id: uuid.UUID
    provider: str
    account_id: str
    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    #: When the access token stops working (UTC); None: no known expiry.
    expires_at: datetime | None = None
    #: When the access token was issued (UTC); None: unknown.
    issued_at: datetime | None = None
    #: Space-separated granted scopes, as the provider reported them.
    scopes: str | None = None
    token_type: str = "bearer"
    #: user (OAuth user token), personal (PAT: never refreshed), system_user (Meta).
    kind: str = "user"
    #: +1 on every write of the credential; refreshes compare-and-set on it.
    version: int = 1
    #: The fencing token of the refresh that wrote it (0: never refreshed).
    fence: int = 0

    def secrets(self) -> tuple[str, ...]:
        """The values `redaction.guarding` must mask while this credential is in use."""
        return tuple(s for s in (self.access_token, self.refresh_token) if s)

    def expires_within(self, seconds: float, now: datetime) -> bool:
        """Whether the access token expires before ``now + seconds`` (False: no expiry)."""
        return self.expires_at is not None and self.expires_at <= now + timedelta(seconds=seconds)


@dataclass(frozen=True)
class TokenSet:
    """What a token endpoint returned: a new access token and, when it rotates, refresh token.

    ``refresh_token`` None means "keep the current one" (Google does not rotate)."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    #: Lifetime in seconds from now; None: the token does not expire.
    expires_in: float | None = None
    scopes: str | None = None
    token_type: str = "bearer"

    @classmethod
    def from_response(cls, body: dict[str, Any]) -> TokenSet:
        """Read an RFC 6749 §5.1 token response (``expires_in`` in seconds)."""
        expires = body.get("expires_in")
        scope = body.get("scope")
        if isinstance(scope, list):
            scope = " ".join(str(s) for s in scope)
        return cls(
            access_token=str(body["access_token"]),
            refresh_token=str(body["refresh_token"]) if body.get("refresh_token") else None,
            expires_in=float(expires) if expires not in (None, "", 0, "0") else None,
            scopes=str(scope).replace(",", " ").strip() or None if scope is not None else None,
            token_type=str(body.get("token_type") or "bearer").lower(),
        )


#: A token that cannot be renewed without the user shows `expiring` this long before its
#: date (Meta user tokens: about 60 days, then the user must log in again [C META-2]).
EXPIRING_WINDOW = timedelta(days=7)
#: Providers that renew the access token with itself (no refresh token), and which kind.
SELF_RENEWING = {"instagram": "user", "meta_ads": "system_user"}


def renews_in_background(
    provider: str, kind: str, has_refresh_token: bool, expires_at: datetime | None
) -> bool:
    """Whether Tributary can renew this credential without its user (see `adapters`)."""
    if provider in SELF_RENEWING:
        return kind == SELF_RENEWING[provider] and expires_at is not None
    return kind == "user" and has_refresh_token


def state(
    provider: str,
    kind: str,
    has_refresh_token: bool,
    expires_at: datetime | None,
    now: datetime,
) -> str:
    """valid, refreshable (renewed in the background), expiring (within `EXPIRING_WINDOW`
    and only the user can renew it) or expired."""
    if renews_in_background(provider, kind, has_refresh_token, expires_at):
        return "refreshable"
    if expires_at is None or expires_at > now + EXPIRING_WINDOW:
        return "valid"
    return "expiring" if expires_at > now else "expired"
