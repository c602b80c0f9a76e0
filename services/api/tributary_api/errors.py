"""Every error leaves as a JSON body ``{"error": code, "message": text, "field"?: name}``.

Handlers map our exceptions (and falcon's own 404/405) to a status; anything unexpected
is logged with its trace and answered 500 without one.
"""

from __future__ import annotations

import logging
from typing import Any

import falcon
import psycopg
import redis
from tributary_common.errors import Conflict, LedgerConflict, LedgerUnavailable, NotFound
from tributary_common.logs import event

log = logging.getLogger("tributary.api")


class ApiError(Exception):
    """Raised by resources when a request cannot be served; carries status and code."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.headers = headers or {}
        self.status = status
        self.code = code
        self.message = message
        self.field = field


def _render(resp: falcon.Response, status: int, code: str, message: str, **extra: Any) -> None:
    resp.status = status
    resp.media = {"error": code, "message": message, **{k: v for k, v in extra.items() if v}}


def _api_error(req: falcon.Request, resp: falcon.Response, ex: ApiError, params: Any) -> None:
    _render(resp, ex.status, ex.code, ex.message, field=ex.field)
    for name, value in ex.headers.items():
        resp.set_header(name, value)


def _not_found(req: falcon.Request, resp: falcon.Response, ex: NotFound, params: Any) -> None:
    _render(resp, 404, "not_found", str(ex))


def _conflict(req: falcon.Request, resp: falcon.Response, ex: Conflict, params: Any) -> None:
    _render(resp, 409, "conflict", str(ex))


def _ledger_down(
    req: falcon.Request, resp: falcon.Response, ex: LedgerUnavailable, params: Any
) -> None:
    event(log, "api.ledger_unavailable", logging.WARNING, path=req.path, error=str(ex))
    _render(resp, 503, "database_unavailable", "PostgreSQL is unavailable; try again shortly")
    resp.set_header("Retry-After", "5")


def _ledger_busy(
    req: falcon.Request, resp: falcon.Response, ex: LedgerConflict, params: Any
) -> None:
    # A deadlock or lock timeout: PostgreSQL is up, the request may simply be sent again.
    event(log, "api.ledger_conflict", logging.WARNING, path=req.path, error=str(ex))
    _render(resp, 503, "database_busy", "the database was busy with a conflicting change; retry")
    resp.set_header("Retry-After", "1")


def _redis_down(
    req: falcon.Request, resp: falcon.Response, ex: redis.RedisError, params: Any
) -> None:
    event(log, "api.redis_unavailable", logging.WARNING, path=req.path, error=type(ex).__name__)
    _render(resp, 503, "redis_unavailable", "Redis is unavailable; try again shortly")
    resp.set_header("Retry-After", "5")


def _bad_value(
    req: falcon.Request, resp: falcon.Response, ex: psycopg.DataError, params: Any
) -> None:
    # Input the validators let through but PostgreSQL refuses (out-of-range values).
    _render(resp, 400, "invalid_value", f"a value was refused by the database: {type(ex).__name__}")


def _http_error(
    req: falcon.Request, resp: falcon.Response, ex: falcon.HTTPError, params: Any
) -> None:
    # Falcon's titles are "404 Not Found": the code is the words (not_found), as documented.
    code = (ex.title or "error").lower().lstrip("0123456789 ").replace(" ", "_") or "error"
    message = ex.description or ex.title or "error"
    _render(resp, ex.status_code, code, message)
    for name, value in dict(ex.headers or {}).items():
        resp.set_header(name, value)


def _unexpected(req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any) -> None:
    log.exception("api.unexpected_error", extra={"path": req.path, "method": req.method})
    _render(resp, 500, "internal_error", "internal error; it has been logged")


def install(app: falcon.App) -> None:
    """Register the handlers; later registrations win for more specific classes."""
    app.add_error_handler(Exception, _unexpected)
    app.add_error_handler(falcon.HTTPError, _http_error)
    app.add_error_handler(ApiError, _api_error)
    app.add_error_handler(NotFound, _not_found)
    app.add_error_handler(Conflict, _conflict)
    app.add_error_handler(LedgerUnavailable, _ledger_down)
    app.add_error_handler(LedgerConflict, _ledger_busy)
    app.add_error_handler(redis.RedisError, _redis_down)
    app.add_error_handler(psycopg.DataError, _bad_value)
