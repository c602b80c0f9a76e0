"""Fixtures of the chart tests: one chart copy and one render per scenario per session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helm import chartlib

Rendered = dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="session")
def chart_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the chart, with stand-in rule/dashboard files while the real ones are missing."""
    return chartlib.prepare_chart(tmp_path_factory.mktemp("chart"))


@pytest.fixture(scope="session")
def scenario_values() -> dict[str, dict[str, Any]]:
    return chartlib.scenarios()


@pytest.fixture(scope="session")
def rendered(chart_dir: Path, scenario_values: dict[str, dict[str, Any]]) -> dict[str, Rendered]:
    """Every scenario rendered once: scenario name -> template -> objects."""
    return {name: chartlib.render(chart_dir, values) for name, values in scenario_values.items()}
