"""Replaying dead letters, shared by the api and the CLI: new jobs, sent, originals marked."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from psycopg_pool import ConnectionPool

from .dispatch import Dispatcher
from .errors import NotFound
from .ledger import deadletters, jobs

#: A replay call looks at no more than this many letters per letter it may replay.
WALK_FACTOR = 10


@dataclass(frozen=True)
class Replayed:
    letter_id: uuid.UUID
    enqueued: jobs.Enqueued
    #: False when Redis was down: the job is in the ledger and `reconcile` sends it.
    dispatched: bool


@dataclass(frozen=True)
class NotReplayed:
    letter_id: uuid.UUID
    error: str


def replay_dead_letters(
    pool: ConnectionPool,
    dispatcher: Dispatcher,
    where: deadletters.Filter,
    *,
    ids: list[uuid.UUID] | None,
    limit: int,
) -> tuple[list[Replayed], list[NotReplayed]]:
    """Replay up to ``limit`` unreplayed letters matching ``ids`` (when given) and the
    filter, oldest first.

    A letter that cannot be replayed (its connection deleted, the account not connected
    again) is reported, marked (`replay_error`) and walked past: the walk goes on until
    ``limit`` letters were replayed or none are left, and later filter replays skip the
    marked ones, so repeated calls make progress. At most ``limit`` failures are reported
    and at most ``WALK_FACTOR * limit`` letters looked at per call.
    """
    replayed: list[Replayed] = []
    failed: list[NotReplayed] = []
    after = None
    examined = 0
    while len(replayed) < limit and examined < WALK_FACTOR * limit:
        page = deadletters.select_for_replay(pool, where, ids=ids, limit=limit, after=after)
        for _, letter_id in page:
            if len(replayed) >= limit:
                break
            examined += 1
            try:
                done = deadletters.replay(pool, letter_id)
            except NotFound as exc:
                deadletters.mark_unreplayable(pool, letter_id, str(exc))
                if len(failed) < limit:
                    failed.append(NotReplayed(letter_id, str(exc)))
                continue
            if done is None:  # replayed meanwhile by someone else
                continue
            job = done.enqueued.job
            dispatched = (
                dispatcher.try_send(job["id"], job["queue"], job["message_id"])
                if done.enqueued.needs_send
                else True
            )
            replayed.append(Replayed(letter_id, done.enqueued, dispatched))
        if len(page) < limit:
            break
        after = page[-1]
    return replayed, failed
