"""The PostgreSQL ledger: the source of truth for connections, jobs and what they fetched.

SQL lives as named queries in `queries/*.sql`; each module here is a thin typed layer
around one group of them.
"""
