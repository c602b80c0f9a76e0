"""The connector contract: what a provider connector receives, returns and may call.

Connectors live in the worker (`tributary_worker/providers/<name>/`) and are looked up by
provider name in a `ConnectorRegistry`. The job runner (here, in libs/common) builds a
`SyncContext` for each job and calls `connector.sync(ctx)`; the connector pages through
the provider with `ctx.http` and hands each page to `ctx.save_page`, which upserts the
records and the cursor in one transaction, so a job cut off anywhere resumes from the
last saved page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

if TYPE_CHECKING:
    from .provider_http import ErrorMapper, FeedbackReader, ProviderHttp
    from .throttle import ThrottleWait


@dataclass(frozen=True)
class ConnectionInfo:
    """One user's connected account at a provider, as a connector sees it."""

    id: UUID
    user_id: str
    provider: str
    #: The provider-side id: GitHub login, YouTube channel id, X user id, Instagram user
    #: id, Meta ad account id (``act_…``), Google Ads customer id.
    account_id: str
    access_token: str = field(repr=False)
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SyncRequest:
    """What one job asks a connector to do."""

    job_id: UUID
    connection: ConnectionInfo
    sync_date: date
    trigger: str
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Record:
    """One item fetched from a provider; stored by (connection, kind, external_id)."""

    kind: str
    external_id: str
    occurred_at: datetime | None
    data: Mapping[str, Any]


@dataclass(frozen=True)
class ProviderConfig:
    """Per-provider settings a connector is built with."""

    base_url: str
    timeout_seconds: float = 10.0
    #: App-level credentials some providers need beside the user's token
    #: (Google Ads ``developer-token``), from ``TRIBUTARY_<PROVIDER>_<NAME>`` variables.
    credentials: Mapping[str, str] = field(default_factory=dict, repr=False)


class SyncContext(Protocol):
    request: SyncRequest
    http: ProviderHttp

    def load_cursor(self, resource: str) -> dict[str, Any] | None:
        """Return the saved cursor of ``resource`` for this connection, or None."""

    def save_page(
        self, resource: str, records: Sequence[Record], cursor: Mapping[str, Any] | None
    ) -> int:
        """Upsert ``records`` and store ``cursor`` atomically; return how many records were new."""

    def set_activity(self, day: date, count: int) -> None:
        """Record the user's activity count for ``day`` on this provider (idempotent)."""

    def check_stop(self) -> None:
        """Raise `ShutdownRequested` when the worker is stopping; call between pages."""


class Connector(Protocol):
    provider: str
    #: Maps a provider response to a `ProviderError`, or None when it is a success.
    error_mapper: ErrorMapper
    #: Reads rate-limit feedback headers into a `Cooldown`, or None.
    feedback: FeedbackReader
    #: Optional: how long a throttle stating no wait lasts (`tributary_common.throttle`);
    #: the runner uses ``DEFAULT_THROTTLE_WAIT`` for a connector without one.
    throttle_wait: ThrottleWait

    def default_headers(self, connection: ConnectionInfo) -> dict[str, str]:
        """Headers sent on every request of this connection (auth, API version, user agent)."""

    def sync(self, ctx: SyncContext) -> None:
        """Fetch what ``ctx.request`` asks for; raise `ProviderError` on provider failures."""


ConnectorFactory = Callable[[ProviderConfig], Connector]


class ConnectorRegistry:
    """Provider name → connector factory. Adding a provider is one `register` line."""

    def __init__(self, factories: Mapping[str, ConnectorFactory] | None = None) -> None:
        self._factories: dict[str, ConnectorFactory] = dict(factories or {})

    def register(self, provider: str, factory: ConnectorFactory) -> None:
        self._factories[provider] = factory

    def providers(self) -> list[str]:
        return sorted(self._factories)

    def __contains__(self, provider: object) -> bool:
        return provider in self._factories

    def build(self, provider: str, config: ProviderConfig) -> Connector:
        try:
            factory = self._factories[provider]
        except KeyError:
            raise KeyError(f"no connector registered for provider {provider!r}") from None
        return factory(config)


def load_registry(target: str) -> ConnectorRegistry:
    """Import ``module`` (attribute ``REGISTRY``) or ``module:attribute``.

    This is the ``TRIBUTARY_CONNECTORS_MODULE`` setting, loaded by the worker and the api at
    their entry points."""
    import importlib

    from .errors import ConfigError

    module_name, _, attribute = target.partition(":")
    try:
        registry = getattr(importlib.import_module(module_name), attribute or "REGISTRY")
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"TRIBUTARY_CONNECTORS_MODULE: cannot load {target!r}: {exc}") from exc
    if not isinstance(registry, ConnectorRegistry):
        raise ConfigError(f"TRIBUTARY_CONNECTORS_MODULE: {target!r} is not a ConnectorRegistry")
    return registry
