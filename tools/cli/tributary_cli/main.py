"""The `tributary` commands (Click): status, jobs, dlq, connections, limits."""

from __future__ import annotations

import os
import sys
from typing import Any

import click
from rich.progress import Progress

from .client import EXIT, Api, CliError
from .output import emit, errors, facts

PROVIDERS = [
    "github",
    "youtube",
    "x",
    "instagram",
    "meta_ads",
    "google_ads",
    "meta",
    "google",
    "twitter",
]
CATEGORIES = ["RATE_LIMIT", "NETWORK_ERROR", "UNKNOWN", "API_ERROR", "VALIDATION_ERROR"]
JOB_COLUMNS = (
    "id",
    "createdAt",
    "userId",
    "provider",
    "trigger",
    "status",
    "attempts",
    "errorCategory",
)
LETTER_COLUMNS = ("id", "createdAt", "userId", "provider", "category", "error", "replayJobId")
CONNECTION_COLUMNS = (
    "id",
    "userId",
    "provider",
    "accountId",
    "status",
    "statusReason",
    "lastSyncedAt",
    "nextDueAt",
)
#: Letters replayed per request during a bulk replay (the progress bar moves per batch).
REPLAY_BATCH = 25


class Context:
    def __init__(self, url: str, token: str, output: str) -> None:
        self.url, self.token, self.output = url, token, output
        self._api: Api | None = None

    @property
    def api(self) -> Api:
        if self._api is None:
            self._api = Api(self.url, self.token)
        return self._api


pass_ctx = click.make_pass_decorator(Context)


@click.group()
@click.option(
    "--url",
    default=lambda: os.environ.get("TRIBUTARY_API_URL", ""),
    help="api base URL [TRIBUTARY_API_URL]",
)
@click.option(
    "--token",
    default=lambda: os.environ.get("TRIBUTARY_API_TOKEN", ""),
    help="API_TOKEN [TRIBUTARY_API_TOKEN]",
)
@click.option(
    "--output",
    "-o",
    type=click.Choice(["table", "json"]),
    default="table",
    help="table (default) or json",
)
@click.pass_context
def cli(ctx: click.Context, url: str, token: str, output: str) -> None:
    """Operate Tributary through its api: queue status, jobs, dead letters, connections."""
    ctx.obj = Context(url, token, output)


@cli.command()
@pass_ctx
def status(ctx: Context) -> None:
    """Queue statistics: jobs by status, pending per band, dead letters, errors (24 h)."""
    data = ctx.api.get("/api/sync/status")
    if ctx.output == "json":
        emit(data, "json")
        return
    facts(data["jobsByStatus"], "table", title="Jobs by status")
    rows = [{"band": name, **band} for name, band in data["pendingByBand"].items()]
    emit(
        rows,
        "table",
        columns=("band", "pending", "delayed", "oldestSeconds"),
        title="Pending by band",
    )
    facts(data["stats"]["errorCategories"], "table", title="Failed attempts by category (24 h)")
    facts(
        {
            "deadLetters": data["deadLetters"]["total"],
            "oldestPendingSeconds": data["oldestPendingSeconds"],
            "redis": data["redis"],
        },
        "table",
    )


@cli.command()
@pass_ctx
def limits(ctx: Context) -> None:
    """Per provider: quota used vs limit in the current windows, slots, cooldowns."""
    data = ctx.api.get("/api/sync/status")["limits"] or {}
    if ctx.output == "json":
        emit(data, "json")
        return
    rows = []
    for provider, p in data.items():
        if not isinstance(p, dict):
            continue
        windows = ", ".join(
            f"{n.split(':', 1)[1]} {w['used']}/{w['limit']}" for n, w in p["windows"].items()
        )
        slots = p["slots"]
        rows.append(
            {
                "provider": provider,
                "windows": windows or "no limit",
                "slots": f"{slots['in_use']}/{slots['limit']}"
                if slots["limit"]
                else str(slots["in_use"]),
                "cooldowns": ", ".join(
                    f"{c['account'] or '*'} ({c['reason']})" for c in p["cooldowns"]
                )
                or "none",
            }
        )
    emit(rows, "table", columns=("provider", "windows", "slots", "cooldowns"), title="Limits")


@cli.group()
def jobs() -> None:
    """List and show jobs."""


