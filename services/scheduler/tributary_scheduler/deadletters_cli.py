"""`tributary-scheduler dead-letters list|replay|purge`: the CLI twin of /api/dead-letters."""

from __future__ import annotations

import argparse
import uuid
from typing import Any

from psycopg_pool import ConnectionPool
from tributary_common.dispatch import Dispatcher
from tributary_common.ledger import deadletters
from tributary_common.replay import replay_dead_letters


def add_parser(sub: Any) -> None:
    p = sub.add_parser("dead-letters", help="list, replay or purge dead letters")
    p.add_argument("action", choices=["list", "replay", "purge"])
    p.add_argument(
        "--id",
        action="append",
        type=uuid.UUID,
        default=[],
        dest="ids",
        help="a dead letter id (repeatable); otherwise the filters select",
    )
    p.add_argument("--provider")
    p.add_argument("--category")
    p.add_argument("--limit", type=int, default=100)


def run(pool: ConnectionPool, dispatcher: Dispatcher, args: argparse.Namespace) -> dict[str, Any]:
    where = deadletters.Filter(provider=args.provider, category=args.category)
    if args.action == "list":
        rows = deadletters.page(pool, where, limit=args.limit)
        return {"deadLetters": [_brief(r) for r in rows]}
    if args.action == "purge":
        if args.ids:
            for letter_id in args.ids:
                deadletters.delete(pool, letter_id)
            return {"purged": len(args.ids)}
        return {"purged": deadletters.purge(pool, where)}
    replayed, failed = replay_dead_letters(
        pool, dispatcher, where, ids=args.ids or None, limit=args.limit
    )
    return {
        "replayed": [
            {"deadLetterId": str(r.letter_id), "jobId": str(r.enqueued.job["id"])} for r in replayed
        ],
        # Marked unreplayable: later filter replays walk past them.
        "errors": [{"deadLetterId": str(f.letter_id), "error": f.error} for f in failed],
    }


def _brief(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "jobId": str(row["job_id"]),
        "provider": row["platform"],
        "category": row["category"],
        "error": row["error"],
        "attempts": row["attempts"],
        "createdAt": row["created_at"].isoformat(),
        "replayedAt": row["replayed_at"].isoformat() if row.get("replayed_at") else None,
    }
