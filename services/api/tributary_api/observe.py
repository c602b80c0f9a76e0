"""Per-request metrics and the `/metrics` endpoint (Prometheus multiprocess aware)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import falcon
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from tributary_common import metrics

#: Label for requests that matched no route, so unknown paths cannot explode cardinality.
UNMATCHED = "unmatched"
_KNOWN_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}


class RequestMetrics:
    """Falcon middleware: count and time each request by its route template."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.started = time.perf_counter()

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        started = getattr(req.context, "started", None)
        if started is None:
            return
        route = req.uri_template or UNMATCHED
        method = req.method if req.method in _KNOWN_METHODS else "OTHER"
        status = int(str(resp.status).split()[0]) if resp.status else 200
        metrics.http_request(route, method, status, time.perf_counter() - started)


class _Chain:
    """Collector that re-exports another registry (the process or multiprocess one)."""

    def __init__(self, source: Any) -> None:
        self.source = source

    def collect(self) -> Iterable[Any]:
        return self.source.collect()


def build_registry(collectors: list[Any], multiprocess_dir: str | None) -> CollectorRegistry:
    """This process's metrics (all workers' in multiprocess mode) plus the scrape-time ones."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir:
        source = CollectorRegistry()
        multiprocess.MultiProcessCollector(source, path=multiprocess_dir)
        registry.register(_Chain(source))
    else:
        registry.register(_Chain(REGISTRY))
    for collector in collectors:
        registry.register(collector)
    return registry


class MetricsResource:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.data = generate_latest(self.registry)
        resp.content_type = CONTENT_TYPE_LATEST
