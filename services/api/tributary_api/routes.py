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

from .auth import API, CONSOLE, CRON, OPEN
from .console import connections as console_connections
from .console import deadletters as console_letters
from .console import jobs as console_jobs
from .console import overview, scheduler, signin, static
from .console import store as console_store
from .deps import ApiDeps
from .observe import MetricsResource, build_registry
from .openapi import OpenApiResource
from .resources import activities, connections, cron, deadletters, health, jobs, sync
from .resources import event_endpoints as events
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
    Route("/api/sync/jobs", API, jobs.JobCollection),
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
    Route("/api/webhook-endpoints", API, events.EndpointCollection),
    Route("/api/webhook-endpoints/{endpoint_id}", API, events.EndpointItem),
    Route("/api/webhook-endpoints/{endpoint_id}/deliveries", API, events.EndpointDeliveries),
    Route(
        "/api/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/replay",
        API,
        events.DeliveryReplay,
    ),
    Route("/api/webhook-deliveries", API, events.InboundDeliveries),
    # Provider webhooks: open to the internet, each POST verified by its HMAC signature
    # and each GET challenge by its verify token or a subscription we asked for.
    Route("/webhooks/github", OPEN, webhooks.GithubWebhook),
    Route("/webhooks/meta", OPEN, webhooks.MetaWebhook),
    Route("/webhooks/youtube", OPEN, webhooks.YoutubeWebhook),
    # The operator console (docs/console.md): a session; only the sign-in page is open,
    # and it checks the API token (and its form's nonce) itself.
    Route("/console/login", OPEN, lambda d: signin.SignIn(console_store(d), d.settings.api_token)),
    Route("/console/logout", CONSOLE, lambda d: signin.SignOut(console_store(d))),
    Route("/console", CONSOLE, overview.Overview),
    Route("/console/panel/overview", CONSOLE, overview.OverviewPanel),
    Route("/console/jobs", CONSOLE, console_jobs.JobList),
    Route("/console/jobs/{job_id}", CONSOLE, console_jobs.JobPage),
    Route("/console/dead-letters", CONSOLE, console_letters.LetterList),
    Route("/console/dead-letters/replay", CONSOLE, console_letters.Replay),
    Route("/console/dead-letters/purge", CONSOLE, console_letters.Purge),
    Route("/console/dead-letters/{letter_id}", CONSOLE, console_letters.LetterPage),
    Route("/console/connections", CONSOLE, console_connections.ConnectionList),
    Route(
        "/console/connections/{connection_id}/{action}",
        CONSOLE,
        console_connections.ConnectionAction,
    ),
    Route("/console/scheduler", CONSOLE, scheduler.SchedulerPage),
    Route("/console/static/{name}", CONSOLE, lambda d: static.Static()),
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
