"""Where the chart's observability files are, and how tests find Prometheus' binaries."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHART_FILES = ROOT / "deploy/helm/tributary/files"
RULES = CHART_FILES / "prometheus/tributary.rules.yaml"
DASHBOARD = CHART_FILES / "grafana/tributary-dashboard.json"
RUNBOOK = ROOT / "docs/runbook.md"

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(command: str) -> str:
    """Return the path of a Prometheus binary; fail under CI, skip elsewhere, when missing."""
    path = shutil.which(command)
    if path is None:
        message = (
            f"{command} not found: install Debian's 'prometheus' package "
            "(make test runs `python -m tools.localstack.prereqs`, which does so as root)"
        )
        if IN_CI:
            pytest.fail(message + " — CI=true: it is required")
        pytest.skip(message)
    return path
