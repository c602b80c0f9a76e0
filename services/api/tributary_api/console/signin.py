"""Sign in (the only open console route) and sign out."""

from __future__ import annotations

import re
import secrets
from typing import Any

import falcon

from .forms import form as _form
from .render import page, redirect
from .session import (
    COOKIE,
    LOGIN_COOKIE,
    SESSION_TTL_SECONDS,
    SessionStore,
    clear_cookie,
    same,
    set_cookie,
)

#: A console path (and query) to return to after signing in; nothing that leaves the site.
NEXT = re.compile(r"/console([/?][\x21-\x7e]*)?")
#: The sign-in form is good for this long (seconds).
LOGIN_FORM_TTL_SECONDS = 900


def safe_next(raw: Any) -> str:
    """Where to go after signing in: a console path only (no open redirect)."""
    if isinstance(raw, str) and NEXT.fullmatch(raw) and "//" not in raw and "\\" not in raw:
        return raw
    return "/console"


class SignIn:
    def __init__(self, store: SessionStore | None, api_token: str) -> None:
        self.store = store
        self.api_token = api_token

    def _form(self, req: falcon.Request, resp: falcon.Response, error: str | None = None) -> None:
        nonce = secrets.token_urlsafe(24)
        set_cookie(req, resp, LOGIN_COOKIE, nonce, LOGIN_FORM_TTL_SECONDS)
        page(
            req,
            resp,
            "login.html",
            login_nonce=nonce,
            next=safe_next(req.get_param("next")),
            error=error,
            disabled=self.store is None,
        )

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._form(req, resp)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        form = _form(req)
        expected = req.cookies.get(LOGIN_COOKIE) or ""
        sent = form.get("login_nonce")
        if not expected or not isinstance(sent, str) or not same(sent, expected):
            resp.status = falcon.HTTP_403
            self._form(req, resp, "The sign-in form expired; try again.")
            return
        token = form.get("token")
        if (
            self.store is None
            or not isinstance(token, str)
            or not same(token.strip(), self.api_token)
        ):
            resp.status = falcon.HTTP_401
            self._form(req, resp, "That is not the API token.")
            return
        session_id, _ = self.store.open()
        clear_cookie(req, resp, LOGIN_COOKIE)
        set_cookie(req, resp, COOKIE, session_id, SESSION_TTL_SECONDS)
        redirect(resp, safe_next(form.get("next")))


class SignOut:
    def __init__(self, store: SessionStore | None) -> None:
        self.store = store

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self.store is not None:
            self.store.close(req.context.console_session)
        clear_cookie(req, resp, COOKIE)
        redirect(resp, "/console/login")
