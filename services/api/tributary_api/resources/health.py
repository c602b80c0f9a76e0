"""`/healthz` (the process answers) and `/readyz` (PostgreSQL and Redis reachable)."""

from __future__ import annotations

import falcon
import redis
from tributary_common.db import transaction
from tributary_common.errors import LedgerUnavailable

from ..deps import ApiDeps


class Healthz:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "ok"}


class Readyz:
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        checks = {"postgres": "ok", "redis": "ok"}
        try:
            with transaction(self.deps.pool) as conn:
                conn.execute("SELECT 1")
        except LedgerUnavailable as exc:
            checks["postgres"] = str(exc)
        try:
            self.deps.redis.ping()
        except redis.RedisError as exc:
            checks["redis"] = f"Redis unavailable: {type(exc).__name__}"
        ready = all(v == "ok" for v in checks.values())
        resp.status = falcon.HTTP_200 if ready else falcon.HTTP_503
        resp.media = {"ready": ready, "checks": checks}
