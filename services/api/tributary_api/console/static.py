"""The console's static files (htmx), behind the session like every console route.

``htmx.min.js`` is htmx 2.0.11 as published in the npm registry package ``htmx.org``
(licence 0BSD), copied unchanged; see ``static/VENDORED.md`` for its checksum.
"""

from __future__ import annotations

from importlib import resources

import falcon

FILES = {"htmx.min.js": "text/javascript; charset=utf-8"}


class Static:
    def __init__(self) -> None:
        folder = resources.files("tributary_api.console") / "static"
        self.content = {name: (folder / name).read_bytes() for name in FILES}

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        if name not in self.content:
            raise falcon.HTTPNotFound()
        resp.data = self.content[name]
        resp.content_type = FILES[name]
        resp.set_header("Cache-Control", "private, max-age=3600")
        resp.set_header("X-Content-Type-Options", "nosniff")
