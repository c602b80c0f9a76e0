"""The scheduler's own runs, kept in the ledger because its CronJobs are short-lived."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any, TypeVar

from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from ..db import transaction

START = """
INSERT INTO scheduler_runs (command, last_started_at, runs) VALUES (%s, now(), 1)
ON CONFLICT (command) DO UPDATE SET last_started_at = now(), runs = scheduler_runs.runs + 1
"""
FINISH = """
UPDATE scheduler_runs
SET last_finished_at = now(), last_ok = %(ok)s, last_summary = %(summary)s,
    last_success_at = CASE WHEN %(ok)s THEN now() ELSE last_success_at END,
    failures = failures + CASE WHEN %(ok)s THEN 0 ELSE 1 END
WHERE command = %(command)s
"""


T = TypeVar("T")


def recorded(pool: ConnectionPool, command: str, fn: Callable[[], T]) -> T:
    """Run ``fn`` as one run of ``command``: started, then finished ok or failed.

    What ``fn`` returned is kept as the run's summary (`summary`); a failed run keeps none.
    """
    started(pool, command)
    ok = False
    result: T | None = None
    try:
        result = fn()
        ok = True
        return result
    finally:
        finished(pool, command, ok, summary(result) if ok else None)


def summary(result: Any) -> dict[str, Any] | None:
    """A run's result as a JSON object: dicts and dataclasses as they are, numbers as count."""
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return dataclasses.asdict(result)
    if isinstance(result, dict):
        return result
    if isinstance(result, int) and not isinstance(result, bool):
        return {"count": result}
    return None


def started(pool: ConnectionPool, command: str) -> None:
    with transaction(pool) as conn:
        conn.execute(START, (command,))


def finished(
    pool: ConnectionPool, command: str, ok: bool, summary: dict[str, Any] | None = None
) -> None:
    doc = None if summary is None else Jsonb(summary, dumps=lambda v: json.dumps(v, default=str))
    with transaction(pool) as conn:
        conn.execute(FINISH, {"command": command, "ok": ok, "summary": doc})


def all_runs(pool: ConnectionPool) -> list[dict[str, Any]]:
    with transaction(pool) as conn:
        return conn.execute("SELECT * FROM scheduler_runs ORDER BY command").fetchall()
