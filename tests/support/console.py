"""Signing in to the console over HTTP, as a browser does: the form's nonce, then the token."""

from __future__ import annotations

import re

import httpx

LOGIN_NONCE = re.compile(r'name="login_nonce" value="([^"]+)"')
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def sign_in(base_url: str, token: str) -> httpx.Client:
    """A client holding a console session on the live api at ``base_url``."""
    client = httpx.Client(base_url=base_url, timeout=30)
    form = client.get("/console/login")
    found = LOGIN_NONCE.search(form.text)
    assert found, form.text
    done = client.post("/console/login", data={"login_nonce": found.group(1), "token": token})
    assert done.status_code == 303 and "tributary_session" in client.cookies, done.text
    return client
