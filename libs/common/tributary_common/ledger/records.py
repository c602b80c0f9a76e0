"""What connectors fetched: records (idempotent upsert), cursors, daily activity counts."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from psycopg_pool import ConnectionPool

from ..connectors import Record
from ..db import transaction
from . import textsafe
from .sql import queries

UPSERT_RECORDS = """
INSERT INTO synced_records (connection_id, kind, external_id, occurred_at, data, job_id)
SELECT %(connection_id)s, r.kind, r.external_id, r.occurred_at, r.data, %(job_id)s
FROM unnest(%(kinds)s::text[], %(ids)s::text[], %(times)s::timestamptz[], %(data)s::jsonb[])
     AS r(kind, external_id, occurred_at, data)
ON CONFLICT (connection_id, kind, external_id) DO UPDATE
SET data = EXCLUDED.data, occurred_at = EXCLUDED.occurred_at, updated_at = now()
WHERE synced_records.data IS DISTINCT FROM EXCLUDED.data
RETURNING (xmax = 0) AS inserted
"""

ADD_RECORDS = queries("jobs")["add_records"]

UPSERT_CURSOR = """
INSERT INTO sync_cursors (connection_id, resource, cursor) VALUES (%s, %s, %s)
ON CONFLICT (connection_id, resource) DO UPDATE SET cursor = EXCLUDED.cursor, updated_at = now()
"""

DELETE_CURSOR = "DELETE FROM sync_cursors WHERE connection_id = %s AND resource = %s"

UPSERT_ACTIVITY = """
INSERT INTO activities (connection_id, user_id, platform, activity_date, count)
VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (connection_id, activity_date) DO UPDATE
SET count = EXCLUDED.count, updated_at = now()
"""


def save_page(
    pool: ConnectionPool,
    *,
    connection_id: uuid.UUID,
    job_id: uuid.UUID,
    resource: str,
    records: Sequence[Record],
    cursor: Mapping[str, Any] | None,
) -> int:
    """Upsert records, store the cursor and add the new ones to the job's `records_synced`,
    in one transaction (so the count is right whatever happens to the run later: a crash,
    a shutdown, a resume); return how many were new.

    Text from the provider is stored through `textsafe` (NUL removed, lone surrogates
    replaced), so one odd character never fails a page.
    """
    new = 0
    with transaction(pool) as conn:
        if records:
            rows = conn.execute(
                UPSERT_RECORDS,
                {
                    "connection_id": connection_id,
                    "job_id": job_id,
                    "kinds": [textsafe.text(r.kind) for r in records],
                    "ids": [textsafe.text(r.external_id) for r in records],
                    "times": [r.occurred_at for r in records],
                    "data": [textsafe.jsonb(r.data) for r in records],
                },
            ).fetchall()
            new = sum(1 for r in rows if r["inserted"])
            if new:
                conn.execute(ADD_RECORDS, {"id": job_id, "records": new})
        if cursor is None:
            conn.execute(DELETE_CURSOR, (connection_id, resource))
        else:
            conn.execute(UPSERT_CURSOR, (connection_id, resource, textsafe.jsonb(cursor)))
    return new


def load_cursor(
    pool: ConnectionPool, connection_id: uuid.UUID, resource: str
) -> dict[str, Any] | None:
    with transaction(pool) as conn:
        row = conn.execute(
            "SELECT cursor FROM sync_cursors WHERE connection_id = %s AND resource = %s",
            (connection_id, resource),
        ).fetchone()
    return None if row is None else dict(row["cursor"])


def set_activity(
    pool: ConnectionPool,
    *,
    connection_id: uuid.UUID,
    user_id: str,
    platform: str,
    day: date,
    count: int,
) -> None:
    with transaction(pool) as conn:
        conn.execute(UPSERT_ACTIVITY, (connection_id, user_id, platform, day, count))
