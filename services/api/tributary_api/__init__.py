"""Tributary's HTTP API: Falcon on gunicorn, on the ledger and queue contract of libs/common."""
