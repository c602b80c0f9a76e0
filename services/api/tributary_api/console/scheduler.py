"""The Scheduler page: the last run of each command, its outcome and what it did."""

from __future__ import annotations

import falcon
from tributary_common.ledger import schedule_runs

from ..deps import ApiDeps
from .render import page


class SchedulerPage:
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        page(req, resp, "scheduler.html", runs=schedule_runs.all_runs(self.deps.pool))
