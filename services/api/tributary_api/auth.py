"""Authentication decided on the matched route, deny by default.

Every route declares the *secret family* it takes (`routes.ROUTES`): `API` (the
``API_TOKEN`` bearer), `CRON` (the ``CRON_SECRET`` bearer), or `OPEN` (no credential at
the door). `RouteAuth` runs in Falcon's ``process_resource``, after the router has matched,
and looks the family up by the matched template (``req.uri_template``), so whatever spelling
of the path reached the route (``//api/...``, percent-encoding, a trailing slash) is judged
by the route it reached. A matched route with no declared family, or a family with no guard,
is refused with 401. A request that matches no route gets Falcon's 404 (nothing to open).

Bearer secrets are compared in constant time (`hmac.compare_digest`); what was sent is
never logged or echoed. A family whose secret is not configured refuses every request
(``auth_not_configured``): the api fails closed.

Adding a family (e.g. a console session cookie): a name constant, a `Guard` (anything with
``authenticate(req)`` raising `ApiError` 401), its entry in `build_guards`, and, when it
has one, its OpenAPI security scheme in `SECURITY_SCHEMES`. See docs/api.md#auth.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any, Protocol

import falcon
from tributary_common.settings import Settings

from .errors import ApiError

#: No credential at the door (health, metrics, the document; later: provider webhooks and
#: OAuth callbacks, which their resources verify by signature or state).
OPEN = "open"
#: ``Authorization: Bearer <API_TOKEN>``.
API = "api"
#: ``Authorization: Bearer <CRON_SECRET>``.
CRON = "cron"
#: The operator console's session cookie (opened by signing in with API_TOKEN once; changes
#: also need the session's CSRF token): `tributary_api.console.guard.SessionGuard`.
CONSOLE = "console"

#: OpenAPI ``components.securitySchemes`` by family; a family absent here documents no
#: security (OPEN). `openapi.document` reads the per-route family from the same declarations.
SECURITY_SCHEMES: dict[str, tuple[str, dict[str, Any]]] = {
    API: ("apiToken", {"type": "http", "scheme": "bearer", "description": "API_TOKEN"}),
    CRON: ("cronSecret", {"type": "http", "scheme": "bearer", "description": "CRON_SECRET"}),
    CONSOLE: (
        "consoleSession",
        {"type": "apiKey", "in": "cookie", "name": "tributary_session"},
    ),
}


class Guard(Protocol):
    def authenticate(self, req: falcon.Request) -> None:
        """Return when ``req`` carries this family's credential; raise `ApiError` 401 if not."""


class Open:
    """The family that asks for nothing."""

    def authenticate(self, req: falcon.Request) -> None:
        return None


class Bearer:
    """``Authorization: Bearer <secret>``; an empty secret disables the family's routes."""

    def __init__(self, secret: str, variable: str) -> None:
        self._secret = secret.encode("utf-8", "surrogateescape")
        self._variable = variable

    def authenticate(self, req: falcon.Request) -> None:
        if not self._secret:
            raise ApiError(
                401, "auth_not_configured", f"{self._variable} is not set: route disabled"
            )
        header = (req.get_header("Authorization") or "").encode("utf-8", "surrogateescape")
        scheme, _, token = header.partition(b" ")
        # Compare even when the scheme is wrong, so timing says nothing about the token.
        valid = hmac.compare_digest(token.strip(), self._secret)
        if not header:
            raise unauthorized("missing Authorization header")
        if scheme.lower() != b"bearer" or not valid:
            raise unauthorized("invalid bearer token")


class Refuse:
    """A family whose guard was not given: every request is refused."""

    def authenticate(self, req: falcon.Request) -> None:
        raise unauthorized("this route's secret family has no guard here")


def build_guards(settings: Settings, console: Guard | None = None) -> dict[str, Guard]:
    """One guard per family, from the settings read at the entry point.

    ``console`` is the console's session guard (it needs Redis, so `create_app` builds it);
    without one the console's routes refuse every request.
    """
    return {
        OPEN: Open(),
        API: Bearer(settings.api_token, "API_TOKEN"),
        CRON: Bearer(settings.cron_secret, "CRON_SECRET"),
        CONSOLE: console or Refuse(),
    }


class RouteAuth:
    """Falcon middleware: the matched route's family decides; no declaration, no entry."""

    def __init__(self, guards: Mapping[str, Guard], families: Mapping[str, str]) -> None:
        self._guards = dict(guards)
        self._families = dict(families)

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: Any
    ) -> None:
        if resource is None:
            return  # no route matched: Falcon answers 404 (routes.check_no_sinks keeps it so)
        family = self._families.get(req.uri_template or "")
        guard = self._guards.get(family) if family is not None else None
        if guard is None:
            raise unauthorized("this route declares no secret family")
        guard.authenticate(req)


def unauthorized(message: str) -> ApiError:
    return ApiError(
        401, "unauthorized", message, headers={"WWW-Authenticate": 'Bearer realm="tributary"'}
    )