@jobs.command("list")
@click.option("--status", type=click.Choice(["pending", "processing", "completed", "failed"]))
@click.option("--provider", type=click.Choice(PROVIDERS))
@click.option("--user", "user_id")
@click.option("--trigger", type=click.Choice(["manual", "scheduled", "retry"]))
@click.option("--date", "day", help="creation day (UTC), YYYY-MM-DD")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--cursor", help="nextCursor of the previous page")
@pass_ctx
def jobs_list(ctx: Context, **filters: Any) -> None:
    """Jobs, newest first."""
    data = ctx.api.get(
        "/api/sync/jobs",
        status=filters["status"],
        provider=filters["provider"],
        userId=filters["user_id"],
        trigger=filters["trigger"],
        date=filters["day"],
        limit=filters["limit"],
        cursor=filters["cursor"],
    )
    emit(data, ctx.output, rows=data["jobs"], columns=JOB_COLUMNS, title="Jobs")
    if ctx.output == "table" and data["nextCursor"]:
        errors.print(f"more: --cursor {data['nextCursor']}")


@jobs.command("show")
@click.argument("job_id")
@pass_ctx
def jobs_show(ctx: Context, job_id: str) -> None:
    """One job and its attempts."""
    data = ctx.api.get(f"/api/sync/jobs/{job_id}")
    if ctx.output == "json":
        emit(data, "json")
        return
    facts(data["job"], "table", title=f"Job {job_id}")
    emit(
        data["attempts"],
        "table",
        columns=(
            "attempt",
            "startedAt",
            "outcome",
            "errorCategory",
            "error",
            "durationMs",
            "recordsSynced",
        ),
        title="Attempts",
    )


@cli.group()
def dlq() -> None:
    """Dead letters: list, show, replay, purge."""


def letter_filter(
    provider: str | None, category: str | None, user_id: str | None
) -> dict[str, str]:
    return {
        k: v
        for k, v in {"provider": provider, "category": category, "userId": user_id}.items()
        if v
    }


filter_options = [
    click.option("--provider", type=click.Choice(PROVIDERS)),
    click.option("--category", type=click.Choice(CATEGORIES)),
    click.option("--user", "user_id"),
]


def with_filters(fn: Any) -> Any:
    for option in reversed(filter_options):
        fn = option(fn)
    return fn


@dlq.command("list")
@with_filters
@click.option("--include-replayed", is_flag=True)
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@pass_ctx
def dlq_list(
    ctx: Context,
    provider: str | None,
    category: str | None,
    user_id: str | None,
    include_replayed: bool,
    limit: int,
) -> None:
    """Dead letters, newest first."""
    data = ctx.api.get(
        "/api/dead-letters",
        **letter_filter(provider, category, user_id),
        includeReplayed="true" if include_replayed else None,
        limit=limit,
    )
    emit(data, ctx.output, rows=data["deadLetters"], columns=LETTER_COLUMNS, title="Dead letters")


@dlq.command("show")
@click.argument("letter_id")
@pass_ctx
def dlq_show(ctx: Context, letter_id: str) -> None:
    """One dead letter with its payload."""
    facts(
        ctx.api.get(f"/api/dead-letters/{letter_id}"), ctx.output, title=f"Dead letter {letter_id}"
    )


def _count(api: Api, where: dict[str, str]) -> int:
    total, cursor = 0, None
    while True:
        page = api.get("/api/dead-letters", **where, limit=500, cursor=cursor)
        total += len(page["deadLetters"])
        cursor = page["nextCursor"]
        if not cursor:
            return total


@dlq.command("replay")
@click.argument("letter_ids", nargs=-1)
@with_filters
@click.option(
    "--all", "everything", is_flag=True, help="replay every unreplayed letter (no filter)"
)
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@pass_ctx
def dlq_replay(
    ctx: Context,
    letter_ids: tuple[str, ...],
    provider: str | None,
    category: str | None,
    user_id: str | None,
    everything: bool,
    yes: bool,
) -> None:
    """Replay letters by id, or every unreplayed one matching the filter (progress bar)."""
    where = letter_filter(provider, category, user_id)
    if letter_ids:
        result = ctx.api.post("/api/dead-letters/replay", {"ids": list(letter_ids)})
        _replay_report(ctx, result["replayed"], result["errors"])
        return
    if not where and not everything:
        raise CliError("give letter ids, a filter (--provider/--category/--user) or --all", "usage")
    total = _count(ctx.api, where)
    if not yes:
        click.confirm(f"Replay {total} dead letter(s)?", abort=True, err=True)
    replayed: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    with Progress(
        console=errors,
        transient=ctx.output == "json",
        disable=not sys.stderr.isatty() and ctx.output == "json",
    ) as progress:
        task = progress.add_task("replaying", total=total)
        while True:
            body: dict[str, Any] = {"limit": REPLAY_BATCH, "filter": where}
            batch = ctx.api.post("/api/dead-letters/replay", body)
            replayed += batch["replayed"]
            failed += batch["errors"]
            progress.advance(task, len(batch["replayed"]) + len(batch["errors"]))
            if (
                len(batch["replayed"]) + len(batch["errors"]) < REPLAY_BATCH
                or not batch["replayed"]
            ):
                break
    _replay_report(ctx, replayed, failed)


