"""Query and form values of console pages, checked with the api's own schemas.

Browsers send empty fields (``?status=&provider=``): an empty value means "any". A value
that fails its schema raises `ConsoleInputError` with the api's message, which the page
shows above its table (status 400).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import falcon

from ..errors import ApiError
from ..validation import validate


class ConsoleInputError(Exception):
    pass


def values(source: Mapping[str, Any], spec: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The non-empty values of ``source`` named in ``spec`` (name -> schema), validated."""
    found: dict[str, Any] = {}
    for name, schema in spec.items():
        raw = source.get(name)
        if raw is None or raw == "":
            continue
        if isinstance(raw, list):
            raise ConsoleInputError(f"{name} must be given once")
        if schema.get("type") == "boolean":
            raw = str(raw).lower() in ("1", "true", "on", "yes")
        elif schema.get("type") == "integer":
            try:
                raw = int(raw)
            except ValueError:
                raise ConsoleInputError(f"{name} must be a whole number") from None
        try:
            found[name] = validate(raw, schema, name)
        except ApiError as exc:
            raise ConsoleInputError(exc.message) from None
    return found


def query(req: falcon.Request, spec: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    return values(req.params, spec)


def form(req: falcon.Request) -> dict[str, Any]:
    media = (req.content_type or "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        return {}
    body = req.get_media(default_when_empty={})
    return body if isinstance(body, dict) else {}
