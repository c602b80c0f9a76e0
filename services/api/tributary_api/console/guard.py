"""The console family's guard (`auth.CONSOLE`): a live session, and CSRF on every change.

`auth.RouteAuth` calls `SessionGuard.authenticate` for every request that matched a
console route (the family is declared per route in `tributary_api.routes`). Without a
session the answer is 401: an HTML page that sends the browser to sign in (htmx requests
get ``HX-Redirect`` instead), so nothing behind the route runs.
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

import falcon

from .forms import form
from .session import COOKIE, SessionStore, same

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SIGN_IN = "/console/login"


class SignInFirst(falcon.HTTPUnauthorized):
    """401 with a small HTML page that moves the browser to the sign-in form."""

    def __init__(self, target: str, *, htmx: bool) -> None:
        headers = {"HX-Redirect": SIGN_IN} if htmx else {}
        super().__init__(description="sign in to the console first", headers=headers)
        self.target = target


def sign_in_page(
    req: falcon.Request, resp: falcon.Response, ex: SignInFirst, params: object
) -> None:
    link = escape(ex.target)
    resp.status = falcon.HTTP_401
    resp.content_type = "text/html; charset=utf-8"
    resp.set_header("Cache-Control", "no-store")
    resp.set_header("Content-Security-Policy", "default-src 'none'")
    for name, value in dict(ex.headers or {}).items():
        resp.set_header(name, value)
    resp.text = (
        f'<!doctype html><meta http-equiv="refresh" content="0;url={link}">'
        f'<title>Sign in</title><p>Sign in first: <a href="{link}">{link}</a></p>'
    )


class SessionGuard:
    def __init__(self, store: SessionStore | None) -> None:
        #: None when API_TOKEN is unset: the console is disabled (fails closed).
        self.store = store

    def authenticate(self, req: falcon.Request) -> None:
        if self.store is None:
            raise falcon.HTTPUnauthorized(description="API_TOKEN is not set: console disabled")
        session = self.store.load(req.cookies.get(COOKIE))
        if session is None:
            target = SIGN_IN
            if req.method in SAFE_METHODS:
                target += "?next=" + quote(req.relative_uri, safe="")
            raise SignInFirst(target, htmx=req.get_header("HX-Request") == "true")
        req.context.console_session = session
        if req.method not in SAFE_METHODS:
            sent = req.get_header("X-CSRF-Token") or form(req).get("csrf") or ""
            if not isinstance(sent, str) or not same(sent, session.csrf):
                raise falcon.HTTPForbidden(description="missing or wrong CSRF token")
