"""Bearer-token middleware: `/api/cron/*` takes CRON_SECRET, the rest of `/api/*` API_TOKEN.

Fails closed: with no secret configured the routes refuse every request. Compares in
constant time (`hmac.compare_digest`) and never logs or echoes what was sent.
"""

from __future__ import annotations

import hmac

import falcon

from .errors import ApiError

CRON_PREFIX = "/api/cron/"
API_PREFIX = "/api/"


class BearerAuth:
    def __init__(self, api_token: str, cron_secret: str) -> None:
        self._api = api_token.encode()
        self._cron = cron_secret.encode()

    def secret_for(self, path: str) -> tuple[bytes, str] | None:
        """The secret guarding ``path`` and its variable name; None for open routes."""
        if path.startswith(CRON_PREFIX):
            return self._cron, "CRON_SECRET"
        if path.startswith(API_PREFIX) or path == "/api":
            return self._api, "API_TOKEN"
        return None

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if req.method == "OPTIONS":
            return
        guard = self.secret_for(req.path)
        if guard is None:
            return
        secret, variable = guard
        if not secret:
            raise ApiError(401, "auth_not_configured", f"{variable} is not set: route disabled")
        header = (req.get_header("Authorization") or "").encode("utf-8", "surrogateescape")
        scheme, _, token = header.partition(b" ")
        # Compare even when the scheme is wrong, so timing says nothing about the token.
        valid = hmac.compare_digest(token.strip(), secret)
        if not header:
            raise _unauthorized("missing Authorization header")
        if scheme.lower() != b"bearer" or not valid:
            raise _unauthorized("invalid bearer token")


def _unauthorized(message: str) -> ApiError:
    return ApiError(
        401, "unauthorized", message, headers={"WWW-Authenticate": 'Bearer realm="tributary"'}
    )
