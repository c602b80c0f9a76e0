"""The app factory. `create_app(deps)` wires the routes of `routes.ROUTES`; `get_app()` is the
gunicorn entry point and the only place that reads the environment."""

from __future__ import annotations

import os
from typing import Any

import falcon
import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from tributary_common import redaction
from tributary_common.connectors import load_registry
from tributary_common.credentials.box import SecretBox
from tributary_common.credentials.factory import app_secrets
from tributary_common.dispatch import Dispatcher
from tributary_common.logs import configure
from tributary_common.metrics_collector import build_collector
from tributary_common.ratelimit import build_limiter
from tributary_common.settings import Settings

from . import console, errors, process, routes
from .auth import RouteAuth, build_guards
from .deps import ApiDeps
from .observe import RequestMetrics


def create_app(deps: ApiDeps) -> falcon.App:
    """Build the Falcon app on the given collaborators (routes and their secrets: `routes`).

    Raises RuntimeError when the app would serve a route without a declared secret family.
    """
    middleware: list[Any] = [
        RequestMetrics(),
        RouteAuth(build_guards(deps.settings, console.guard(deps)), routes.families()),
    ]
    app = falcon.App(middleware=middleware)
    app.req_options.strip_url_path_trailing_slash = True
    errors.install(app)
    console.install(app)
    routes.add_routes(app, deps)
    missing = routes.undeclared(app)
    if missing:
        raise RuntimeError(f"routes without a declared secret family: {missing}")
    return app


def make_redis(url: str) -> redis.Redis:
    """A client that fails fast: one quick retry, so an outage costs a request milliseconds."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=1,
        socket_timeout=2,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=0.05, base=0.01), 1),
    )


def get_app() -> falcon.App:
    """Entry point: settings from the environment, this process's pool, the connectors."""
    settings = Settings.from_env()
    configure(settings.log_level)
    redaction.register(settings.api_token, settings.cron_secret, *app_secrets(settings))
    SecretBox(settings.encryption_keys)  # refuses to start without an encryption key
    client = make_redis(settings.redis_url)
    deps = ApiDeps(
        settings=settings,
        pool=process.pool(settings.database_url),
        redis=client,
        dispatcher=Dispatcher(client, settings.namespace),
        limiter=build_limiter(settings, client),
        registry=load_registry(settings.connectors_module),
        multiprocess_dir=os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None,
    )
    deps.collectors.append(
        build_collector(
            deps.pool,
            deps.dispatcher,
            deps.limiter,
            heartbeat_timeout_ms=settings.heartbeat_timeout_ms,
        )
    )
    return create_app(deps)
