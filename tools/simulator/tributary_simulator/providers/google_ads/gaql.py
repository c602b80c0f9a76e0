"""Just enough GAQL for ``SELECT … FROM campaign [WHERE …] [ORDER BY …] [LIMIT n]``.

Conditions are joined by AND; operators ``= != > >= < <= IN NOT IN`` on the campaign
fields below. Anything else is a ``queryError``, as the real parser would answer.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

FIELDS = frozenset(
    {
        "campaign.resource_name",
        "campaign.id",
        "campaign.name",
        "campaign.status",
        "campaign.advertising_channel_type",
        "campaign.start_date",
        "campaign.end_date",
    }
)

_QUERY = re.compile(
    r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<resource>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+ORDER\s+BY\s+(?P<order>.+?))?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_CONDITION = re.compile(
    r"^\s*(?P<field>[\w.]+)\s*(?P<op>NOT\s+IN|IN|!=|>=|<=|=|>|<)\s*(?P<value>.+?)\s*$",
    re.IGNORECASE | re.DOTALL,
)
_AND = re.compile(r"\s+AND\s+", re.IGNORECASE)


class QueryError(Exception):
    """Raised when a query is outside what the simulator (or GAQL) accepts."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Query:
    fields: list[str]
    resource: str
    conditions: list[tuple[str, str, Any]] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)
    limit: int | None = None


def _literal(text: str) -> Any:
    text = text.strip()
    if text.startswith("(") and text.endswith(")"):
        return [_literal(part) for part in text[1:-1].split(",") if part.strip()]
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    if re.fullmatch(r"-?\d+", text):
        return text  # int64 values travel as strings in JSON; compare them as such
    raise QueryError("UNEXPECTED_INPUT", f"Unexpected input {text!r}")


def _known(name: str) -> str:
    if name not in FIELDS:
        raise QueryError("UNRECOGNIZED_FIELD", f"Unrecognized field in the query: '{name}'.")
    return name


def parse(text: str) -> Query:
    """Parse ``text``; raise `QueryError` with the GAQL error code when it cannot."""
    match = _QUERY.match(text or "")
    if match is None:
        raise QueryError("UNEXPECTED_END_OF_QUERY", "Error in query: unexpected end of query.")
    if match["resource"].lower() != "campaign":
        raise QueryError(
            "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE", f"Unsupported resource {match['resource']!r}"
        )
    query = Query([_known(f.strip()) for f in match["fields"].split(",")], "campaign")
    for part in _AND.split(match["where"] or ""):
        if not part.strip():
            continue
        found = _CONDITION.match(part)
        if found is None:
            raise QueryError("UNEXPECTED_INPUT", f"Cannot parse condition {part!r}")
        op = " ".join(found["op"].upper().split())
        value = _literal(found["value"])
        if (op in {"IN", "NOT IN"}) != isinstance(value, list):
            raise QueryError("EXPECTED_LIST", f"Operator {op} needs a list in {part!r}")
        query.conditions.append((_known(found["field"]), op, value))
    for part in (match["order"] or "").split(","):
        if part.strip():
            name, _, direction = part.strip().partition(" ")
            query.order.append((_known(name), direction.strip().upper() == "DESC"))
    query.limit = int(match["limit"]) if match["limit"] else None
    return query


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def _numeric(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _compare(actual: str, op: str, value: Any) -> bool:
    """Compare as GAQL does: numbers as numbers, everything else as text."""
    if op in {"IN", "NOT IN"}:
        wanted = {str(int(v)) if _numeric(v) else v for v in value}
        return (actual in wanted) == (op == "IN")
    if _numeric(actual) and _numeric(value):
        return bool(_OPERATORS[op](int(actual), int(value)))
    return bool(_OPERATORS[op](actual, str(value)))


def run(query: Query, rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Return the rows the query selects, in its order (by id when none is given)."""

    def value(row: Mapping[str, Any], name: str) -> str:
        return str(row[name.removeprefix("campaign.")])

    selected = [
        row for row in rows if all(_compare(value(row, f), op, v) for f, op, v in query.conditions)
    ]
    for name, descending in reversed(query.order):
        numeric = name == "campaign.id"
        selected.sort(
            key=lambda row: int(value(row, name)) if numeric else value(row, name),
            reverse=descending,
        )
    return selected[: query.limit] if query.limit is not None else selected


def to_json(query: Query, row: Mapping[str, Any]) -> dict[str, Any]:
    """Return one result row in proto3 JSON: ``{"campaign": {"resourceName": …, …}}``."""
    campaign: dict[str, Any] = {"resourceName": row["resource_name"]}
    for name in query.fields:
        attribute = name.removeprefix("campaign.")
        head, *rest = attribute.split("_")
        campaign[head + "".join(part.title() for part in rest)] = row[attribute]
    return {"campaign": campaign}
