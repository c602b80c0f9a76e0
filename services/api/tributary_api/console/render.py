"""Jinja2 rendering for the console: autoescaped templates, a CSP nonce, no caching."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

import falcon
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from .. import serialize

ENV = Environment(
    loader=PackageLoader("tributary_api.console", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def seconds(value: float | None) -> str:
    """A duration for people: 42 s, 3 min 5 s, 2 h 10 min, 3 d 4 h."""
    if value is None:
        return "—"
    total = int(value)
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def when(value: datetime | None) -> str:
    """A timestamp in UTC, to the second."""
    return "—" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def epoch(value: float | None) -> str:
    return "—" if value is None else when(datetime.fromtimestamp(value, UTC))


ENV.filters.update(
    seconds=seconds,
    when=when,
    epoch=epoch,
    pretty=lambda v: json.dumps(v, indent=2, sort_keys=True, default=str),
    iso=serialize.iso,
)

#: script-src 'self' serves htmx from /console/static; styles only with the page's nonce.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'nonce-{nonce}'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def page(req: falcon.Request, resp: falcon.Response, template: str, **context: Any) -> None:
    """Render ``template`` into ``resp`` with the session's CSRF token and the CSP nonce."""
    nonce = secrets.token_urlsafe(16)
    session = getattr(req.context, "console_session", None)
    resp.content_type = "text/html; charset=utf-8"
    resp.set_header("Content-Security-Policy", CSP.format(nonce=nonce))
    resp.set_header("Cache-Control", "no-store")
    resp.set_header("X-Frame-Options", "DENY")
    resp.set_header("X-Content-Type-Options", "nosniff")
    resp.set_header("Referrer-Policy", "same-origin")
    resp.text = ENV.get_template(template).render(
        nonce=nonce,
        csrf=session.csrf if session else "",
        signed_in=session is not None,
        path=req.path,
        fragment=req.get_header("HX-Request") == "true",
        now_text=when(datetime.now(UTC)),
        **context,
    )


def redirect(resp: falcon.Response, location: str) -> None:
    """303 See Other: after a change, the browser GETs the page (no resubmission)."""
    resp.status = falcon.HTTP_303
    resp.location = location
