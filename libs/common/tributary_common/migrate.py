"""Versioned SQL migrations: safe to run twice and from several processes at once.

Every run takes one PostgreSQL advisory lock, so concurrent runs queue up; each file in
`migrations/` is applied once, inside a transaction, and recorded in `schema_migrations`.
"""

from __future__ import annotations

from importlib import resources

import psycopg

#: Arbitrary constant naming Tributary's migration lock.
MIGRATION_LOCK_ID = 7_301_966_115


def migration_files() -> list[tuple[str, str]]:
    """Return (version, sql) for every migration, in order."""
    folder = resources.files("tributary_common") / "migrations"
    files = sorted((p for p in folder.iterdir() if p.name.endswith(".sql")), key=lambda p: p.name)
    return [(p.name.removesuffix(".sql"), p.read_text()) for p in files]


def migrate(database_url: str) -> list[str]:
    """Apply pending migrations; return the versions applied by this call."""
    applied: list[str] = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_ID,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for version, sql in migration_files():
                if version in done:
                    continue
                with conn.transaction():
                    conn.execute(sql.encode())
                    conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
                applied.append(version)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_ID,))
    return applied
