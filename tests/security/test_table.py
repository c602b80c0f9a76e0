"""The security table against the in-process app (falcon.testing) and the live gunicorn
(raw request targets over HTTP): no credential but the route's own opens it."""

from __future__ import annotations

import http.client
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from tributary_api import console

from tests.api.conftest import API_TOKEN, Api, Live
from tests.support.console import sign_in

from .table import HTTP_METHODS, cases, closed, opening, protected

# One test per mode over all routes: the per-test database costs more than the requests.
ROUTES = protected()


def _simulated_path(raw: str) -> tuple[str, str | None]:
    """falcon.testing takes a path and a query string apart (it cannot send a full URL)."""
    path, _, query = raw.partition("?")
    return path, query or None


def test_table_in_process(api: Api) -> None:
    store = console.store(api.deps)
    assert store is not None
    session, _ = store.open()
    failures = []
    count = 0
    for template, family, path in ROUTES:
        for row in cases(template, family, path):
            if row.path.startswith("http://"):
                continue
            target, query = _simulated_path(row.path)
            result = api.client.simulate_request(
                row.method, target, query_string=query, headers=dict(row.headers)
            )
            count += 1
            if not closed(result.status_code):
                failures.append((row.method, row.path, row.credential, result.status_code))
        right = opening(family, session)
        assert api.client.simulate_request("OPTIONS", path, headers=right).status_code != 401
    assert count > 10_000 and failures == []


@pytest.mark.e2e
# ~30k raw requests (the console's routes doubled the table), sent 8 at a time: the
# api's gunicorn workers run threads, so the table takes a fraction of the serial time.
@pytest.mark.timeout(900)
def test_table_over_http(live: Live) -> None:
    where = urlsplit(live.url)
    host, port = where.hostname or "", where.port or 80
    session = sign_in(live.url, API_TOKEN).cookies["tributary_session"]
    rows = [
        row
        for template, family, path in ROUTES
        for row in cases(template, family, path, HTTP_METHODS)
    ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(
            pool.map(lambda row: _send(host, port, row.method, row.path, row.headers), rows)
        )
    failures = [
        (row.method, row.path, row.credential, status)
        for row, status in zip(rows, statuses, strict=True)
        if not closed(status)
    ]
    for template, family, path in ROUTES:
        right = tuple(opening(family, session).items())
        assert _send(host, port, "OPTIONS", path, right) != 401, template
    assert failures == []


def _send(host: str, port: int, method: str, target: str, headers: tuple) -> int:  # type: ignore[type-arg]
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        return conn.getresponse().status
    finally:
        conn.close()
