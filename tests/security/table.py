"""The security table: every route x method x credential x path spelling.

`cases()` yields one row per (route, method, credential, path); `allowed(row, status)` says
whether the answer keeps the route closed. Paths are built as raw strings so the HTTP test
can send them byte for byte (`http.client` sends the request target unchanged).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from tributary_api.auth import API, CONSOLE, CRON, OPEN
from tributary_api.routes import ROUTES

from tests.api.conftest import API_TOKEN, CRON_SECRET

#: The right secret of each family; a new family must add its own (KeyError otherwise).
#: The console's is the token one signs in with: sent any other way it opens nothing.
SECRETS = {API: API_TOKEN, CRON: CRON_SECRET, CONSOLE: API_TOKEN}
METHODS = ("GET", "POST", "PATCH", "DELETE", "PUT", "OPTIONS", "HEAD")
IDS = {
    "{connection_id}": str(uuid.uuid4()),
    "{job_id}": str(uuid.uuid4()),
    "{letter_id}": str(uuid.uuid4()),
    "{user_id}": "u1",
    "{endpoint_id}": str(uuid.uuid4()),
    "{delivery_id}": "msg_" + uuid.uuid4().hex,
}


def spellings(path: str) -> list[str]:
    """``path`` and the ways a client can spell (or misspell) it on the wire."""
    rest = path.removeprefix("/api")
    return [
        path,
        "/" + path,
        "//" + path,
        "/api/." + rest,
        "/api/x/.." + rest,
        path + "/",
        path + "//",
        "/api/" + rest.replace("/", "//"),
        "/%61pi" + rest,
        "/api" + rest.replace("/", "%2F"),
        "/api" + rest.replace("/", "%2f", 1),
        "/API" + rest,
        path.upper(),
        path + "?userId=u1",
        path + ";x=1",
        path + "%20",
        path + "%00",
        "http://evil.example" + path,
    ]


def opening(family: str, console_session: str) -> dict[str, str]:
    """The credential that opens ``family``'s routes (the console's: a session cookie)."""
    if family == CONSOLE:
        return {"Cookie": f"tributary_session={console_session}"}
    return {"Authorization": f"Bearer {SECRETS[family]}"}


def credentials(family: str) -> list[tuple[str, dict[str, str]]]:
    """Every credential that must not open ``family``'s routes, by name."""
    right = SECRETS[family]
    others = [s for name, s in SECRETS.items() if name != family and s != right]
    found = [
        ("none", {}),
        ("empty bearer", {"Authorization": "Bearer"}),
        ("wrong token", {"Authorization": "Bearer not-the-secret"}),
        ("prefix of the secret", {"Authorization": f"Bearer {right[:-1]}"}),
        ("secret plus a character", {"Authorization": f"Bearer {right}x"}),
        ("right secret as Basic", {"Authorization": f"Basic {right}"}),
        ("right secret without scheme", {"Authorization": right}),
        ("right secret as a cookie", {"Cookie": f"token={right}"}),
        ("right secret as the session cookie", {"Cookie": f"tributary_session={right}"}),
    ]
    if family == CONSOLE:  # the console opens only with the session it hands out
        found.append(("the sign-in token as a bearer", {"Authorization": f"Bearer {right}"}))
    found += [
        (f"other family's secret #{i}", {"Authorization": f"Bearer {s}"})
        for i, s in enumerate(others)
    ]
    return found


@dataclass(frozen=True)
class Row:
    template: str
    family: str
    method: str
    credential: str
    headers: tuple[tuple[str, str], ...]
    path: str


def protected() -> list[tuple[str, str, str]]:
    """(template, family, concrete path) of every route that is not open."""
    found = []
    for route in ROUTES:
        if route.family == OPEN:
            continue
        path = route.template
        for name, value in IDS.items():
            path = path.replace(name, value)
        found.append((route.template, route.family, path))
    return found


#: Over HTTP (slow on a busy machine) a read, a write and OPTIONS; in process every method.
HTTP_METHODS = ("GET", "POST", "OPTIONS")


def cases(
    template: str, family: str, path: str, methods: tuple[str, ...] = METHODS
) -> Iterator[Row]:
    for method in methods:
        for name, headers in credentials(family):
            for spelled in spellings(path):
                yield Row(template, family, method, name, tuple(headers.items()), spelled)


def closed(status: int) -> bool:
    """An answer that opens nothing: refused (401) or no such route (400/404)."""
    return status in (400, 401, 404)
