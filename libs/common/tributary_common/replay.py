"""Replaying dead letters, shared by the api and the CLI: new jobs, sent, originals marked."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from psycopg_pool import ConnectionPool

from .dispatch import Dispatcher
from .errors import NotFound
from .ledger import deadletters, jobs


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
    """Replay unreplayed letters matching ``ids`` (when given) and the filter, oldest first."""
    replayed: list[Replayed] = []
    failed: list[NotReplayed] = []
    for letter_id in deadletters.select_for_replay(pool, where, ids=ids, limit=limit):
        try:
            done = deadletters.replay(pool, letter_id)
        except NotFound as exc:
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
    return replayed, failed
