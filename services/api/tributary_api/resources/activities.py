"""`/api/users/{userId}/activities`: daily counts per platform, private platforms hidden."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import falcon
from tributary_common.ledger import activities

from .. import schemas
from ..deps import ApiDeps
from ..errors import ApiError
from ..validation import check_text, query, validate

DEFAULT_DAYS = 30
MAX_DAYS = 366
PARAMS: dict[str, dict[str, Any]] = {
    "from": {"schema": schemas.DATE},
    "to": {"schema": schemas.DATE},
    "visibility": {"schema": {"type": "string", "enum": ["public", "all"]}},
}


class UserActivities:
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response, user_id: str) -> None:
        params = query(req, PARAMS)
        check_text(user_id, "userId")
        validate(user_id, schemas.ID, "userId")
        end = date.fromisoformat(params["to"]) if "to" in params else self.deps.clock().date()
        start = (
            date.fromisoformat(params["from"])
            if "from" in params
            else end - timedelta(days=DEFAULT_DAYS - 1)
        )
        if start > end:
            raise ApiError(400, "invalid_parameter", "from is after to", field="from")
        if (end - start).days >= MAX_DAYS:
            raise ApiError(400, "invalid_parameter", f"at most {MAX_DAYS} days", field="from")
        visibility = params.get("visibility", "public")
        rows, hidden = activities.daily(
            self.deps.pool,
            user_id=user_id,
            start=start,
            end=end,
            public_only=visibility == "public",
        )
        resp.media = {
            "userId": user_id,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "visibility": visibility,
            "hiddenPlatforms": hidden,
            "days": _days(rows),
        }


def _days(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Group rows into one entry per day with a count per platform and a total."""
    days: dict[date, dict[str, int]] = {}
    for row in rows:
        days.setdefault(row["activity_date"], {})[row["platform"]] = int(row["count"])
    return [
        {"date": day.isoformat(), "platforms": counts, "total": sum(counts.values())}
        for day, counts in days.items()
    ]
