"""The operator console at `/console/`: server-rendered pages (Jinja2) with htmx.

Its routes are declared in `tributary_api.routes` under the `auth.CONSOLE` family (the
sign-in page under `auth.OPEN`); `guard(deps)` is that family's guard: a session opened
with the API token, and the session's CSRF token on every change.
"""

from __future__ import annotations

import falcon

from ..deps import ApiDeps
from .guard import SessionGuard, SignInFirst, sign_in_page
from .session import SessionStore


def store(deps: ApiDeps) -> SessionStore | None:
    """The session store, or None when API_TOKEN is unset (the console is then disabled)."""
    token = deps.settings.api_token
    return SessionStore(deps.redis, deps.settings.namespace, token) if token else None


def guard(deps: ApiDeps) -> SessionGuard:
    return SessionGuard(store(deps))


def install(app: falcon.App) -> None:
    """The console's own error answer: an HTML hop to the sign-in page (still a 401)."""
    app.add_error_handler(SignInFirst, sign_in_page)
