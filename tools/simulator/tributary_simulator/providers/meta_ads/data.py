"""Deterministic ad objects per ad account: campaigns → ad sets → ads.

Times are anchored to the simulator's "today", so a test computes the same objects the
server serves by calling `objects` or `listing` with ``SimulatorState.today``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ...data import seeded_rng, stable_int
from .graph import graph_time

EDGES = ("campaigns", "adsets", "ads")
#: Entity prefix of each edge's own fields in ``filtering``.
PREFIX = {"campaigns": "campaign", "adsets": "adset", "ads": "ad"}
#: Statuses an edge hides unless ``effective_status`` asks for them (providers.md §5.2).
HIDDEN_BY_DEFAULT = frozenset({"ARCHIVED", "DELETED"})
#: 8 to 32 campaigns an account: enough that every edge needs more than one page.
CAMPAIGNS_MIN, CAMPAIGNS_SPREAD = 8, 25
_OBJECTIVES = ("OUTCOME_SALES", "OUTCOME_TRAFFIC", "OUTCOME_AWARENESS", "OUTCOME_LEADS")


def _object_id(*parts: object) -> str:
    return f"1202{stable_int('meta_ads', *parts, bits=44):014d}"


def _times(rng: Any, today: date) -> tuple[float, float]:
    """Return (created, updated) epochs: created 30-120 days ago, updated since then."""
    midnight = datetime(today.year, today.month, today.day, tzinfo=UTC).timestamp()
    created = midnight - timedelta(days=rng.randint(30, 120)).total_seconds()
    updated = midnight - rng.randint(0, 29 * 86_400)
    return created + rng.randint(0, 86_399), updated


def _effective(own: str, parent: str | None, paused_as: str) -> str:
    if parent in HIDDEN_BY_DEFAULT:
        return parent
    if parent is not None and parent not in {"ACTIVE"}:
        return paused_as
    return own


def objects(account: str, today: date) -> dict[str, list[dict[str, Any]]]:
    """Return every campaign, ad set and ad of ``account`` (digits), newest first per edge."""
    rng = seeded_rng("meta_ads", account, today)
    result: dict[str, list[dict[str, Any]]] = {edge: [] for edge in EDGES}
    for c in range(CAMPAIGNS_MIN + stable_int("meta_ads", account, "campaigns") % CAMPAIGNS_SPREAD):
        status = rng.choices(["ACTIVE", "PAUSED", "ARCHIVED"], weights=[6, 3, 1])[0]
        created, updated = _times(rng, today)
        campaign = _item(
            _object_id(account, c), f"Campaign {c + 1}", status, status, created, updated
        )
        campaign["objective"] = rng.choice(_OBJECTIVES)
        campaign["_keys"] = {"campaign.id": campaign["id"]}
        result["campaigns"].append(campaign)
        for s in range(rng.randint(1, 3)):
            own = rng.choices(["ACTIVE", "PAUSED"], weights=[4, 1])[0]
            created, updated = _times(rng, today)
            adset = _item(
                _object_id(account, c, s),
                f"Ad set {c + 1}.{s + 1}",
                own,
                _effective(own, campaign["effective_status"], "CAMPAIGN_PAUSED"),
                created,
                updated,
            )
            adset |= {"campaign_id": campaign["id"], "daily_budget": str(rng.randint(5, 50) * 100)}
            adset["_keys"] = {"campaign.id": campaign["id"], "adset.id": adset["id"]}
            result["adsets"].append(adset)
            for a in range(rng.randint(1, 2)):
                own = rng.choices(["ACTIVE", "PAUSED"], weights=[4, 1])[0]
                created, updated = _times(rng, today)
                ad = _item(
                    _object_id(account, c, s, a),
                    f"Ad {c + 1}.{s + 1}.{a + 1}",
                    own,
                    _effective(own, adset["effective_status"], "ADSET_PAUSED"),
                    created,
                    updated,
                )
                ad |= {"campaign_id": campaign["id"], "adset_id": adset["id"]}
                ad["_keys"] = {**adset["_keys"], "ad.id": ad["id"]}
                result["ads"].append(ad)
    for edge, items in result.items():
        prefix = PREFIX[edge]
        for item in items:
            item["_keys"] |= {
                f"{prefix}.updated_time": int(item["_updated"]),
                f"{prefix}.effective_status": item["effective_status"],
                f"{prefix}.name": item["name"],
            }
        items.sort(key=lambda item: (-item["_created"], item["id"]))
    return result


def _item(
    object_id: str, name: str, status: str, effective: str, created: float, updated: float
) -> dict[str, Any]:
    return {
        "id": object_id,
        "name": name,
        "status": status,
        "effective_status": effective,
        "created_time": graph_time(created),
        "updated_time": graph_time(max(created, updated)),
        "_created": created,
        "_updated": max(created, updated),
    }


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "EQUAL": operator.eq,
    "NOT_EQUAL": operator.ne,
    "GREATER_THAN": operator.gt,
    "GREATER_THAN_OR_EQUAL": operator.ge,
    "LESS_THAN": operator.lt,
    "LESS_THAN_OR_EQUAL": operator.le,
    "IN": lambda actual, value: actual in value,
    "NOT_IN": lambda actual, value: actual not in value,
}


def matches(item: Mapping[str, Any], clauses: Sequence[Mapping[str, Any]]) -> bool:
    """Return True when ``item`` satisfies every already-validated filtering clause."""
    for clause in clauses:
        actual = item["_keys"].get(clause["field"])
        value, op = clause["value"], clause["operator"]
        if isinstance(actual, int):
            value = [int(v) for v in value] if isinstance(value, list) else int(value)
        ok = _OPERATORS[op](actual, value)
        if not ok:
            return False
    return True


def listing(
    account: str,
    edge: str,
    today: date,
    clauses: Sequence[Mapping[str, Any]] = (),
    statuses: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Return what ``/act_<account>/<edge>`` lists for these filters, in page order."""
    prefix = PREFIX[edge]
    status_key = f"{prefix}.effective_status"
    explicit = statuses is not None or any(c["field"] == status_key for c in clauses)
    return [
        item
        for item in objects(account, today)[edge]
        if (explicit or item["effective_status"] not in HIDDEN_BY_DEFAULT)
        and (statuses is None or item["effective_status"] in statuses)
        and matches(item, clauses)
    ]
