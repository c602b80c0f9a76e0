"""`python -m tributary_scheduler <command>`: exit 0 ok, 1 unhealthy or failed, 2 bad usage.

Failed means the command could not do its job: `reconcile` with Redis or PostgreSQL down
exits 1. `enqueue-due` with Redis down exits 0 when the ledger took the jobs: its report
says how many were dispatched and how many were left for `reconcile` to send.

Commands: migrate, reencrypt, enqueue-due, cleanup, reconcile, housekeeping, health, dead-letters,
websub-renew, and loop
(local development: enqueue-due and reconcile every few seconds, cleanup hourly).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import redis
from psycopg_pool import ConnectionPool
from tributary_common import health as pipeline_health
from tributary_common import scheduling
from tributary_common.credentials import store as credential_store
from tributary_common.credentials.box import SecretBox
from tributary_common.db import open_pool
from tributary_common.dispatch import Dispatcher
from tributary_common.errors import ConfigError, LedgerConflict, LedgerUnavailable
from tributary_common.ledger import schedule_runs
from tributary_common.logs import configure, event, redact
from tributary_common.migrate import migrate
from tributary_common.settings import Settings

from . import deadletters_cli, websub_renew

log = logging.getLogger("tributary.scheduler")

OK, FAILED, USAGE = 0, 1, 2


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tributary-scheduler", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "migrate",
        help="apply database migrations and encrypt plaintext credentials (safe to run twice)",
    )
    sub.add_parser(
        "reencrypt", help="re-encrypt every stored credential under the first encryption key"
    )
    due = sub.add_parser("enqueue-due", help="enqueue scheduled syncs of every due connection")
    due.add_argument("--all", action="store_true", help="every active connection, due or not")
    clean = sub.add_parser("cleanup", help="delete finished jobs past retention")
    clean.add_argument("--retention-days", type=float, help="override TRIBUTARY_RETENTION_DAYS")
    sub.add_parser("reconcile", help="re-send lost messages, recover jobs of dead workers")
    sub.add_parser(
        "housekeeping",
        help="promote due delayed messages and recover expired leases (runs with 0 workers)",
    )
    health = sub.add_parser(
        "health",
        help="exit 1 when unhealthy (the checks of sync-hourly: PostgreSQL, Redis, queue, "
        "success rate)",
    )
    health.add_argument(
        "--max-oldest-pending-seconds",
        type=float,
        default=pipeline_health.MAX_OLDEST_DUE_SECONDS,
        help="unhealthy when a due job has waited longer (default %(default)s)",
    )
    health.add_argument(
        "--min-success-rate",
        type=float,
        default=pipeline_health.MIN_SUCCESS_RATE,
        help="unhealthy below this 24 h success rate, in percent (default %(default)s)",
    )
    deadletters_cli.add_parser(sub)
    sub.add_parser(
        "websub-renew", help="(re)subscribe YouTube channels at the WebSub hub before leases end"
    )
    loop = sub.add_parser("loop", help="local development: enqueue-due and reconcile in a loop")
    loop.add_argument("--interval-seconds", type=float, default=5.0)
    loop.add_argument("--iterations", type=int, default=0, help="stop after N rounds (0: never)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        box = SecretBox(settings.encryption_keys)  # refuses to start without a key
    except ConfigError as exc:
        print(f"tributary-scheduler: {exc}", file=sys.stderr)
        return USAGE
    configure(settings.log_level)
    if args.command in ("migrate", "reencrypt"):
        return _guard(lambda: _credentials_command(args.command, settings, box))
    if args.command == "websub-renew" and not settings.webhooks.websub_callback_url:
        print("tributary-scheduler: TRIBUTARY_WEBSUB_CALLBACK_URL is not set", file=sys.stderr)
        return USAGE
    pool = open_pool(settings.database_url, max_size=scheduling.LANES + 1)
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=10)
    dispatcher = Dispatcher(client, settings.namespace)
    try:
        if args.command == "health":
            return _guard(lambda: _health(pool, client, args))
        if args.command == "loop":
            return _loop(settings, pool, dispatcher, args)
        if args.command == "dead-letters":
            return _guard(lambda: _print(deadletters_cli.run(pool, dispatcher, args)))
        command = COMMANDS[args.command]
        return _guard(
            lambda: _recorded(pool, args.command, lambda: command(settings, pool, dispatcher, args))
        )
    finally:
        pool.close()
        client.close()


def _guard(fn: Callable[[], int]) -> int:
    try:
        return fn()
    except (LedgerUnavailable, LedgerConflict, redis.RedisError) as exc:
        print(f"tributary-scheduler: {redact(str(exc)) or type(exc).__name__}", file=sys.stderr)
        return FAILED


def _recorded(pool: ConnectionPool, command: str, fn: Callable[[], dict[str, Any]]) -> int:
    report = schedule_runs.recorded(pool, command, fn)
    print(json.dumps({"command": command, **report}))
    return OK


def _print(report: dict[str, Any]) -> int:
    print(json.dumps(report))
    return OK


def _credentials_command(command: str, settings: Settings, box: SecretBox) -> int:
    """migrate: the SQL migrations, then plaintext secrets (rows from before 0006)
    encrypted; reencrypt: every secret rewritten under the first key."""
    applied = migrate(settings.database_url) if command == "migrate" else []
    pool = open_pool(settings.database_url, max_size=2)
    try:
        if command == "migrate":
            report = {
                "applied": applied,
                "encrypted": credential_store.encrypt_plaintext(pool, box),
            }
        else:
            report = credential_store.reencrypt(pool, box)
    finally:
        pool.close()
    print(json.dumps({"command": command, **report}))
    return OK


def _enqueue_due(
    settings: Settings, pool: ConnectionPool, d: Dispatcher, args: Any
) -> dict[str, Any]:
    report = scheduling.enqueue_due(pool, d, everything=getattr(args, "all", False))
    return scheduling.enqueue_summary(report)


def _cleanup(settings: Settings, pool: ConnectionPool, d: Dispatcher, args: Any) -> dict[str, Any]:
    days = (
        args.retention_days
        if getattr(args, "retention_days", None) is not None
        else settings.retention_days
    )
    deleted = scheduling.cleanup(
        pool, retention_days=days, dead_letter_retention_days=settings.dead_letter_retention_days
    )
    return {"deleted": deleted}


def _reconcile(
    settings: Settings, pool: ConnectionPool, d: Dispatcher, args: Any
) -> dict[str, Any]:
    report = scheduling.reconcile(
        pool, d, grace_seconds=settings.reconcile_grace_seconds, crash_limit=settings.crash_limit
    )
    return {
        "checked": report.checked,
        "resent": report.resent,
        "recovered": report.recovered,
        "deadLettered": report.dead_lettered,
    }


def _websub_renew(
    settings: Settings, pool: ConnectionPool, d: Dispatcher, args: Any
) -> dict[str, Any]:
    with httpx.Client(timeout=settings.http_timeout_seconds) as client:
        return websub_renew.renew(pool, settings.webhooks, client)


def _housekeeping(
    settings: Settings, pool: ConnectionPool, d: Dispatcher, args: Any
) -> dict[str, Any]:
    """What every worker does in the background, for when no worker runs (scale to zero):
    due retries and deferrals go back onto their queues, so the autoscaling signal sees
    them as waiting, and jobs of dead workers are recovered or dead-lettered."""
    promoted = 0
    while (moved := d.promote_due()) > 0:
        promoted += moved
    report = scheduling.recover_expired(pool, d, crash_limit=settings.crash_limit)
    return {
        "promoted": promoted,
        "recovered": report.recovered,
        "deadLettered": report.dead_lettered,
    }


COMMANDS: dict[str, Callable[[Settings, ConnectionPool, Dispatcher, Any], dict[str, Any]]] = {
    "enqueue-due": _enqueue_due,
    "cleanup": _cleanup,
    "reconcile": _reconcile,
    "websub-renew": _websub_renew,
    "housekeeping": _housekeeping,
}


def _health(pool: ConnectionPool, client: redis.Redis, args: Any) -> int:
    thresholds = pipeline_health.Thresholds(
        max_oldest_due_seconds=args.max_oldest_pending_seconds,
        min_success_rate=args.min_success_rate,
    )
    report = pipeline_health.check(pool, client, thresholds)
    print(json.dumps(report))
    return OK if report["healthy"] else FAILED


def _loop(settings: Settings, pool: ConnectionPool, d: Dispatcher, args: Any) -> int:
    """Local stand-in for the CronJobs: enqueue-due and reconcile each round, cleanup hourly."""
    last_cleanup = 0.0
    rounds = 0
    while True:
        for name in ("enqueue-due", "reconcile"):
            try:
                _recorded(pool, name, lambda n=name: COMMANDS[n](settings, pool, d, args))
            except (LedgerUnavailable, LedgerConflict, redis.RedisError) as exc:
                event(log, "scheduler.round_failed", logging.WARNING, command=name, error=str(exc))
        if time.monotonic() - last_cleanup > 3600:
            _guard(lambda: _recorded(pool, "cleanup", lambda: _cleanup(settings, pool, d, args)))
            last_cleanup = time.monotonic()
        rounds += 1
        if args.iterations and rounds >= args.iterations:
            return OK
        time.sleep(args.interval_seconds)
