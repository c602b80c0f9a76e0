"""Deterministic Google Ads customers: their campaigns and, for some, a manager account.

Tests compute the served rows with `campaigns` and pick managed customers with
`manager_of`, using the same functions as the server.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from ...data import seeded_rng, stable_int

#: Managed customers are reachable only with this ``login-customer-id``.
MANAGER_ID = "9990001111"
_CHANNELS = ("SEARCH", "DISPLAY", "VIDEO", "PERFORMANCE_MAX", "SHOPPING")
_ANCHOR = date(2026, 1, 1)


def manager_of(customer_id: str) -> str | None:
    """Return the manager a customer sits under (every third customer), or None."""
    return MANAGER_ID if stable_int("google_ads", customer_id, "manager") % 3 == 0 else None


def campaigns(customer_id: str) -> list[dict[str, Any]]:
    """Return every campaign of ``customer_id`` ordered by id (snake_case GAQL fields)."""
    rng = seeded_rng("google_ads", customer_id, _ANCHOR)
    count = 3 + stable_int("google_ads", customer_id, "campaigns") % 10
    rows = []
    for index in range(count):
        campaign_id = str(10_000_000_000 + stable_int("google_ads", customer_id, index, bits=32))
        start = _ANCHOR + timedelta(days=rng.randint(0, 300))
        status = rng.choices(["ENABLED", "PAUSED", "REMOVED"], weights=[6, 3, 1])[0]
        rows.append(
            {
                "resource_name": f"customers/{customer_id}/campaigns/{campaign_id}",
                "id": campaign_id,
                "name": f"Campaign {index + 1} of {customer_id}",
                "status": status,
                "advertising_channel_type": rng.choice(_CHANNELS),
                "start_date": start.isoformat(),
                "end_date": (start + timedelta(days=rng.randint(30, 365))).isoformat(),
            }
        )
    return sorted(rows, key=lambda row: int(row["id"]))
