"""A tiny path router: ``/users/{login}/events`` patterns → handler functions."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Generic, TypeVar

Handler = TypeVar("Handler", bound=Callable[..., object])

_PARAM = re.compile(r"\{(\w+)\}")


class Router(Generic[Handler]):
    """Map (method, path pattern) to a handler; `match` returns it with the path params."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        regex = "^" + _PARAM.sub(r"(?P<\1>[^/]+)", pattern.rstrip("/")) + "/?$"
        self._routes.append((method.upper(), re.compile(regex), handler))

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
        for route_method, regex, handler in self._routes:
            found = regex.match(path)
            if found and route_method == method.upper():
                return handler, found.groupdict()
        return None

    def knows_path(self, path: str) -> bool:
        return any(regex.match(path) for _, regex, _ in self._routes)
