"""Build the `CredentialService` of a process that calls providers, from its settings."""

from __future__ import annotations

import redis
from psycopg_pool import ConnectionPool

from ..ratelimit.base import RateLimiter
from ..settings import Settings
from .adapters import build_refreshers
from .box import SecretBox
from .lock import RefreshLock
from .service import CredentialService


def build_credentials(
    settings: Settings,
    *,
    pool: ConnectionPool,
    client: redis.Redis,
    limiter: RateLimiter,
    owner: str,
) -> CredentialService:
    """Raises `ConfigError` when no encryption key is configured."""
    lock = RefreshLock(client, settings.namespace, owner, settings.refresh_lock_seconds)
    return CredentialService(
        pool=pool,
        box=SecretBox(settings.encryption_keys),
        lock=lock,
        refreshers=build_refreshers(settings),
        limiter=limiter,
        timeout_seconds=settings.http_timeout_seconds,
        wait_seconds=settings.refresh_lock_seconds,
    )


def app_secrets(settings: Settings) -> tuple[str, ...]:
    """Configured secrets of the credential machinery, for `redaction.register`: the OAuth
    apps' client secrets and the encryption keys."""
    found = [app.client_secret for app in settings.oauth_apps.values()]
    return tuple(s for s in (*found, *settings.encryption_keys) if s)
