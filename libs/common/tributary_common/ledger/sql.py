"""Load named queries (`-- name: foo` blocks) from the `queries/` folder."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def queries(group: str) -> dict[str, str]:
    """Return {name: sql} for `queries/<group>.sql`."""
    text = (resources.files("tributary_common.ledger") / "queries" / f"{group}.sql").read_text()
    found: dict[str, str] = {}
    name: str | None = None
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith("-- name:"):
            if name:
                found[name] = "\n".join(lines).strip()
            name, lines = line.split(":", 1)[1].strip(), []
        elif name is not None:
            lines.append(line)
    if name:
        found[name] = "\n".join(lines).strip()
    return found
