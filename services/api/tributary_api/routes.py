"""Every route the api serves, with the secret family it takes (see `auth`).

`ROUTES` is the one declaration: `app.create_app` adds each route and hands the families to
`auth.RouteAuth`; `openapi.document` documents each route's security from them; and
`undeclared(app)` walks Falcon's router so that a route added any other way (a bare
``app.add_route``, a sink, a static route) fails a test and `create_app` instead of opening.
Adding a route is one line here: template, family, how to build the resource from the deps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import falcon

from .auth import API, CRON, OPEN
from .deps import ApiDeps
from .observe import MetricsResource, build_registry
from .openapi import OpenApiResource
from .resources import activities, connections, cron, deadletters, health, jobs, sync
from .runner import RunnerHolder
from .webhooks import resources as webhooks


@dataclass(frozen=True)
class Route:
    template: str
    #: The secret family (`auth.OPEN`, `auth.API`, `auth.CRON`, ...).
    family: str
    build: Callable[[ApiDeps], Any]


ROUTES: tuple[Route, ...] = (
    Route("/api/connections", API, connections.ConnectionCollection),
    Route("/api/connections/{connection_id}", API, connections.ConnectionItem),
    Route("/api/sync/manual", API, sync.ManualSync),
    Route("/api/sync/status", API, sync.SyncStatus),
    Route("/api/sync/jobs/{job_id}", API, jobs.JobItem),
    Route("/api/cron/sync-all", CRON, cron.SyncAll),
    Route("/api/cron/process-queue", CRON, lambda d: cron.ProcessQueue(d, RunnerHolder(d))),
    Route("/api/cron/sync-hourly", CRON, cron.SyncHourly),
    Route("/api/dead-letters", API, deadletters.DeadLetterCollection),
    Route("/api/dead-letters/replay", API, deadletters.DeadLetterReplay),
    Route("/api/dead-letters/{letter_id}", API, deadletters.DeadLetterItem),
    Route("/api/users/{user_id}/activities", API, activities.UserActivities),
    Route("/healthz", OPEN, lambda d: health.Healthz()),
    Route("/readyz", OPEN, health.Readyz),
    Route(
        "/metrics",
        OPEN,
        lambda d: MetricsResource(build_registry(d.collectors, d.multiprocess_dir)),
    ),
    Route("/openapi.json", OPEN, lambda d: OpenApiResource(families())),
    # Provider webhooks: open to the internet, each POST verified by its HMAC signature
    # and each GET challenge by its verify token or a subscription we asked for.
    Route("/webhooks/github", OPEN, webhooks.GithubWebhook),
    Route("/webhooks/meta", OPEN, webhooks.MetaWebhook),
    Route("/webhooks/youtube", OPEN, webhooks.YoutubeWebhook),
)


def families() -> dict[str, str]:
    """Route template -> secret family, as declared in `ROUTES`."""
    return {route.template: route.family for route in ROUTES}


def add_routes(app: falcon.App, deps: ApiDeps) -> None:
    for route in ROUTES:
        app.add_route(route.template, route.build(deps))


def served(app: falcon.App) -> Iterator[tuple[str, Any]]:
    """(template, resource) of every route in ``app``'s router (Falcon's compiled tree)."""
    stack = list(app._router._roots)
    while stack:
        node = stack.pop()
        if node.resource is not None:
            yield node.uri_template, node.resource
        stack.extend(node.children)


def undeclared(app: falcon.App, declared: dict[str, str] | None = None) -> list[str]:
    """What ``app`` serves without a declared family: templates, sinks, static routes."""
    declared = families() if declared is None else declared
    missing = sorted(t for t, _ in served(app) if t not in declared)
    missing += [f"sink {sink[0].pattern}" for sink in getattr(app, "_sinks", ())]
    missing += [f"static {route[0]!r}" for route in getattr(app, "_static_routes", ())]
    return missing
