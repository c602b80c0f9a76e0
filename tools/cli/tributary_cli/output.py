"""Tables (Rich) by default, JSON with ``--output json``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()
errors = Console(stderr=True)


def emit(
    data: Any,
    fmt: str,
    rows: Sequence[dict[str, Any]] | None = None,
    columns: Sequence[str] = (),
    title: str | None = None,
) -> None:
    """Print ``data`` as JSON, or ``rows`` (default: ``data``) as a table of ``columns``."""
    if fmt == "json":
        print(json.dumps(data, indent=2, sort_keys=True, default=str))
        return
    items = rows if rows is not None else ([data] if isinstance(data, dict) else data)
    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column)
    for item in items:
        table.add_row(*(_cell(item.get(c)) for c in columns))
    console.print(table)


def facts(data: dict[str, Any], fmt: str, title: str | None = None) -> None:
    """One object as a two-column table (nested values as compact JSON)."""
    if fmt == "json":
        print(json.dumps(data, indent=2, sort_keys=True, default=str))
        return
    table = Table(title=title, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for key, value in data.items():
        table.add_row(key, _cell(value))
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)
