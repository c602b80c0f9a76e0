"""Where the chart's observability files are, and how tests find Prometheus' binaries."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.missing import missing

ROOT = Path(__file__).resolve().parents[2]
CHART_FILES = ROOT / "deploy/helm/tributary/files"
RULES = CHART_FILES / "prometheus/tributary.rules.yaml"
DASHBOARD = CHART_FILES / "grafana/tributary-dashboard.json"
RUNBOOK = ROOT / "docs/runbook.md"


def require(command: str) -> str:
    """Return the path of a Prometheus binary; fail under CI, skip elsewhere, when missing."""
    path = shutil.which(command)
    if path is None:
        message = (
            f"{command} not found: install Debian's 'prometheus' package "
            "(make test runs `python -m tools.localstack.prereqs`, which does so as root)"
        )
        missing(message)
    return path
