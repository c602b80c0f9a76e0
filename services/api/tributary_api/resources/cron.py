"""`/api/cron/*`: what Vercel-style or Kubernetes cron calls instead of the scheduler CLI.

Each run is recorded in `scheduler_runs` under the CLI command it stands for, so the
staleness alerts work whichever way a deployment drives the schedule.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import falcon
import redis
from tributary_common import health, scheduling
from tributary_common.ledger import schedule_runs, stats

from .. import schemas
from ..deps import ApiDeps
from ..errors import ApiError
from ..runner import RunnerHolder
from ..validation import query, read_json

#: process-queue stops starting jobs after this long, well inside gunicorn's timeout.
PROCESS_BUDGET_SECONDS = 20.0


class SyncAll:
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        query(req, {})
        read_json(
            req, schemas.obj({}, [], additionalProperties=False), self.deps.settings.max_body_bytes
        )
        deps = self.deps
        report = schedule_runs.recorded(
            deps.pool,
            "enqueue-due",
            lambda: scheduling.enqueue_due(deps.pool, deps.dispatcher, everything=True),
        )
        # Success whenever the ledger holds the jobs: the ones Redis did not take are
        # counted in leftForReconcile, and `reconcile` sends them.
        resp.media = scheduling.enqueue_summary(report)


class SyncHourly:
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        query(req, {})
        deps = self.deps
        due = schedule_runs.recorded(
            deps.pool, "enqueue-due", lambda: scheduling.enqueue_due(deps.pool, deps.dispatcher)
        )
        deleted = schedule_runs.recorded(
            deps.pool,
            "cleanup",
            lambda: scheduling.cleanup(
                deps.pool,
                retention_days=deps.settings.retention_days,
                dead_letter_retention_days=deps.settings.dead_letter_retention_days,
            ),
        )
        figures = stats.health_stats(deps.pool)
        verdict = health.check(deps.pool, deps.redis)
        resp.media = {
            # The definition `tributary_scheduler health` uses; `failed` names what failed.
            "healthy": verdict["healthy"],
            "failed": verdict["failed"],
            "checks": verdict["checks"],
            "stats": figures,
            **scheduling.enqueue_summary(due),
            "cleaned": deleted,
        }

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        read_json(
            req, schemas.obj({}, [], additionalProperties=False), self.deps.settings.max_body_bytes
        )
        self.on_get(req, resp)


class ProcessQueue:
    def __init__(self, deps: ApiDeps, runners: RunnerHolder) -> None:
        self.deps = deps
        self.runners = runners

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        query(req, {})
        body = read_json(req, schemas.PROCESS_QUEUE, self.deps.settings.max_body_bytes)
        runner = self.runners.get()
        if runner is None:
            raise ApiError(503, "no_connectors", "this api was started without connectors")
        deadline = time.monotonic() + PROCESS_BUDGET_SECONDS
        results: list[dict[str, Any]] = []
        for due in stats.due_jobs(self.deps.pool, body.get("limit", 5)):
            if time.monotonic() > deadline:
                break
            result = runner.run(due["id"])
            self._consume(due)
            results.append(
                {
                    "jobId": str(result.job_id),
                    "outcome": result.outcome,
                    "category": result.category,
                    "error": result.error,
                    "records": result.records,
                    "delaySeconds": round(result.delay_seconds, 3),
                }
            )
        resp.media = {"processed": len(results), "results": results}

    def _consume(self, due: dict[str, Any]) -> None:
        """The job ran here: its Redis message is removed, so no worker runs it again and
        the queue depth agrees with the ledger. A retry or deferral sent a new message."""
        if not due["message_id"]:
            return
        # Redis down: a worker that later takes the message finds the job done (duplicate).
        with contextlib.suppress(redis.RedisError):
            self.deps.dispatcher.consume(due["queue"], due["message_id"])
