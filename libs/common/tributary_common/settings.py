"""Configuration, read once at each entry point into a frozen object.

Only entry points (`get_app()`, the worker's broker module, the scheduler's `main()`)
call `Settings.from_env`; everything else receives the settings or the pieces it needs.
Every variable is listed in the README's configuration table; a bad value raises
`ConfigError` naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from .connectors import ProviderConfig
from .credentials.apps import OAuthApp, apps_from_env
from .credentials.box import parse_keys
from .errors import ConfigError

PROVIDERS: tuple[str, ...] = ("github", "youtube", "x", "instagram", "meta_ads", "google_ads")
#: The seeds' provider names, accepted wherever the api takes a provider and answered
#: under the canonical name (the seeds called Meta Ads `meta`, Google Ads `google`, X `twitter`).
PROVIDER_ALIASES: dict[str, str] = {"meta": "meta_ads", "google": "google_ads", "twitter": "x"}

#: Where each provider's API lives in production. Overridden per provider by
#: ``TRIBUTARY_<PROVIDER>_BASE_URL`` (the simulator in `make run` and tests).
DEFAULT_BASE_URLS: dict[str, str] = {
    "github": "https://api.github.com",
    "youtube": "https://www.googleapis.com/youtube/v3",
    "x": "https://api.x.com",
    "instagram": "https://graph.instagram.com",
    "meta_ads": "https://graph.facebook.com",
    "google_ads": "https://googleads.googleapis.com",
}


#: App-level provider credentials: provider → {credential name: environment variable}.
CREDENTIAL_VARIABLES: dict[str, dict[str, str]] = {
    "google_ads": {"developer_token": "TRIBUTARY_GOOGLE_ADS_DEVELOPER_TOKEN"},
}


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, minimum: float = 0.0) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def _require(env: Mapping[str, str]) -> None:
    required = (env.get("TRIBUTARY_REQUIRED_SETTINGS") or "").split(",")
    missing = [name.strip() for name in required if name.strip() and not env.get(name.strip())]
    if missing:
        raise ConfigError(
            f"{', '.join(missing)} not set, and TRIBUTARY_REQUIRED_SETTINGS requires"
            f" {'it' if len(missing) == 1 else 'them'} (no fallback to 127.0.0.1 defaults):"
            " set them in the Secret (Helm: secrets.* or secrets.existingSecret)"
        )


def _url(env: Mapping[str, str], name: str, default: str, schemes: tuple[str, ...]) -> str:
    value = env.get(name) or default
    if not value.startswith(tuple(f"{s}://" for s in schemes)):
        raise ConfigError(f"{name} must start with one of {', '.join(schemes)}://")
    return value


@dataclass(frozen=True)
class WebhookSettings:
    """Inbound webhook routes: secrets (never logged or echoed), debounce, size, WebSub."""

    github_secret: str = field(default="", repr=False)
    meta_app_secret: str = field(default="", repr=False)
    meta_verify_token: str = field(default="", repr=False)
    youtube_secret: str = field(default="", repr=False)
    #: A delivery's sync waits this long, so a burst for one connection becomes one sync.
    debounce_seconds: float = 10.0
    #: Larger deliveries are answered 413 before being read.
    max_body_bytes: int = 5_242_880
    #: The public URL of `/webhooks/youtube` that the WebSub hub calls back ('' disables
    #: `websub-renew`).
    websub_callback_url: str = ""
    websub_hub_url: str = "https://pubsubhubbub.appspot.com/subscribe"
    #: Lease asked of the hub (Google's hub: 5-day default, 10-day cap [S WS-3]).
    websub_lease_seconds: int = 432_000
    #: `websub-renew` re-subscribes when a lease ends within this long (or is unknown).
    websub_renew_before_seconds: int = 86_400


@dataclass(frozen=True)
class EventSettings:
    """Events out: delivery timeouts, when an endpoint is disabled, plain-http endpoints."""

    timeout_seconds: float = 10.0
    #: An endpoint whose deliveries have all failed for this long is disabled, with a reason.
    disable_after_seconds: float = 86_400.0
    #: Endpoints must be https unless this is set (local development and tests).
    allow_http: bool = False
    #: Seconds between attempts of one delivery (Standard Webhooks' suggested schedule,
    #: about 27 hours in all); the delivery fails after the last.
    retry_schedule: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw not in {"true", "false", "1", "0"}:
        raise ConfigError(f"{name} must be true or false, got {raw!r}")
    return raw in {"true", "1"}


def _schedule(env: Mapping[str, str], name: str, default: tuple[float, ...]) -> tuple[float, ...]:
    raw = env.get(name)
    if not raw:
        return default
    try:
        values = tuple(float(part) for part in raw.split(","))
    except ValueError:
        raise ConfigError(f"{name} must be comma-separated seconds, got {raw!r}") from None
    if not values or any(v < 0 for v in values):
        raise ConfigError(f"{name} must list at least one non-negative number of seconds")
    return values


def webhook_settings_from_env(env: Mapping[str, str]) -> WebhookSettings:
    defaults = WebhookSettings()
    callback = env.get("TRIBUTARY_WEBSUB_CALLBACK_URL") or ""
    if callback:
        callback = _url(env, "TRIBUTARY_WEBSUB_CALLBACK_URL", "", ("http", "https"))
    return WebhookSettings(
        github_secret=env.get("TRIBUTARY_WEBHOOK_GITHUB_SECRET", ""),
        meta_app_secret=env.get("TRIBUTARY_WEBHOOK_META_APP_SECRET", ""),
        meta_verify_token=env.get("TRIBUTARY_WEBHOOK_META_VERIFY_TOKEN", ""),
        youtube_secret=env.get("TRIBUTARY_WEBHOOK_YOUTUBE_SECRET", ""),
        debounce_seconds=_float(env, "TRIBUTARY_WEBHOOK_DEBOUNCE_SECONDS", 10.0, 0.0),
        max_body_bytes=_int(env, "TRIBUTARY_WEBHOOK_MAX_BODY_BYTES", defaults.max_body_bytes, 1024),
        websub_callback_url=callback,
        websub_hub_url=_url(
            env, "TRIBUTARY_WEBSUB_HUB_URL", defaults.websub_hub_url, ("http", "https")
        ),
        websub_lease_seconds=_int(env, "TRIBUTARY_WEBSUB_LEASE_SECONDS", 432_000, 60),
        websub_renew_before_seconds=_int(env, "TRIBUTARY_WEBSUB_RENEW_BEFORE_SECONDS", 86_400, 0),
    )


def event_settings_from_env(env: Mapping[str, str]) -> EventSettings:
    defaults = EventSettings()
    return EventSettings(
        timeout_seconds=_float(env, "TRIBUTARY_EVENTS_TIMEOUT_SECONDS", 10.0, 0.1),
        disable_after_seconds=_float(env, "TRIBUTARY_EVENTS_DISABLE_AFTER_SECONDS", 86_400.0, 0),
        allow_http=_bool(env, "TRIBUTARY_EVENTS_ALLOW_HTTP", False),
        retry_schedule=_schedule(env, "TRIBUTARY_EVENTS_RETRY_SCHEDULE", defaults.retry_schedule),
    )


@dataclass(frozen=True)
class Settings:
    database_url: str = "postgresql://postgres@127.0.0.1:5432/tributary"
    redis_url: str = "redis://127.0.0.1:6379/0"
    #: Prefix of every Redis key (Dramatiq's and ours), so deployments and test runs
    #: sharing one Redis never collide.
    namespace: str = "tributary"
    api_token: str = ""
    cron_secret: str = ""
    base_urls: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_BASE_URLS))
    #: Raw limit overrides per provider (``TRIBUTARY_LIMITS_<PROVIDER>``), parsed by
    #: `tributary_common.ratelimit.config`.
    limit_overrides: Mapping[str, str] = field(default_factory=dict)
    credentials: Mapping[str, Mapping[str, str]] = field(default_factory=dict, repr=False)
    http_timeout_seconds: float = 10.0
    #: Retries after the first failed attempt (backoff 2 s, 4 s, 8 s with the defaults).
    max_retries: int = 3
    backoff_base_seconds: float = 2.0
    job_lease_seconds: float = 10.0
    shutdown_grace_seconds: float = 25.0
    heartbeat_timeout_ms: int = 10_000
    crash_limit: int = 3
    #: A provider throttle defers a job; one lasting past this (from the job's first
    #: throttle) dead-letters it as RATE_LIMIT.
    throttle_horizon_seconds: float = 86_400.0
    retention_days: int = 7
    #: Unreplayed dead letters (and the jobs and attempts they point at) are kept this long.
    dead_letter_retention_days: int = 30
    reconcile_grace_seconds: float = 30.0
    default_sync_interval_minutes: int = 60
    max_body_bytes: int = 1_048_576
    metrics_port: int = 9191
    log_level: str = "INFO"
    worker_processes: int = 2
    worker_threads: int = 4
    #: PostgreSQL connections per worker process, shared by its threads (ledger work is
    #: short and no thread holds a connection while it waits on a provider). None: threads
    #: + 2, at most 10.
    worker_db_connections: int | None = None
    #: Where the api's process-queue finds the connector registry (`module` or `module:attr`).
    connectors_module: str = "tributary_worker.providers"
    #: Provider webhooks in (`tributary_api.webhooks`). A provider with no secret set
    #: refuses every delivery (fail closed).
    webhooks: WebhookSettings = field(default_factory=lambda: WebhookSettings())
    #: Signed events out (`tributary_common.events`).
    events: EventSettings = field(default_factory=lambda: EventSettings())
    #: Fernet keys (``TRIBUTARY_ENCRYPTION_KEYS``, comma-separated): the first encrypts,
    #: all decrypt. Every process refuses to start without one (`credentials.box`).
    encryption_keys: tuple[str, ...] = field(default=(), repr=False)
    #: OAuth apps per provider (client id/secret, token and authorize URLs).
    oauth_apps: Mapping[str, OAuthApp] = field(default_factory=dict, repr=False)
    #: Renew short-lived access tokens this long before they expire.
    refresh_margin_seconds: float = 300.0
    #: Lifetime of the per-connection refresh lock (a holder killed frees it this late);
    #: also how long another job waits for that refresh before deferring.
    refresh_lock_seconds: float = 15.0

    def worker_pool_size(self) -> int:
        """PostgreSQL connections of one worker process (see ``worker_db_connections``)."""
        if self.worker_db_connections is not None:
            return self.worker_db_connections
        return min(self.worker_threads + 2, 10)

    def provider_configs(self) -> dict[str, ProviderConfig]:
        """Connector settings for every provider with a base URL."""
        return {
            provider: ProviderConfig(
                base_url=url,
                timeout_seconds=self.http_timeout_seconds,
                credentials=dict(self.credentials.get(provider, {})),
            )
            for provider, url in self.base_urls.items()
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from environment variables (``os.environ`` by default).

        Raises `ConfigError` on a malformed value, and when a name listed in
        ``TRIBUTARY_REQUIRED_SETTINGS`` (comma-separated; the Helm chart lists DATABASE_URL,
        REDIS_URL and API_TOKEN) is unset or empty, instead of falling back to the
        development defaults (PostgreSQL and Redis on 127.0.0.1, no token).
        """
        env = os.environ if env is None else env
        _require(env)
        base_urls = dict(DEFAULT_BASE_URLS)
        limit_overrides: dict[str, str] = {}
        for provider in PROVIDERS:
            key = provider.upper()
            base_urls[provider] = _url(
                env, f"TRIBUTARY_{key}_BASE_URL", DEFAULT_BASE_URLS[provider], ("http", "https")
            ).rstrip("/")
            if env.get(f"TRIBUTARY_LIMITS_{key}"):
                limit_overrides[provider] = env[f"TRIBUTARY_LIMITS_{key}"]
        credentials = {
            provider: {name: env[var] for name, var in names.items() if env.get(var)}
            for provider, names in CREDENTIAL_VARIABLES.items()
        }
        namespace = env.get("TRIBUTARY_NAMESPACE") or "tributary"
        if not namespace.replace("-", "").replace("_", "").isalnum():
            raise ConfigError("TRIBUTARY_NAMESPACE may hold only letters, digits, '-' and '_'")
        log_level = (env.get("LOG_LEVEL") or "INFO").upper()
        if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {log_level!r}")
        return cls(
            database_url=_url(env, "DATABASE_URL", cls.database_url, ("postgresql", "postgres")),
            redis_url=_url(env, "REDIS_URL", cls.redis_url, ("redis", "rediss", "unix")),
            namespace=namespace,
            api_token=env.get("API_TOKEN", ""),
            cron_secret=env.get("CRON_SECRET", ""),
            base_urls=base_urls,
            limit_overrides=limit_overrides,
            credentials=credentials,
            http_timeout_seconds=_float(env, "TRIBUTARY_HTTP_TIMEOUT_SECONDS", 10.0, 0.1),
            max_retries=_int(env, "TRIBUTARY_MAX_RETRIES", 3, 0),
            backoff_base_seconds=_float(env, "TRIBUTARY_BACKOFF_BASE_SECONDS", 2.0, 0.0),
            job_lease_seconds=_float(env, "TRIBUTARY_JOB_LEASE_SECONDS", 10.0, 1.0),
            shutdown_grace_seconds=_float(env, "TRIBUTARY_SHUTDOWN_GRACE_SECONDS", 25.0, 0.0),
            heartbeat_timeout_ms=_int(env, "TRIBUTARY_HEARTBEAT_TIMEOUT_MS", 10_000, 1000),
            crash_limit=_int(env, "TRIBUTARY_CRASH_LIMIT", 3, 1),
            throttle_horizon_seconds=_float(
                env, "TRIBUTARY_THROTTLE_HORIZON_SECONDS", 86_400.0, 1.0
            ),
            retention_days=_int(env, "TRIBUTARY_RETENTION_DAYS", 7, 0),
            dead_letter_retention_days=_int(env, "TRIBUTARY_DEAD_LETTER_RETENTION_DAYS", 30, 0),
            reconcile_grace_seconds=_float(env, "TRIBUTARY_RECONCILE_GRACE_SECONDS", 30.0, 0.0),
            default_sync_interval_minutes=_int(env, "TRIBUTARY_SYNC_INTERVAL_MINUTES", 60, 1),
            max_body_bytes=_int(env, "TRIBUTARY_MAX_BODY_BYTES", 1_048_576, 1024),
            metrics_port=_int(env, "TRIBUTARY_METRICS_PORT", 9191, 0),
            log_level=log_level,
            worker_processes=_int(env, "TRIBUTARY_WORKER_PROCESSES", 2, 1),
            worker_threads=_int(env, "TRIBUTARY_WORKER_THREADS", 4, 1),
            worker_db_connections=(
                _int(env, "TRIBUTARY_WORKER_DB_CONNECTIONS", 10, 2)
                if env.get("TRIBUTARY_WORKER_DB_CONNECTIONS")
                else None
            ),
            connectors_module=env.get("TRIBUTARY_CONNECTORS_MODULE") or cls.connectors_module,
            webhooks=webhook_settings_from_env(env),
            events=event_settings_from_env(env),
            encryption_keys=parse_keys(env.get("TRIBUTARY_ENCRYPTION_KEYS", "")),
            oauth_apps=apps_from_env(env, PROVIDERS),
            refresh_margin_seconds=_float(env, "TRIBUTARY_REFRESH_MARGIN_SECONDS", 300.0, 0.0),
            refresh_lock_seconds=_float(env, "TRIBUTARY_REFRESH_LOCK_SECONDS", 15.0, 1.0),
        )
