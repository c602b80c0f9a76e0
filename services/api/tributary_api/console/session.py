"""Console sessions: sign in with the API token once, then a cookie; CSRF on every change.

A session is a random id (256 bits) in the ``tributary_session`` cookie (``HttpOnly``,
``SameSite=Strict``, ``Secure`` when the request came over TLS, path ``/console``); Redis
keeps ``sha256(id) -> {csrf, token}`` under the api's namespace with a TTL, so signing out
(or the TTL) ends it for good and a leaked Redis key cannot be replayed as a cookie.
``token`` is a digest of the API token the session was opened with: rotating API_TOKEN
ends every session. Each change (POST) must carry the session's CSRF token, as the form
field ``csrf`` or the ``X-CSRF-Token`` header (htmx), compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

import falcon
import redis

COOKIE = "tributary_session"
#: The sign-in form's double-submit cookie (login CSRF: nobody signs you in as them).
LOGIN_COOKIE = "tributary_login"
COOKIE_PATH = "/console"
#: How long a session lives without signing in again (seconds).
SESSION_TTL_SECONDS = 8 * 3600


@dataclass(frozen=True)
class Session:
    id_digest: str
    csrf: str


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def behind_tls(req: falcon.Request) -> bool:
    """True when the browser talks HTTPS (directly or through a proxy that says so)."""
    return req.forwarded_scheme == "https"


def set_cookie(req: falcon.Request, resp: falcon.Response, name: str, value: str, ttl: int) -> None:
    resp.set_cookie(
        name,
        value,
        max_age=ttl,
        path=COOKIE_PATH,
        secure=behind_tls(req),
        http_only=True,
        same_site="Strict",
    )


def clear_cookie(req: falcon.Request, resp: falcon.Response, name: str) -> None:
    resp.unset_cookie(name, path=COOKIE_PATH, same_site="Strict")


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class SessionStore:
    """Sessions in Redis under ``<namespace>:console:session:<sha256(id)>``."""

    def __init__(self, client: redis.Redis, namespace: str, api_token: str) -> None:
        self.client = client
        self.prefix = f"{namespace}:console:session:"
        self.token = _digest(f"tributary-console|{api_token}")

    def open(self) -> tuple[str, Session]:
        """A new session: its cookie value and what the server keeps."""
        session_id = secrets.token_urlsafe(32)
        session = Session(_digest(session_id), secrets.token_urlsafe(32))
        record = json.dumps({"csrf": session.csrf, "token": self.token})
        self.client.set(self.prefix + session.id_digest, record, ex=SESSION_TTL_SECONDS)
        return session_id, session

    def load(self, session_id: str | None) -> Session | None:
        """The live session for a cookie value, or None (unknown, expired, old API token)."""
        if not session_id or len(session_id) > 100:
            return None
        digest = _digest(session_id)
        raw = self.client.get(self.prefix + digest)
        if raw is None:
            return None
        try:
            record = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(record, dict) or not same(str(record.get("token", "")), self.token):
            return None
        return Session(digest, str(record["csrf"]))

    def close(self, session: Session) -> None:
        self.client.delete(self.prefix + session.id_digest)
