"""Helpers shared by resources: ids from paths, user scoping."""

from __future__ import annotations

import uuid
from typing import Any

from ..errors import ApiError


def parse_id(raw: str, what: str) -> uuid.UUID:
    """A path id; anything that is not a UUID cannot exist, so it is a 404."""
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ApiError(404, "not_found", f"{what} {raw!r} not found") from None


def scoped(row: dict[str, Any], user_id: str | None, what: str, raw_id: Any) -> dict[str, Any]:
    """Hide a row that belongs to another user than the one the request is scoped to."""
    if user_id is not None and row["user_id"] != user_id:
        raise ApiError(404, "not_found", f"{what} {raw_id} not found")
    return row
