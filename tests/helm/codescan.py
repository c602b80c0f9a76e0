"""What the code reads and defines, found by parsing it (never a hand-kept list).

- Environment variables: ``env.get("NAME")``, ``env["NAME"]``, ``os.environ.get(...)``,
  ``os.getenv(...)``, helper calls such as ``_int(env, "NAME", ...)``, f-string
  families such as ``f"TRIBUTARY_{key}_BASE_URL"`` expanded over the providers, and any
  ``"TRIBUTARY_..."`` string constant (names kept in tables, e.g. the credential table).
- Prometheus metric names: the first argument of prometheus_client metric constructors
  and ``*MetricFamily`` collectors.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from tests.helm.chartlib import REPO

#: The code the chart deploys: the image's PYTHONPATH (Dockerfile). Anything else, such
#: as an operator CLI run from a laptop against the api (TRIBUTARY_API_URL, ...), is not
#: configured by the chart, so its variables are not the chart's to set.
CODE_ROOTS = (
    REPO / "libs" / "common",
    REPO / "services" / "api",
    REPO / "services" / "worker",
    REPO / "services" / "scheduler",
)
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
OWN_PREFIX = re.compile(r"^TRIBUTARY_[A-Z0-9_]*[A-Z0-9]$")
ENV_MAPPINGS = {"env", "environ", "environment"}
METRIC_CONSTRUCTORS = {
    "Counter",
    "Gauge",
    "Histogram",
    "Summary",
    "Info",
    "Enum",
    "ScrapeMetric",
    "CounterMetricFamily",
    "GaugeMetricFamily",
    "HistogramMetricFamily",
    "SummaryMetricFamily",
    "InfoMetricFamily",
    "StateSetMetricFamily",
    "GaugeHistogramMetricFamily",
    "UnknownMetricFamily",
}
#: Series a metric family exposes besides its own name.
METRIC_SUFFIXES = (
    "",
    "_total",
    "_created",
    "_bucket",
    "_sum",
    "_count",
    "_info",
    "_gsum",
    "_gcount",
)


def python_files() -> Iterator[Path]:
    for root in CODE_ROOTS:
        yield from (p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def providers() -> tuple[str, ...]:
    from tributary_common.settings import PROVIDERS

    return tuple(PROVIDERS)


def _is_env_mapping(node: ast.AST) -> bool:
    """``env``, ``environ``, ``os.environ``, ``self.env`` and the like."""
    if isinstance(node, ast.Name):
        return node.id in ENV_MAPPINGS
    if isinstance(node, ast.Attribute):
        return node.attr in ENV_MAPPINGS
    return False


def _names(node: ast.AST, provider_keys: tuple[str, ...]) -> set[str]:
    """Variable names a string expression can take."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.JoinedStr):
        names = {""}
        for part in node.values:
            if isinstance(part, ast.Constant):
                names = {n + str(part.value) for n in names}
            else:
                names = {n + key for n in names for key in provider_keys}
        return names
    return set()


def env_reads() -> dict[str, set[str]]:
    """Every environment variable the code reads -> the files reading it."""
    keys = tuple(p.upper() for p in providers())
    found: dict[str, set[str]] = {}

    def add(names: set[str], path: Path) -> None:
        for name in names:
            if ENV_NAME.match(name):
                found.setdefault(name, set()).add(str(path.relative_to(REPO)))

    for path in python_files():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if OWN_PREFIX.match(node.value):
                    add({node.value}, path)
            elif isinstance(node, ast.Subscript) and _is_env_mapping(node.value):
                if isinstance(node.ctx, ast.Load):
                    add(_names(node.slice, keys), path)
            elif isinstance(node, ast.Call) and node.args:
                func = node.func
                if (
                    isinstance(func, ast.Attribute)
                    and func.attr == "get"
                    and _is_env_mapping(func.value)
                ) or (isinstance(func, ast.Attribute) and func.attr == "getenv"):
                    add(_names(node.args[0], keys), path)
                else:
                    # Helpers taking the mapping then the name: _int(env, "NAME", default).
                    for first, second in zip(node.args, node.args[1:], strict=False):
                        if _is_env_mapping(first):
                            add(_names(second, keys), path)
    return found


def metric_names() -> set[str]:
    """Every series name the code can export (family names with their suffixes)."""
    families: set[str] = set()
    for path in python_files():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name not in METRIC_CONSTRUCTORS:
                continue
            arg = (
                node.args[0]
                if node.args
                else next((kw.value for kw in node.keywords if kw.arg == "name"), None)
            )
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                families.add(arg.value.removesuffix("_total"))
    return {family + suffix for family in families for suffix in METRIC_SUFFIXES}
