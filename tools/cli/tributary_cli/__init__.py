"""`tributary`: the operator CLI. Talks to the api over HTTP (no ledger access of its own).

Configuration: ``--url``/``TRIBUTARY_API_URL`` and ``--token``/``TRIBUTARY_API_TOKEN``.
Exit codes: see `client.EXIT`.
"""