def _replay_report(
    ctx: Context, replayed: list[dict[str, Any]], failed: list[dict[str, Any]]
) -> None:
    emit(
        {"replayed": replayed, "errors": failed},
        ctx.output,
        rows=replayed,
        columns=("id", "jobId", "deduplicated", "dispatched"),
        title="Replayed",
    )
    if failed:
        for f in failed:
            errors.print(f"not replayed: {f['id']}: {f['error']}")
        raise CliError(f"{len(failed)} letter(s) not replayed", "failed")


@dlq.command("purge")
@click.argument("letter_id", required=False)
@with_filters
@click.option("--replayed-only", is_flag=True)
@click.option("--all", "everything", is_flag=True)
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@pass_ctx
def dlq_purge(
    ctx: Context,
    letter_id: str | None,
    provider: str | None,
    category: str | None,
    user_id: str | None,
    replayed_only: bool,
    everything: bool,
    yes: bool,
) -> None:
    """Delete one letter, or every letter matching the filter."""
    if letter_id:
        if not yes:
            click.confirm(f"Delete dead letter {letter_id}?", abort=True, err=True)
        ctx.api.call("DELETE", f"/api/dead-letters/{letter_id}")
        emit({"purged": 1}, ctx.output, columns=("purged",))
        return
    where = letter_filter(provider, category, user_id)
    if not where and not everything and not replayed_only:
        raise CliError("give a letter id, a filter, --replayed-only or --all", "usage")
    if not yes:
        click.confirm("Purge the matching dead letters?", abort=True, err=True)
    params: dict[str, Any] = {
        **where,
        "replayedOnly": "true" if replayed_only else None,
        "all": "true" if everything else None,
    }
    emit(
        ctx.api.call("DELETE", "/api/dead-letters", params=params), ctx.output, columns=("purged",)
    )


@cli.group()
def connections() -> None:
    """A user's connections: list, show, pause, resume, sync."""


@connections.command("list")
@click.option("--user", "user_id", required=True)
@pass_ctx
def connections_list(ctx: Context, user_id: str) -> None:
    data = ctx.api.get("/api/connections", userId=user_id)
    emit(
        data,
        ctx.output,
        rows=data["connections"],
        columns=CONNECTION_COLUMNS,
        title=f"Connections of {user_id}",
    )


@connections.command("show")
@click.argument("connection_id")
@pass_ctx
def connections_show(ctx: Context, connection_id: str) -> None:
    facts(ctx.api.get(f"/api/connections/{connection_id}"), ctx.output, title="Connection")


def _patch(ctx: Context, connection_id: str, paused: bool) -> None:
    row = ctx.api.call("PATCH", f"/api/connections/{connection_id}", json={"paused": paused})
    facts(row, ctx.output, title="Connection")


@connections.command("pause")
@click.argument("connection_id")
@pass_ctx
def connections_pause(ctx: Context, connection_id: str) -> None:
    """Pause: no scheduled syncs; pending jobs are held."""
    _patch(ctx, connection_id, True)


@connections.command("resume")
@click.argument("connection_id")
@pass_ctx
def connections_resume(ctx: Context, connection_id: str) -> None:
    _patch(ctx, connection_id, False)


@connections.command("sync")
@click.argument("connection_id")
@pass_ctx
def connections_sync(ctx: Context, connection_id: str) -> None:
    """Enqueue a manual sync of today for this connection."""
    row = ctx.api.get(f"/api/connections/{connection_id}")
    result = ctx.api.post(
        "/api/sync/manual", {"userId": row["userId"], "provider": row["provider"]}
    )
    facts(result, ctx.output, title="Manual sync")


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        errors.print("aborted")
        sys.exit(EXIT["failed"])
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except CliError as exc:
        errors.print(f"tributary: {exc}")
        sys.exit(exc.code)
    sys.exit(EXIT["ok"])
